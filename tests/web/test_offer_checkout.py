"""A loaded offer at web checkout (issue 12, offers by hashtag): it comes off the next order
with an eligible product by itself, only off eligible products and never below zero; the
checkout page, the order page and the receipt email show it; it is redeemed once, also
when two orders race for it (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from hashcart.domain.offers import PricedLine
from hashcart.services.offers import add_offer, apply_offer
from hashcart.store import schema as t
from hashcart.store.orders import Address, NewOrder, OrderLine, add_order
from tests.payloads import x_tweet
from tests.web.cart_support import (
    SHOPPER_X_ID,
    bluesky_reply_cart,
    checkout_form,
    link_everywhere,
    post_form,
    signed_in,
    text_of,
    x_reply_cart,
)
from tests.web.conftest import PASSWORD, Browser, WebShop

SAM = "sam@example.com"


def _offer(shop: WebShop, tag: str = "summer20", **terms: Any) -> int:
    if "percent" not in terms and "amount" not in terms:
        terms["percent"] = "20"
    return add_offer(
        shop.app.unit_of_work, shop.app.settings, shop.clock.now(), tag=tag, **terms
    ).id


def _load(shop: WebShop, tag: str = "summer20", tweet_id: str = "9100") -> None:
    """Sam posts the offer's tag on X (a v1.1 tweet), which loads it."""
    shop.ingest([x_tweet(tweet_id, SHOPPER_X_ID, "sam_x", f"#{tag}", hashtags=(tag,))])


def _shopper(shop: WebShop) -> Browser:
    """Sam, linked, with the mug ($18.00) and the beans ($24.50) in the cart."""
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    x_reply_cart(shop, post_id="1001")
    return browser


def _orders(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.orders).order_by(t.orders.c.id)).all())


def _loads(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.offer_loads).order_by(t.offer_loads.c.id)))


def _receipt(shop: WebShop) -> str:
    with shop.app.engine.connect() as connection:
        row = connection.execute(
            select(t.outbox.c.text).where(t.outbox.c.reason == "order_confirmed")
        ).first()
    assert row is not None
    return str(row.text)


def test_a_loaded_offer_comes_off_the_eligible_products_and_is_shown_everywhere(
    web_shop: WebShop,
) -> None:
    browser = _shopper(web_shop)
    _offer(web_shop, products="mug")
    _load(web_shop)

    page = browser.get("/checkout")
    words = text_of(page)
    # 20% of the mug's $18.00 only: the beans are not in the offer.
    assert "Offer summer20: 20% off −$3.60" in words
    assert "Total $38.90" in words and "Place order · $38.90" in words

    response = post_form(browser, "/checkout", checkout_form(browser))
    assert response.status_code == 303, text_of(response)
    [order] = _orders(web_shop)
    assert Decimal(order.total_amount) == Decimal("38.90")
    assert Decimal(order.discount_amount) == Decimal("3.60") and order.offer_id is not None
    [load] = _loads(web_shop)
    assert load.redeemed_order_id == order.id and load.redeemed_at is not None
    assert "Offer summer20: 20% off −$3.60" in text_of(browser.get(f"/orders/{order.id}"))
    receipt = _receipt(web_shop)
    assert "Offer summer20: 20% off: -3.60 USD" in receipt and "Total: 38.90 USD" in receipt


def test_the_offer_is_redeemed_once_the_next_order_pays_full_price(web_shop: WebShop) -> None:
    browser = _shopper(web_shop)
    _offer(web_shop)
    _load(web_shop)
    assert post_form(browser, "/checkout", checkout_form(browser)).status_code == 303

    bluesky_reply_cart(web_shop, reply_rkey="3mmreply00002")
    words = text_of(browser.get("/checkout"))
    assert "Offer" not in words and "Total $18.00" in words
    assert post_form(browser, "/checkout", checkout_form(browser)).status_code == 303
    first, second = _orders(web_shop)
    assert first.discount_amount is not None and second.discount_amount is None
    assert Decimal(second.total_amount) == Decimal("18.00")


def test_an_amount_off_never_takes_the_order_below_zero(web_shop: WebShop) -> None:
    browser = _shopper(web_shop)
    _offer(web_shop, amount="50", currency="USD", products="mug")
    _load(web_shop)

    assert post_form(browser, "/checkout", checkout_form(browser)).status_code == 303
    [order] = _orders(web_shop)
    # At most the mug's $18.00 comes off; the beans are paid in full.
    assert Decimal(order.discount_amount) == Decimal("18.00")
    assert Decimal(order.total_amount) == Decimal("24.50")


def test_an_offer_for_other_products_or_another_currency_waits_for_an_order_it_fits(
    web_shop: WebShop,
) -> None:
    browser = _shopper(web_shop)
    _offer(web_shop, "kettleday", percent="10", products="kettle")
    _offer(web_shop, "euros", amount="5", currency="EUR")
    _load(web_shop, "kettleday", "9101")
    _load(web_shop, "euros", "9102")

    assert "Offer" not in text_of(browser.get("/checkout"))
    assert post_form(browser, "/checkout", checkout_form(browser)).status_code == 303
    [order] = _orders(web_shop)
    assert order.discount_amount is None and Decimal(order.total_amount) == Decimal("42.50")
    assert [load.redeemed_order_id for load in _loads(web_shop)] == [None, None]


def test_an_offer_that_ended_since_the_page_was_shown_stops_the_order_and_says_so(
    web_shop: WebShop,
) -> None:
    browser = _shopper(web_shop)
    ends = (web_shop.clock.now() + timedelta(minutes=30)).isoformat()
    _offer(web_shop, expires=ends)
    _load(web_shop)
    form = checkout_form(browser)
    web_shop.clock.advance(timedelta(hours=1))

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 409
    assert "The offer taken off your order changed." in text_of(response)
    assert _orders(web_shop) == []
    assert "Total $42.50" in text_of(response)  # the page shows the price as it is now


def test_concurrent_double_submits_redeem_the_offer_once_on_every_database(
    web_shop_any_db: WebShop,
) -> None:
    shop = web_shop_any_db
    browser = _shopper(shop)
    _offer(shop)
    _load(shop)
    form = checkout_form(browser)
    twin = shop.browser()
    twin.client.cookies.update(browser.client.cookies)
    start = threading.Barrier(2)
    codes: list[int] = []
    failures: list[BaseException] = []

    def submit(who: Browser) -> None:
        try:
            start.wait(timeout=30)
            codes.append(post_form(who, "/checkout", form).status_code)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=submit, args=(who,)) for who in (browser, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures and codes == [303, 303]
    [order] = _orders(shop)
    [load] = _loads(shop)
    assert load.redeemed_order_id == order.id
    assert Decimal(order.total_amount) == Decimal("34.00")  # 42.50 less 20%


def _order(shop: WebShop, customer_id: int, key: str) -> int:
    with shop.app.unit_of_work() as uow:
        return add_order(
            uow.connection,
            NewOrder(
                customer_id,
                key,
                "paid",
                SAM,
                Address("Sam", "1 Harbour Street", "", "Portland", "97201", "US"),
                "test_card",
                f"ref-{key}",
                Decimal("14.40"),
                "USD",
                shop.clock.now(),
                [OrderLine("mug", "Mug", Decimal("18.00"), "USD", 1, None, None)],
            ),
        )


def test_two_orders_redeeming_one_offer_at_once_redeem_it_once(
    web_shop_any_db: WebShop,
) -> None:
    """What a web checkout and a buy with a post racing for the same offer do: each calls
    apply_offer with its order in its own transaction; one gets the offer, the other None."""
    shop = web_shop_any_db
    signed_in(shop)
    link_everywhere(shop)
    _offer(shop)
    _load(shop)
    with shop.app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(SAM)
    assert customer_id is not None
    orders = [_order(shop, customer_id, f"race-{n}") for n in range(2)]
    lines = [PricedLine("mug", Decimal("18.00"), "USD", 1)]
    start = threading.Barrier(2)
    got: list[object] = []
    failures: list[BaseException] = []

    def redeem(order_id: int) -> None:
        try:
            start.wait(timeout=30)
            with shop.app.unit_of_work() as uow:
                got.append(
                    apply_offer(
                        uow.repository,
                        customer_id,
                        lines,
                        "USD",
                        shop.clock.now(),
                        order_id=order_id,
                    )
                )
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=redeem, args=(order_id,)) for order_id in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    assert sorted(x is None for x in got) == [False, True]
    [load] = _loads(shop)
    assert load.redeemed_order_id in orders


def test_api_orders_shows_the_offer_each_order_redeemed(web_shop: WebShop) -> None:
    browser = _shopper(web_shop)
    offer_id = _offer(web_shop, products="mug")
    _load(web_shop)
    assert post_form(browser, "/checkout", checkout_form(browser)).status_code == 303
    bluesky_reply_cart(web_shop, reply_rkey="3mmreply00002")
    assert post_form(browser, "/checkout", checkout_form(browser)).status_code == 303

    newest, first = browser.get("/api/orders").json()
    assert first["offer"] == {
        "id": offer_id,
        "tag": "summer20",
        "percent_off": "20",
        "amount_off": None,
        "discount": "3.60",
    }
    assert first["total_amount"] == "38.90"
    assert newest["offer"] is None
    # The keys orders had before stay.
    assert {"lines", "source_post", "shipped_at", "tracking_url", "shipping"} <= set(first)


def test_the_funnel_counts_offer_loads_and_redemptions_per_post(
    web_shop_any_db: WebShop,
) -> None:
    import csv
    import io

    from tests.web.cart_support import BEANS
    from tests.web.funnel_support import api_token

    shop = web_shop_any_db
    browser = _shopper(shop)  # the X shop post 1001 carries the beans
    _offer(shop)
    # Sam replies to the shop's X post with the offer's tag: the load names that post.
    shop.ingest(
        [
            x_tweet(
                "1003", SHOPPER_X_ID, "sam_x", "#summer20", reply_to="1001", hashtags=("summer20",)
            )
        ]
    )
    assert post_form(browser, "/checkout", checkout_form(browser)).status_code == 303
    assert BEANS  # the post's product

    merchant = shop.browser()
    assert merchant.merchant_sign_in().status_code == 303
    rows = list(csv.DictReader(io.StringIO(merchant.get("/merchant/posts.csv").text)))
    x_row = next(row for row in rows if row["network"] == "x")
    assert (x_row["offer_loads"], x_row["offer_redemptions"]) == ("1", "1")
    assert list(rows[0])[:16][-2:] == ["revenue", "currency"]  # the old columns stay first
    page = text_of(merchant.get("/merchant/posts"))
    assert "1 Offer loads 1 Offers redeemed" in page
    assert "Offers: 1 loaded by replies, 1 redeemed" in page
    posts = merchant.get("/api/posts", headers={"Authorization": f"Bearer {api_token(shop)}"})
    x_post = next(post for post in posts.json() if post["network"] == "x")
    assert (x_post["offer_loads"], x_post["offer_redemptions"]) == (1, 1)
    assert x_post["orders"] == 1  # existing keys keep their meaning


def test_the_account_export_lists_the_offers_and_deleting_the_account_erases_them(
    web_shop: WebShop,
) -> None:
    import json

    browser = _shopper(web_shop)
    _offer(web_shop)
    _load(web_shop)
    data = json.loads(browser.get("/account/export").text)
    [loaded] = data["offers"]
    assert (loaded["tag"], loaded["status"], loaded["post_id"]) == ("summer20", "loaded", "9100")

    deleted = browser.submit("/account/delete", {"password": PASSWORD})
    assert deleted.status_code == 200 and "Your account is deleted" in deleted.text
    with web_shop.app.engine.connect() as connection:
        assert connection.execute(select(t.customers)).all() == []
    assert _loads(web_shop) == []  # no load names their accounts any more
