"""A loaded offer on a buy with a post (issue 12: "A loaded offer applies by itself to the next
eligible order (web checkout or buy with a post), shown on the order and the receipt,
redeemed once"), through each network's payloads, on SQLite and PostgreSQL.

The quote (services/buying.quote_buy) takes the shopper's loaded offer off; the request
holds that load until it is bought (the order redeems it), declined or expired (it is free
for the next order again); a web checkout meanwhile leaves it alone. The quote binds."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.domain.offers import PricedLine
from hashcart.services.offers import add_offer, apply_offer
from hashcart.store import schema as t
from hashcart.store.orders import Address, NewOrder, OrderLine, add_order, order_of
from hashcart.views.api_reads import orders as api_orders
from tests.buying.support import ALICE, BEANS, MUG, NETWORKS, BuyShop, code_in, own_post
from tests.integration.social import SHOPPERS


@pytest.fixture
def shop(database_url: str) -> BuyShop:
    shop = BuyShop(database_url)
    shop.shopper_with_card(ALICE, *SHOPPERS.values())
    return shop


def offer(shop: BuyShop, tag: str = "summer10", **terms: Any) -> int:
    if "percent" not in terms and "amount" not in terms:
        terms["percent"] = "10"
    made = add_offer(shop.app.unit_of_work, shop.app.settings, shop.clock.now(), tag=tag, **terms)
    return made.id


def load(shop: BuyShop, network: str, tag: str = "summer10", minutes: float = 1) -> None:
    """Alice posts the offer's tag on `network`, which loads it onto her account."""
    alice = SHOPPERS[network]
    shop.ingest([own_post(alice, alice.key(), f"#{tag}", minutes=minutes)])
    assert shop.outbox()[-1]["reason"] == "offer_loaded", shop.outbox()[-1]


def buy(
    shop: BuyShop, network: str, words: str = "#buy", link: str = MUG, minutes: float = 5
) -> tuple[dict[str, Any], str]:
    """Alice's `#buy` under a fresh product post: (the answer, the code it gave)."""
    alice = SHOPPERS[network]
    parent = alice.key()
    shop.ingest(
        [
            alice.parent(parent, (link,)),
            alice.reply(alice.key(), parent, words, minutes=minutes),
        ]
    )
    asked = shop.outbox()[-1]
    assert asked["reason"] == "buy_confirm_needed", asked
    return asked, code_in(asked["text"])


def confirm(shop: BuyShop, network: str, code: str, minutes: float = 7) -> None:
    alice = SHOPPERS[network]
    shop.ingest([own_post(alice, alice.key(), f"#confirm {code}", minutes=minutes)])


def loads(shop: BuyShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.offer_loads).order_by(t.offer_loads.c.id)))


def receipt(shop: BuyShop) -> str:
    [email] = [m for m in shop.outbox() if m["reason"] == "order_confirmed"]
    return str(email["text"])


@pytest.mark.parametrize("network", NETWORKS)
def test_a_loaded_offer_comes_off_the_quote_the_charge_and_the_order_once(
    shop: BuyShop, network: str
) -> None:
    offer_id = offer(shop)
    load(shop, network)

    asked, code = buy(shop, network, "#buy x2")
    # 2 × 24.00 = 48.00, less 10%: 43.20, and the answer says what the offer took off.
    assert (
        "2 × Trailhead Enamel Mug for 43.20 EUR (4.80 EUR off with your summer10 offer)"
        in (asked["text"])
    )
    [request] = shop.requests()
    assert request.total == Decimal("43.20") and request.discount_amount == Decimal("4.80")
    assert request.offer_id == offer_id and request.offer_label == "summer10: 10% off"

    confirm(shop, network, code)

    [order] = shop.orders()
    assert order["total_amount"] == Decimal("43.20")
    assert order["discount_amount"] == Decimal("4.80") and order["offer_id"] == offer_id
    [payment] = shop.payments()
    assert payment["amount"] == Decimal("43.20") and payment["status"] == "captured"
    [loaded] = loads(shop)
    assert loaded.redeemed_order_id == order["id"] and loaded.redeemed_at is not None
    text = receipt(shop)
    assert "Offer summer10: 10% off: -4.80 EUR" in text and "Total: 43.20 EUR" in text
    purchased = next(m for m in shop.outbox() if m["reason"] == "purchased")
    assert "for 43.20 EUR" in purchased["text"]

    # The order page (store/orders.order_of) and GET /api/orders (views/api_reads.orders)
    # show the offer as they do for a web checkout.
    customer_id = shop.customer_id(ALICE)
    with shop.app.engine.connect() as connection:
        page = order_of(connection, customer_id, order["id"])
        [api] = api_orders(connection, customer_id=customer_id)
    assert page is not None and page.offer_label == "summer10: 10% off"
    assert page.discount_amount == Decimal("4.80")
    assert api["offer"] == {
        "id": offer_id,
        "tag": "summer10",
        "percent_off": Decimal("10"),
        "amount_off": None,
        "discount": Decimal("4.80"),
    }
    assert api["total_amount"] == Decimal("43.20")

    # Redeemed once: the next buy pays the full price.
    asked, code = buy(shop, network, minutes=20)
    assert "for 24.00 EUR at" in asked["text"] and "offer" not in asked["text"]
    confirm(shop, network, code, minutes=22)
    first, second = shop.orders()
    assert second["total_amount"] == Decimal("24.00") and second["offer_id"] is None
    assert loads(shop)[0].redeemed_order_id == first["id"]


def test_an_offer_for_other_products_leaves_the_price_and_waits_for_one_it_fits(
    shop: BuyShop,
) -> None:
    offer(shop, products="beans")
    load(shop, "bluesky")

    asked, code = buy(shop, "bluesky")
    assert "for 24.00 EUR at" in asked["text"] and "offer" not in asked["text"]
    confirm(shop, "bluesky", code)
    [order] = shop.orders()
    assert order["total_amount"] == Decimal("24.00") and order["offer_id"] is None
    assert loads(shop)[0].redeemed_order_id is None

    asked, code = buy(shop, "bluesky", link=BEANS, minutes=10)
    assert "for 16.65 EUR (1.85 EUR off with your summer10 offer)" in asked["text"]
    confirm(shop, "bluesky", code, minutes=12)
    assert shop.orders()[-1]["total_amount"] == Decimal("16.65")
    assert loads(shop)[0].redeemed_order_id == shop.orders()[-1]["id"]


def test_an_amount_off_in_another_currency_leaves_the_price(shop: BuyShop) -> None:
    offer(shop, amount="5", currency="USD")
    load(shop, "x")
    asked, _ = buy(shop, "x")
    assert "for 24.00 EUR at" in asked["text"]
    assert shop.requests()[0].offer_id is None


def test_an_offer_ended_at_quote_time_does_not_apply(shop: BuyShop) -> None:
    ends = shop.clock.now() + timedelta(minutes=30)
    offer(shop, expires=ends.isoformat())
    load(shop, "mastodon")
    shop.later(40)

    asked, code = buy(shop, "mastodon", minutes=45)
    assert "for 24.00 EUR at" in asked["text"] and "offer" not in asked["text"]
    confirm(shop, "mastodon", code, minutes=47)
    [order] = shop.orders()
    assert order["total_amount"] == Decimal("24.00") and order["offer_id"] is None
    assert loads(shop)[0].redeemed_order_id is None


def test_an_offer_ending_between_quote_and_confirm_still_binds(shop: BuyShop) -> None:
    ends = shop.clock.now() + timedelta(minutes=10)
    offer(shop, expires=ends.isoformat())
    load(shop, "x")
    _, code = buy(shop, "x")
    shop.later(12)  # the offer ended; the code's window has not
    confirm(shop, "x", code, minutes=13)
    [order] = shop.orders()
    assert order["total_amount"] == Decimal("21.60") and order["discount_amount"] == Decimal("2.40")
    assert loads(shop)[0].redeemed_order_id == order["id"]


def test_the_daily_limit_counts_the_discounted_total(database_url: str) -> None:
    shop = BuyShop(database_url, buy_daily_limit=Decimal("45"))
    shop.shopper_with_card(ALICE, SHOPPERS["bluesky"])
    offer(shop)
    load(shop, "bluesky")
    asked, _ = buy(shop, "bluesky", "#buy x2")  # 48.00 over 45, 43.20 under it
    assert "43.20 EUR" in asked["text"]


def test_an_expired_buy_leaves_the_load_for_the_next_order(shop: BuyShop) -> None:
    offer(shop)
    load(shop, "x")
    buy(shop, "x")
    shop.later(16)
    assert shop.app.settle_buys() == 0
    assert shop.requests()[0].status == "expired"
    assert loads(shop)[0].redeemed_order_id is None

    asked, code = buy(shop, "x", minutes=20)
    assert "21.60 EUR (2.40 EUR off" in asked["text"]
    confirm(shop, "x", code, minutes=22)
    [order] = shop.orders()
    assert loads(shop)[0].redeemed_order_id == order["id"]


def test_a_request_past_its_window_frees_the_load_before_any_sweep(shop: BuyShop) -> None:
    """An open request whose window passed holds nothing, whether or not the sweep wrote
    it expired yet (as its stock hold ends by itself)."""
    offer(shop)
    load(shop, "bluesky")
    buy(shop, "bluesky")
    shop.later(16)
    customer_id = shop.customer_id(ALICE)
    with shop.app.unit_of_work() as uow:
        applied = apply_offer(
            uow.repository,
            customer_id,
            [PricedLine("mug", Decimal("24.00"), "EUR", 1)],
            "EUR",
            shop.clock.now(),
        )
    assert applied is not None and applied.discount == Decimal("2.40")


def test_a_declined_buy_leaves_the_load_for_the_next_order(database_url: str) -> None:
    shop = BuyShop(database_url)
    alice = SHOPPERS["mastodon"]
    shop.customer(ALICE, (alice.network, alice.account_id, alice.handle))
    shop.save_card(ALICE, "tc_visa_0000", "0000")  # a card the test gateway does not know
    offer(shop)
    load(shop, "mastodon")
    _, code = buy(shop, "mastodon")
    confirm(shop, "mastodon", code)
    assert shop.outbox()[-1]["reason"] == "payment_declined"
    assert shop.orders() == [] and loads(shop)[0].redeemed_order_id is None

    shop.shopper_with_card(ALICE)  # a card that works
    asked, _ = buy(shop, "mastodon", minutes=10)
    assert "21.60 EUR (2.40 EUR off" in asked["text"]


def test_two_open_buys_take_the_load_once(shop: BuyShop) -> None:
    offer(shop)
    load(shop, "x")
    first, _ = buy(shop, "x")
    second, _ = buy(shop, "x", minutes=6)
    assert "21.60 EUR (2.40 EUR off" in first["text"]
    assert "for 24.00 EUR at" in second["text"]


def _web_order(shop: BuyShop, customer_id: int, key: str) -> int:
    """An order as a web checkout writes it (store/orders.add_order)."""
    with shop.app.unit_of_work() as uow:
        return add_order(
            uow.connection,
            NewOrder(
                customer_id,
                key,
                "paid",
                ALICE,
                Address("Alice", "1 Harbour Street", "", "Portland", "97201", "US"),
                "test_card",
                f"ref-{key}",
                Decimal("21.60"),
                "EUR",
                shop.clock.now(),
                [OrderLine("mug", "Mug", Decimal("24.00"), "EUR", 1, None, None)],
            ),
        )


def _checkout_redeems(shop: BuyShop, customer_id: int, order_id: int) -> object:
    """What the web checkout's place does with its order: apply_offer with the order."""
    with shop.app.unit_of_work() as uow:
        return apply_offer(
            uow.repository,
            customer_id,
            [PricedLine("mug", Decimal("24.00"), "EUR", 1)],
            "EUR",
            shop.clock.now(),
            order_id=order_id,
        )


def test_a_web_checkout_while_a_buy_is_open_leaves_the_quoted_load(shop: BuyShop) -> None:
    offer(shop)
    load(shop, "bluesky")
    _, code = buy(shop, "bluesky")
    customer_id = shop.customer_id(ALICE)
    web = _web_order(shop, customer_id, "web-1")

    assert _checkout_redeems(shop, customer_id, web) is None  # the buy's quote holds it
    confirm(shop, "bluesky", code)
    bought = shop.orders()[-1]
    assert bought["discount_amount"] == Decimal("2.40")
    assert loads(shop)[0].redeemed_order_id == bought["id"]


def test_a_load_a_web_checkout_redeemed_first_is_redeemed_once_and_the_quote_binds(
    shop: BuyShop,
) -> None:
    """Should another order redeem the quoted load all the same (the writer lock the ingest
    and the checkout take makes it impossible through them; here it is written directly),
    the buy is still charged what it was quoted, and the load stays redeemed once, by that
    other order."""
    offer(shop)
    load(shop, "x")
    _, code = buy(shop, "x")
    customer_id = shop.customer_id(ALICE)
    web = _web_order(shop, customer_id, "web-1")
    [loaded] = loads(shop)
    with shop.app.unit_of_work() as uow:  # as that checkout's compare-and-set did
        assert uow.repository.offers.redeem(loaded.id, web, shop.clock.now())

    confirm(shop, "x", code)
    bought = shop.orders()[-1]
    assert bought["id"] != web and bought["total_amount"] == Decimal("21.60")
    assert shop.payments()[-1]["amount"] == Decimal("21.60")
    [loaded] = loads(shop)
    assert loaded.redeemed_order_id == web


def test_web_checkouts_racing_a_confirm_redeem_the_load_once(shop: BuyShop) -> None:
    """Two web checkouts at once, while a buy holds the load and is confirmed in a third
    thread: none of the checkouts gets it, the buy's order redeems it (SQLite, PostgreSQL)."""
    offer(shop)
    load(shop, "mastodon")
    _, code = buy(shop, "mastodon")
    customer_id = shop.customer_id(ALICE)
    webs = [_web_order(shop, customer_id, f"web-{n}") for n in range(2)]
    start = threading.Barrier(3)
    got: list[object] = []
    failures: list[BaseException] = []

    def checkout(order_id: int) -> None:
        try:
            start.wait(timeout=30)
            got.append(_checkout_redeems(shop, customer_id, order_id))
        except BaseException as error:
            failures.append(error)

    def confirming() -> None:
        try:
            start.wait(timeout=30)
            confirm(shop, "mastodon", code)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=checkout, args=(w,)) for w in webs]
    threads.append(threading.Thread(target=confirming))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    assert got == [None, None]
    bought = shop.orders()[-1]
    assert bought["id"] not in webs and bought["discount_amount"] == Decimal("2.40")
    [loaded] = loads(shop)
    assert loaded.redeemed_order_id == bought["id"]


def test_two_buys_in_one_batch_take_the_load_once(shop: BuyShop) -> None:
    offer(shop)
    load(shop, "bluesky")
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest(
        [
            alice.parent(parent, (MUG,)),
            alice.reply(alice.key(), parent, "#buy", minutes=5),
            alice.reply(alice.key(), parent, "#buy", minutes=6),
        ]
    )
    totals = sorted(request.total for request in shop.requests())
    assert totals == [Decimal("21.60"), Decimal("24.00")]
    assert [r.offer_load_id is not None for r in shop.requests()].count(True) == 1
