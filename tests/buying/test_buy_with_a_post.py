"""Buy with a post (issue 12): `#buy` under a product post, then `#confirm CODE` from the same
account within the window, through each network's payloads, on SQLite and PostgreSQL. The
test-card gateway charges the saved card (`hashcart payment-methods add`); Stripe's run is in
tests/buying/test_buy_stripe.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.buying.support import (
    ALICE,
    BEANS,
    BOB,
    MUG,
    NETWORKS,
    BuyShop,
    code_in,
    own_post,
    parent_id,
)
from tests.integration.social import SHOPPERS, UNLINKED


@pytest.fixture
def shop(database_url: str) -> BuyShop:
    shop = BuyShop(database_url)
    shop.shopper_with_card(ALICE, *SHOPPERS.values())
    return shop


@pytest.mark.parametrize("network", NETWORKS)
def test_buy_then_confirm_buys_with_the_saved_card(shop: BuyShop, network: str) -> None:
    alice = SHOPPERS[network]
    parent, buy = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(buy, parent, "#buy x2")])

    asked = shop.outbox()[-1]
    assert asked["reason"] == "buy_confirm_needed"
    assert asked["in_reply_to"] == alice.post_id(buy)
    assert "2 × Trailhead Enamel Mug for 48.00 EUR" in asked["text"]
    assert "ending in 4242" in asked["text"]
    assert "within 15 minutes" in asked["text"]
    code = code_in(asked["text"])
    assert shop.orders() == []

    confirm = alice.key()
    shop.later(3)
    shop.ingest([own_post(alice, confirm, f"#confirm {code.lower()}")])

    [order] = shop.orders()
    assert order["total_amount"] == Decimal("48.00") and order["currency"] == "EUR"
    assert order["status"] == "paid"
    [line] = shop.order_lines()
    assert (line["product_id"], line["quantity"]) == ("mug", 2)
    assert line["post_id"] == parent_id(alice, parent)
    assert line["trigger_post_id"] == alice.post_id(buy)
    [payment] = shop.payments()
    assert payment["status"] == "captured"
    reasons = shop.reasons()
    assert reasons[-2:] == ["order_confirmed", "purchased"] or reasons[-2:] == [
        "purchased",
        "order_confirmed",
    ]
    purchased = next(m for m in shop.outbox() if m["reason"] == "purchased")
    assert purchased["in_reply_to"] == alice.post_id(confirm)
    assert f"order #{order['id']}" in purchased["text"]
    assert shop.cart(ALICE) == []  # a buy never goes through the cart
    [request] = shop.requests()
    assert request.status == "bought" and request.order_id == order["id"]


def _buy(shop: BuyShop, network: str, words: str = "#buy") -> tuple[str, str, str]:
    """Alice's `#buy` under a fresh mug post: (parent key, buy key, the code she got)."""
    alice = SHOPPERS[network]
    parent, buy = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(buy, parent, words)])
    asked = shop.outbox()[-1]
    assert asked["reason"] == "buy_confirm_needed", asked
    return parent, buy, code_in(asked["text"])


def test_the_quoted_price_binds_for_the_window(shop: BuyShop) -> None:
    _, _, code = _buy(shop, "bluesky")
    shop.reprice("mug", Decimal("99.00"))
    shop.ingest([own_post(SHOPPERS["bluesky"], SHOPPERS["bluesky"].key(), f"#confirm {code}")])
    [order] = shop.orders()
    assert order["total_amount"] == Decimal("24.00")


@pytest.mark.parametrize("network", NETWORKS)
def test_a_confirm_from_another_account_charges_nothing_and_gets_no_answer(
    shop: BuyShop, network: str
) -> None:
    _, _, code = _buy(shop, network)
    mallory = UNLINKED[network]
    shop.customer("mallory@example.com", (mallory.network, mallory.account_id, mallory.handle))
    before = shop.outbox()

    shop.ingest([own_post(mallory, mallory.key(), f"#confirm {code}")])

    assert shop.orders() == [] and shop.payments() == []
    assert shop.outbox() == before
    assert shop.requests()[0].status == "open"  # Alice can still confirm it
    alice = SHOPPERS[network]
    shop.ingest([own_post(alice, alice.key(), f"#confirm {code}", minutes=7)])
    assert len(shop.orders()) == 1


def test_an_unknown_code_gets_no_answer_and_charges_nothing(shop: BuyShop) -> None:
    alice = SHOPPERS["mastodon"]
    _buy(shop, "mastodon")
    before = shop.outbox()
    shop.ingest([own_post(alice, alice.key(), "#confirm ZZZZ")])
    assert shop.outbox() == before and shop.orders() == []


def test_a_second_confirm_buys_nothing_more_and_gets_no_answer(shop: BuyShop) -> None:
    alice = SHOPPERS["x"]
    _, _, code = _buy(shop, "x")
    shop.ingest([own_post(alice, alice.key(), f"#confirm {code}")])
    after_first = shop.outbox()
    shop.ingest([own_post(alice, alice.key(), f"#CONFIRM {code}", minutes=8)])
    assert len(shop.orders()) == 1 and len(shop.payments()) == 1
    assert shop.outbox() == after_first


def test_a_redelivered_confirm_acts_once(shop: BuyShop) -> None:
    alice = SHOPPERS["bluesky"]
    _, _, code = _buy(shop, "bluesky")
    confirm = own_post(alice, alice.key(), f"#confirm {code}")
    shop.ingest([confirm, confirm])
    stats = shop.ingest([confirm])
    assert len(shop.orders()) == 1 and stats.duplicates == 1


@pytest.mark.parametrize("network", NETWORKS)
def test_an_expired_code_gets_confirm_expired_and_the_stock_was_freed(
    shop: BuyShop, network: str
) -> None:
    shop.stock("mug", 1)
    _, _, code = _buy(shop, network)
    assert shop.free("mug") == 0
    shop.later(15)

    alice = SHOPPERS[network]
    confirm = alice.key()
    shop.ingest([own_post(alice, confirm, f"#confirm {code}", minutes=20)])

    message = shop.outbox()[-1]
    assert message["reason"] == "confirm_expired"
    assert message["in_reply_to"] == alice.post_id(confirm)
    assert "nothing was charged" in message["text"]
    assert shop.orders() == [] and shop.payments() == []
    assert shop.requests()[0].status == "expired"
    assert shop.free("mug") == 1


def test_the_last_unit_held_by_a_buy_not_confirmed_is_sold_again_after_its_window(
    shop: BuyShop,
) -> None:
    """No sweep needed: an expired hold stops counting when the next shopper asks."""
    shop.stock("mug", 1)
    parent, _, _ = _buy(shop, "bluesky")
    bob = UNLINKED["bluesky"]
    shop.shopper_with_card(BOB, bob)
    shop.ingest([bob.reply(bob.key(), parent, "#buy", minutes=8)])
    held = shop.outbox()[-1]
    assert held["reason"] == "unavailable"  # still held for Alice
    assert "so nothing was bought" in held["text"] and "cart" not in held["text"]
    shop.later(16)
    shop.ingest([bob.reply(bob.key(), parent, "#buy", minutes=22)])
    assert shop.outbox()[-1]["reason"] == "buy_confirm_needed"


def test_requests_not_confirmed_are_expired_by_the_sweep(shop: BuyShop) -> None:
    shop.stock("mug", 2)
    _buy(shop, "x")
    shop.later(16)
    assert shop.app.settle_buys() == 0
    assert shop.requests()[0].status == "expired"
    assert shop.free("mug") == 2


def test_no_saved_card_answers_payment_method_needed_with_the_account_page(
    database_url: str,
) -> None:
    shop = BuyShop(database_url)
    alice = SHOPPERS["mastodon"]
    shop.customer(ALICE, (alice.network, alice.account_id, alice.handle))
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#buy")])
    message = shop.outbox()[-1]
    assert message["reason"] == "payment_method_needed"
    assert "http://127.0.0.1:8000/account#payment" in message["text"]
    assert shop.requests() == []


def test_over_the_daily_limit_answers_limit_reached(database_url: str) -> None:
    shop = BuyShop(database_url, buy_daily_limit=Decimal("60"))
    shop.shopper_with_card(ALICE, SHOPPERS["bluesky"])
    _buy(shop, "bluesky", "#buy x2")  # 48.00 of 60
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (BEANS,)), alice.reply(alice.key(), parent, "#buy")])
    message = shop.outbox()[-1]
    assert message["reason"] == "limit_reached"
    assert "60.00 EUR" in message["text"]
    assert len(shop.requests()) == 1
    # The next UTC day starts afresh.
    shop.later(24 * 60)
    shop.ingest([alice.reply(alice.key(), parent, "#buy", minutes=24 * 60 + 5)])
    assert shop.outbox()[-1]["reason"] == "buy_confirm_needed"


@pytest.mark.parametrize("network", NETWORKS)
def test_an_unlinked_buy_waits_and_becomes_a_fresh_confirm_request_on_link(
    database_url: str, network: str
) -> None:
    shop = BuyShop(database_url)
    bob = UNLINKED[network]
    parent, buy = bob.key(), bob.key()
    shop.ingest([bob.parent(parent, (MUG,)), bob.reply(buy, parent, "#buy x3")])
    assert shop.reasons() == ["link_needed"]
    assert [p["list"] for p in shop.pending()] == ["buy"]

    shop.shopper_with_card(BOB)
    shop.link(BOB, bob.network, bob.account_id, bob.handle)

    asked = shop.outbox()[-1]
    assert asked["reason"] == "buy_confirm_needed"
    assert asked["in_reply_to"] == bob.post_id(buy)
    assert "3 × Trailhead Enamel Mug for 72.00 EUR" in asked["text"]
    assert shop.orders() == []  # never a purchase without a confirm
    code = code_in(asked["text"])
    shop.ingest([own_post(bob, bob.key(), f"#confirm {code}")])
    assert len(shop.orders()) == 1


def test_a_declined_card_answers_payment_declined_orders_nothing_and_frees_the_stock(
    database_url: str,
) -> None:
    shop = BuyShop(database_url)
    alice = SHOPPERS["x"]
    shop.customer(ALICE, (alice.network, alice.account_id, alice.handle))
    shop.save_card(ALICE, "tc_visa_0000", "0000")  # a card the test gateway does not know
    shop.stock("mug", 1)
    _, _, code = _buy(shop, "x")
    confirm = alice.key()
    shop.ingest([own_post(alice, confirm, f"#confirm {code}")])

    message = shop.outbox()[-1]
    assert message["reason"] == "payment_declined"
    assert message["in_reply_to"] == alice.post_id(confirm)
    assert "nothing was charged" in message["text"]
    assert shop.orders() == []
    assert shop.free("mug") == 1
    assert shop.requests()[0].status == "declined"


def test_buying_turned_off_makes_buy_no_trigger_and_answers_nothing(database_url: str) -> None:
    shop = BuyShop(database_url, buy_enabled=False)
    shop.shopper_with_card(ALICE, SHOPPERS["bluesky"])
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    stats = shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#buy")])
    assert shop.outbox() == [] and shop.requests() == []
    assert stats.actions.buys_requested == 0


def test_deleting_the_buy_and_confirm_posts_never_undoes_the_order(database_url: str) -> None:
    shop = BuyShop(database_url, undo_on_delete=True)
    shop.shopper_with_card(ALICE, SHOPPERS["mastodon"])
    alice = SHOPPERS["mastodon"]
    _, buy, code = _buy(shop, "mastodon")
    confirm = alice.key()
    shop.ingest([own_post(alice, confirm, f"#confirm {code}")])
    shop.ingest([alice.delete(buy), alice.delete(confirm)])
    [order] = shop.orders()
    assert order["status"] == "paid"
    assert shop.requests()[0].status == "bought"


@pytest.mark.parametrize(
    "text",
    [
        "#confirm",
        "#confirm \x00K7QX",
        "#confirm " + "K" * 5000,
        "#confirm <script>alert(1)</script>",
        "#confirm K7Q",
        "#confirm K7QXX",
        "#confirm K7QО",  # a Cyrillic О, not an O (and O is no code letter anyway)
    ],
)
def test_a_confirm_without_a_good_code_is_silent_and_charges_nothing(
    shop: BuyShop, text: str
) -> None:
    alice = SHOPPERS["bluesky"]
    _buy(shop, "bluesky")
    before = shop.outbox()
    shop.ingest([own_post(alice, alice.key(), text)])
    assert shop.outbox() == before and shop.orders() == []
    # A NUL in a post's text is refused before any kind reads it (dead-lettered, as always).
    assert len(shop.dead_letters()) == (1 if "\x00" in text else 0)
