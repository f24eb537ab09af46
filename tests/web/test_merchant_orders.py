"""The console's orders (issue 12, order care): the list, an order's page with the post it
came from, and the form that marks it shipped with a tracking link (CSRF, https only, once).
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from hashcart.store import schema as t
from hashcart.store.orders import Address, NewOrder, OrderLine, add_order
from tests.payloads import post_uri
from tests.web.cart_support import (
    BRAND_POST,
    SHOPPER_DID,
    bluesky_reply_cart,
    checkout_form,
    link_everywhere,
    post_form,
    signed_in,
)
from tests.web.conftest import Browser, WebShop

ALICE = "alice@example.com"
TRACKING = "https://track.carrier-example.com/parcels/1Z999"


@pytest.fixture
def shop(web_shop_any_db: WebShop) -> Iterator[WebShop]:
    web_shop_any_db.customer(ALICE)
    yield web_shop_any_db


def place_order(shop: WebShop, key: str = "a", email: str = ALICE) -> int:
    with shop.app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(email)
        assert customer_id is not None
        return add_order(
            uow.connection,
            NewOrder(
                customer_id,
                key,
                "paid",
                email,
                Address("Alice <b>", "1 Trail Rd", "", "Leeds", "LS1 1AA", "GB"),
                "test_card",
                "ref",
                Decimal("18.00"),
                "USD",
                shop.clock.now(),
                [OrderLine("mug", "Mug <script>", Decimal("18.00"), "USD", 1, None, None)],
            ),
        )


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def shipped_emails(shop: WebShop) -> int:
    with shop.app.engine.connect() as connection:
        return len(connection.execute(select(t.outbox).where(t.outbox.c.reason == "shipped")).all())


def test_the_orders_page_lists_orders_and_links_each(shop: WebShop) -> None:
    number = place_order(shop)
    page = merchant(shop).get("/merchant/orders")
    assert page.status_code == 200
    assert f'href="/merchant/orders/{number}"' in page.text and ALICE in page.text


def test_an_order_page_escapes_what_shoppers_wrote(shop: WebShop) -> None:
    number = place_order(shop)
    page = merchant(shop).get(f"/merchant/orders/{number}")
    assert page.status_code == 200
    assert "<script>" not in page.text and "Mug &lt;script&gt;" in page.text
    assert 'action="/merchant/orders/' in page.text


def test_the_form_marks_shipped_once_and_shows_the_link(shop: WebShop) -> None:
    number = place_order(shop)
    browser = merchant(shop)
    done = browser.submit(f"/merchant/orders/{number}/ship", {"tracking": TRACKING})
    assert done.status_code == 303
    assert done.headers["location"] == f"/merchant/orders/{number}?shipped=1"
    again = browser.submit(f"/merchant/orders/{number}/ship", {"tracking": TRACKING})
    assert again.headers["location"].endswith("?shipped=again")
    assert shipped_emails(shop) == 1
    page = browser.get(f"/merchant/orders/{number}")
    assert f'href="{TRACKING}"' in page.text and "Mark shipped" not in page.text


@pytest.mark.parametrize(
    "hostile",
    ["javascript:alert(1)", "http://track.carrier-example.com/1", "https://user@evil.test/x"],
)
def test_a_hostile_link_re_renders_the_form_with_the_reason(shop: WebShop, hostile: str) -> None:
    number = place_order(shop)
    page = merchant(shop).submit(f"/merchant/orders/{number}/ship", {"tracking": hostile})
    assert page.status_code == 400
    assert 'role="alert"' in page.text and "Mark shipped" in page.text
    assert shipped_emails(shop) == 0


def test_the_form_needs_its_csrf_token(shop: WebShop) -> None:
    number = place_order(shop)
    browser = merchant(shop)
    refused = browser.client.post(
        f"/merchant/orders/{number}/ship", data={"tracking": TRACKING}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert shipped_emails(shop) == 0


def test_shoppers_and_strangers_cannot_reach_orders(shop: WebShop) -> None:
    number = place_order(shop)
    stranger = shop.browser()
    assert stranger.get("/merchant/orders", follow_redirects=False).status_code == 303
    posted = stranger.submit(f"/merchant/orders/{number}/ship", {"tracking": TRACKING})
    assert posted.status_code in (303, 403)
    assert shipped_emails(shop) == 0


def test_an_unknown_order_is_not_found(shop: WebShop) -> None:
    browser = merchant(shop)
    assert browser.get("/merchant/orders/999999").status_code == 404
    assert browser.get("/merchant/orders/" + "9" * 40).status_code == 404
    assert browser.submit("/merchant/orders/abc/ship", {"tracking": TRACKING}).status_code == 404


def test_the_shoppers_order_page_shows_the_tracking_link_once_shipped(shop: WebShop) -> None:
    shopper = shop.browser()
    shopper.sign_up("sam@example.com")
    number = place_order(shop, email="sam@example.com")
    assert "Track your parcel" not in shopper.get(f"/orders/{number}").text
    merchant(shop).submit(f"/merchant/orders/{number}/ship", {"tracking": TRACKING})
    page = shopper.get(f"/orders/{number}")
    assert page.status_code == 200
    assert f'href="{TRACKING}"' in page.text and "Track your parcel" in page.text


def test_a_checkout_keeps_each_reply_and_shipping_answers_it(web_shop_any_db: WebShop) -> None:
    """The whole path: a Bluesky `#cart` reply, a web checkout, GET /api/orders naming the
    reply as the order's source post, then the console's ship form sending the news as a
    Bluesky chat message to the shopper who chose private messages."""
    shop = web_shop_any_db
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    with shop.app.engine.begin() as connection:
        connection.execute(
            update(t.customers)
            .where(t.customers.c.email == "sam@example.com")
            .values(notify_by="private_message")
        )
    placed = post_form(browser, "/checkout", checkout_form(browser))
    assert placed.status_code == 303
    [order] = browser.get("/api/orders").json()

    assert order["source_post"] == {
        "network": "bluesky",
        "post_id": post_uri(SHOPPER_DID, "3mmreply00001"),
        "author_id": SHOPPER_DID,
        "author_handle": "",  # Jetstream names no handle
        "parent_post_id": BRAND_POST,
    }
    merchant(shop).submit(f"/merchant/orders/{order['id']}/ship", {"tracking": TRACKING})
    with shop.app.engine.connect() as connection:
        [news] = connection.execute(select(t.outbox).where(t.outbox.c.reason == "shipped")).all()
    assert (news.network, news.channel, news.account_id) == ("bluesky", "private", SHOPPER_DID)
    assert news.in_reply_to == post_uri(SHOPPER_DID, "3mmreply00001")
    assert TRACKING in news.text
