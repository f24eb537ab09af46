"""Checkout and orders: address and payment, re-validation of price and stock before any
charge, exactly one order per checkout form (also under concurrent double submits, on both
databases), the confirmation page and email, order history, and whose orders are whose."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

from httpx import Response
from sqlalchemy import select

from hashcart.services import checkout
from hashcart.services.payments import PaymentResult
from hashcart.store import accounts, orders, shopping
from hashcart.store import schema as t
from hashcart.store.orders import Address
from tests.web.cart_support import (
    ADDRESS,
    BRAND_POST,
    CARD,
    bluesky_reply_cart,
    checkout_form,
    count,
    line_ids,
    link_everywhere,
    post_form,
    set_product,
    signed_in,
    text_of,
    x_reply_cart,
)
from tests.web.conftest import Browser, WebShop

SAM = "sam@example.com"


def _orders(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.orders).order_by(t.orders.c.id)).all())


def _order_lines(shop: WebShop) -> list[tuple[str, int, Decimal, str | None, str | None]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(t.order_lines).order_by(t.order_lines.c.product_id)).all()
    return [
        (row.product_id, row.quantity, Decimal(row.unit_price), row.network, row.post_id)
        for row in rows
    ]


def _emails(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(
            connection.execute(
                select(t.outbox).where(t.outbox.c.channel == "email").order_by(t.outbox.c.id)
            ).all()
        )


def _shopper_with_two_replies(shop: WebShop) -> Browser:
    """Sam, with the mug from a Bluesky reply and the beans from a reply on X."""
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    x_reply_cart(shop, post_id="1001")
    assert shop.cart(SAM) == [("mug", 1), ("beans", 1)]
    return browser


# signed out, CSRF -----------------------------------------------------------------------


def test_signed_out_checkout_and_orders_send_you_to_sign_in(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    for path in ("/checkout", "/orders", "/orders/1"):
        response = browser.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next=%2F")
    posted = browser.submit("/checkout", {"checkout_key": "k" * 32})
    assert posted.headers["location"] == "/sign-in?next=%2Fcheckout"


def test_checkout_without_the_csrf_token_is_refused_and_changes_nothing(
    web_shop: WebShop,
) -> None:
    browser = _shopper_with_two_replies(web_shop)
    form = checkout_form(browser)
    del form["csrf_token"]

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 403
    assert _orders(web_shop) == []
    assert web_shop.cart(SAM) == [("mug", 1), ("beans", 1)]


# the happy paths ------------------------------------------------------------------------


def test_the_checkout_page_shows_the_order_address_form_and_ways_to_pay(
    web_shop: WebShop,
) -> None:
    browser = _shopper_with_two_replies(web_shop)

    page = browser.get("/checkout")

    words = text_of(page)
    assert "1 × Trailhead Enamel Mug" in words and "1 × Summit Roast Beans 1kg" in words
    assert "Total $42.50" in words
    assert "Place order · $42.50" in words
    assert "Pay on invoice" in words and "4242 4242 4242 4242" in words
    assert 'value="Sam Shopper"' in page.text  # the name the shopper signed up with
    assert 'src="/static/checkout.js"' in page.text


def test_paying_by_test_card_makes_one_paid_order_from_the_cart(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)

    response = post_form(browser, "/checkout", checkout_form(browser))

    assert response.status_code == 303
    [order] = _orders(web_shop)
    assert response.headers["location"] == f"/orders/{order.id}?placed=1"
    assert order.status == "paid"
    assert order.payment_gateway == "test_card"
    assert order.payment_reference.startswith("CARD-4242-")
    assert Decimal(order.total_amount) == Decimal("42.50") and order.currency == "USD"
    assert (order.ship_name, order.ship_city, order.ship_country) == (
        "Sam Shopper",
        "Portland",
        "US",
    )
    assert order.email == SAM
    # Each line names the SHOPPABLE post it came from, not the shopper's reply.
    assert _order_lines(web_shop) == [
        ("beans", 1, Decimal("24.50"), "x", "1001"),
        ("mug", 1, Decimal("18.00"), "bluesky", BRAND_POST),
    ]
    assert web_shop.cart(SAM) == []

    page = browser.get(response.headers["location"])
    words = text_of(page)
    assert f"Order #{order.id}" in words
    assert "Thank you! Your order is paid" in words
    assert "1 Harbour Street" in words and "$42.50" in words
    history = text_of(browser.get("/orders"))
    assert f"#{order.id}" in history and "Paid" in history and "$42.50" in history


def test_the_card_number_is_never_stored(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    post_form(browser, "/checkout", checkout_form(browser))

    with web_shop.app.engine.connect() as connection:
        stored = [
            str(value)
            for table in (t.orders, t.order_lines, t.outbox)
            for row in connection.execute(select(table))
            for value in row
        ]
    assert not any("4242424242424242" in value or "4242 4242 4242" in value for value in stored)


def test_the_confirmation_email_is_queued_once_with_the_order(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    post_form(browser, "/checkout", checkout_form(browser))
    [order] = _orders(web_shop)

    [email] = _emails(web_shop)

    assert email.account_id == SAM
    assert email.subject == f"Your Trailhead Coffee order #{order.id}"
    assert email.reason == "order_confirmed"
    assert email.dedupe_key == f"email:order:{order.id}"
    assert "1 × Trailhead Enamel Mug: 18.00 USD" in email.text
    assert "Total: 42.50 USD" in email.text
    assert f"http://127.0.0.1:8000/orders/{order.id}" in email.text
    # No SMTP server configured: it waits in the outbox for the console.
    assert email.status == "queued"


def test_paying_on_invoice_places_the_order(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)

    form = checkout_form(browser, payment_method="invoice", card_number="", card_cvc="")
    response = post_form(browser, "/checkout", form)

    assert response.status_code == 303
    [order] = _orders(web_shop)
    assert order.status == "placed"
    assert order.payment_gateway == "invoice"
    assert order.payment_reference.startswith("INV-20261120-")
    assert "Placed · pay on invoice" in text_of(browser.get(f"/orders/{order.id}"))


def test_a_web_added_line_is_ordered_under_the_post_it_was_added_from(
    web_shop: WebShop,
) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    x_reply_cart(web_shop, post_id="1001")
    web_shop.cart(SAM)
    browser.submit(
        "/cart/add", {"product_id": "beans", "source_network": "x", "source_post_id": "1001"}
    )
    browser.submit("/cart/add", {"product_id": "mug"})

    post_form(browser, "/checkout", checkout_form(browser))

    assert _order_lines(web_shop) == [
        ("beans", 2, Decimal("24.50"), "x", "1001"),
        ("mug", 1, Decimal("18.00"), None, None),
    ]


def test_the_next_checkout_starts_from_the_last_address(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    post_form(browser, "/checkout", checkout_form(browser, line2="Flat 4"))
    browser.submit("/cart/add", {"product_id": "mug"})

    page = browser.get("/checkout")

    assert 'value="1 Harbour Street"' in page.text and 'value="Flat 4"' in page.text


# declined payments and bad input --------------------------------------------------------


def _nothing_happened(shop: WebShop) -> None:
    assert _orders(shop) == []
    assert _emails(shop) == []
    assert shop.cart(SAM) == [("mug", 1), ("beans", 1)]


def test_a_declined_card_changes_nothing_and_says_why(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)

    response = post_form(
        browser, "/checkout", checkout_form(browser, card_number="4000 0000 0000 0002")
    )

    assert response.status_code == 402
    words = text_of(response)
    assert "The card was declined." in words
    assert "Nothing was charged and your cart is as it was." in words
    # What was typed comes back, except the card number and CVC.
    assert 'value="1 Harbour Street"' in response.text
    assert "4000 0000 0000 0002" not in response.text
    _nothing_happened(web_shop)


def test_other_card_problems_are_named(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    cases = {
        "4111 1111 1111 1112": "not valid: check the digits",
        "4111 1111 1111 1111": "takes test cards only",
    }
    for number, message in cases.items():
        response = post_form(browser, "/checkout", checkout_form(browser, card_number=number))
        assert response.status_code == 402 and message in text_of(response), number
    expired = post_form(browser, "/checkout", checkout_form(browser, card_expiry="10/26"))
    assert "The card has expired" in text_of(expired)
    no_cvc = post_form(browser, "/checkout", checkout_form(browser, card_cvc=""))
    assert "3-digit security code" in text_of(no_cvc)
    _nothing_happened(web_shop)


def test_a_bad_address_re_renders_the_form_with_what_was_typed(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    cases = [
        ({"name": ""}, "Enter your name."),
        ({"line1": "  "}, "Enter the street address."),
        ({"city": ""}, "Enter the city."),
        ({"country": "Utopia"}, "two-letter code"),
        ({"country": "XX"}, "two-letter code"),
        ({"postcode": "<b>"}, "only letters, digits"),
    ]
    for override, message in cases:
        response = post_form(browser, "/checkout", checkout_form(browser, **override))
        assert response.status_code == 400, override
        assert message in text_of(response), override
        assert 'value="Portland"' in response.text or override == {"city": ""}
    hostile = post_form(
        browser,
        "/checkout",
        checkout_form(browser, name='"><script>alert(1)</script>', country="??"),
    )
    assert "<script>alert(1)" not in hostile.text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in hostile.text
    no_method = post_form(browser, "/checkout", checkout_form(browser, payment_method="cash"))
    assert "Choose how you want to pay." in text_of(no_method)
    _nothing_happened(web_shop)


# re-validation before any charge --------------------------------------------------------


def test_a_price_change_after_the_page_was_shown_stops_the_order(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    form = checkout_form(browser)
    set_product(web_shop, "mug", price_amount=Decimal("20.00"))

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 409
    words = text_of(response)
    assert "Your cart changed since this page was shown. Nothing was charged" in words
    assert "Trailhead Enamel Mug now costs $20.00 (it was $18.00)." in words
    assert "Place order · $44.50" in words
    _nothing_happened(web_shop)

    again = post_form(browser, "/checkout", checkout_form(browser))
    assert again.status_code == 303
    assert Decimal(_orders(web_shop)[0].total_amount) == Decimal("44.50")


def test_a_stock_out_at_submit_stops_the_order_and_the_line_stays_in_the_cart(
    web_shop: WebShop,
) -> None:
    browser = _shopper_with_two_replies(web_shop)
    form = checkout_form(browser)
    set_product(web_shop, "beans", availability="out_of_stock")

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 409
    words = text_of(response)
    assert "Summit Roast Beans 1kg is out of stock now" in words
    assert "These stay in your cart and are not part of this order" in words
    _nothing_happened(web_shop)

    placed = post_form(browser, "/checkout", checkout_form(browser))
    assert placed.status_code == 303
    assert [line[0] for line in _order_lines(web_shop)] == ["mug"]
    assert web_shop.cart(SAM) == [("beans", 1)]


def test_a_quantity_changed_in_another_tab_stops_the_order(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    form = checkout_form(browser)
    browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['mug']}/quantity", {"quantity": "3"})

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 409
    assert "Your cart now has 3 of Trailhead Enamel Mug (it was 1)." in text_of(response)
    assert _orders(web_shop) == []


def test_a_tampered_summary_is_treated_as_a_change(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    response = post_form(browser, "/checkout", checkout_form(browser, shown="not json"))
    assert response.status_code == 409
    assert _orders(web_shop) == []


def test_an_empty_cart_cannot_be_checked_out(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    assert "Your cart is empty" in text_of(browser.get("/checkout"))

    # The page has no form then; a form from before the cart emptied, sent anyway:
    response = browser.submit(
        "/checkout",
        {"checkout_key": "k" * 32, "shown": "[]", "payment_method": "test_card", **ADDRESS, **CARD},
    )

    assert response.status_code == 409
    assert "nothing in your cart that can be bought" in text_of(response)
    assert _orders(web_shop) == []


def test_a_cart_in_two_currencies_is_refused_with_a_way_out(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    set_product(web_shop, "beans", currency="EUR")

    page = browser.get("/checkout")
    assert "prices in EUR and USD" in text_of(page)
    response = post_form(browser, "/checkout", checkout_form(browser))

    assert response.status_code == 409
    assert _orders(web_shop) == []


# exactly one order ----------------------------------------------------------------------


def test_a_double_submit_makes_one_order_and_both_land_on_it(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    form = checkout_form(browser)

    first = post_form(browser, "/checkout", form)
    second = post_form(browser, "/checkout", form)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(_orders(web_shop)) == 1
    assert len(_emails(web_shop)) == 1


def test_concurrent_double_submits_make_one_order_on_every_database(
    web_shop_any_db: WebShop,
) -> None:
    shop = web_shop_any_db
    browser = _shopper_with_two_replies(shop)
    form = checkout_form(browser)
    # The same browser clicking twice: two connections carrying the same cookies and form.
    twin = shop.browser()
    twin.client.cookies.update(browser.client.cookies)
    start = threading.Barrier(2)
    responses: list[Response] = []
    failures: list[BaseException] = []

    def submit(who: Browser) -> None:
        try:
            start.wait(timeout=30)
            responses.append(post_form(who, "/checkout", form))
        except BaseException as error:  # surfaced below, with the thread's own traceback
            failures.append(error)

    threads = [threading.Thread(target=submit, args=(who,)) for who in (browser, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    assert [response.status_code for response in responses] == [303, 303]
    assert len({response.headers["location"] for response in responses}) == 1
    assert len(_orders(shop)) == 1
    assert count(shop, "order_lines") == 2
    assert len(_emails(shop)) == 1
    assert shop.cart(SAM) == []


def test_a_cart_changed_during_payment_makes_no_order(web_shop: WebShop) -> None:
    """The service re-reads the cart inside the order's transaction: when another checkout
    (another tab) changed it while this one was paying, nothing is ordered."""
    signed_in(web_shop)
    link_everywhere(web_shop)
    bluesky_reply_cart(web_shop)
    engine = web_shop.app.engine
    with engine.connect() as connection:
        person = accounts.find_person(connection, "shopper", email=SAM)
        assert person is not None
        basket = checkout.basket_of(shopping.list_items(connection, "cart", person.id))
    with engine.begin() as connection:
        shopping.set_quantity(connection, "cart", person.id, basket.lines[0].id, 2)

    placed = checkout.place_order(
        web_shop.app.unit_of_work,
        customer=person,
        checkout_key="k" * 32,
        address=Address("Sam", "1 Harbour Street", "", "Portland", "97201", "US"),
        basket=basket,
        gateway="invoice",
        payment=PaymentResult(True, "INV-1", "ok"),
        shop_name="Trailhead Coffee",
        public_url="http://127.0.0.1:8000",
        at=web_shop.clock.now(),
    )

    assert placed is None
    assert _orders(web_shop) == []
    assert web_shop.cart(SAM) == [("mug", 2)]


# whose orders ---------------------------------------------------------------------------


def test_a_shopper_cannot_see_anothers_order(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    post_form(browser, "/checkout", checkout_form(browser))
    [order] = _orders(web_shop)
    eve = signed_in(web_shop, "eve@example.com")

    response = eve.get(f"/orders/{order.id}")

    assert response.status_code == 404
    assert "Harbour" not in response.text
    assert f"#{order.id}" not in text_of(eve.get("/orders"))
    assert "No orders yet" in text_of(eve.get("/orders"))
    assert eve.get("/orders/not-a-number").status_code == 404
    assert eve.get("/orders/999999").status_code == 404


def test_a_double_submit_by_another_shopper_does_not_reveal_the_order(
    web_shop: WebShop,
) -> None:
    browser = _shopper_with_two_replies(web_shop)
    form = checkout_form(browser)
    post_form(browser, "/checkout", form)
    eve = signed_in(web_shop, "eve@example.com")
    eve.submit("/cart/add", {"product_id": "mug"})
    stolen = checkout_form(eve, checkout_key=form["checkout_key"])

    response = post_form(eve, "/checkout", stolen)

    assert response.status_code == 404
    assert len(_orders(web_shop)) == 1
    assert web_shop.cart("eve@example.com") == [("mug", 1)]


def test_hostile_titles_stay_inert_on_order_pages_and_history(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    set_product(web_shop, "mug", title="<script>alert(1)</script><img src=x onerror=alert(2)>")
    post_form(browser, "/checkout", checkout_form(browser, name="<b>Sam</b>"))
    [order] = _orders(web_shop)

    page = browser.get(f"/orders/{order.id}")

    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;Sam&lt;/b&gt;" in page.text


def test_orders_list_newest_first(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    post_form(browser, "/checkout", checkout_form(browser, **CARD))
    web_shop.clock.advance(timedelta(hours=1))
    browser.submit("/cart/add", {"product_id": "mug"})
    post_form(browser, "/checkout", checkout_form(browser, payment_method="invoice"))
    first, second = (row.id for row in _orders(web_shop))

    history = browser.get("/orders").text

    assert history.index(f"/orders/{second}") < history.index(f"/orders/{first}")
    with web_shop.app.engine.connect() as connection:
        sam = accounts.find_person(connection, "shopper", email=SAM)
        assert sam is not None
        summaries = orders.orders_of(connection, sam.id)
    assert [summary.item_count for summary in summaries] == [1, 2]
