"""The console refunds an order (issue 12: refunds through the payment port; the console had
no button for them): a ticked box, CSRF, once, through the gateway that took the money. With
the test card and with Stripe (localstripe on loopback: `POST /v1/refunds`,
https://docs.stripe.com/api/refunds/create), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hashcart.store import schema as t
from tests.payments.stripe_support import SAM
from tests.web.cart_support import (
    bluesky_reply_cart,
    checkout_form,
    link_everywhere,
    post_form,
    signed_in,
    text_of,
)
from tests.web.conftest import Browser, WebShop


def _order(shop: WebShop, payment_method: str) -> int:
    """Sam buys the mug (18.00 USD), paying by `payment_method`."""
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    if payment_method == "stripe":
        cards = shop.app.stripe_cards()
        assert cards is not None
        with shop.app.unit_of_work() as uow:
            customer_id = uow.gateway_records.customer_with_email(SAM)
        assert customer_id is not None
        cards.save_test_card(customer_id, SAM, "4242424242424242")
    placed = post_form(browser, "/checkout", checkout_form(browser, payment_method=payment_method))
    assert placed.status_code == 303, text_of(placed)
    return int(placed.headers["location"].split("/")[2].split("?")[0])


def _merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def _statuses(shop: WebShop) -> tuple[str, str]:
    with shop.app.engine.connect() as connection:
        order = connection.execute(select(t.orders.c.status)).scalar_one()
        payment = connection.execute(select(t.payments.c.status)).scalar_one()
    return order, payment


def _refunds(shop: WebShop) -> list[Any]:
    gateway = shop.app.stripe_gateway()
    assert gateway is not None
    [intent] = gateway.client.v1.payment_intents.list().data
    return list(gateway.client.v1.refunds.list(params={"payment_intent": intent.id}).data)


def test_the_console_refunds_a_stripe_order_once(shop: WebShop) -> None:
    order_id = _order(shop, "stripe")
    browser = _merchant(shop)
    page = browser.get(f"/merchant/orders/{order_id}").text
    assert f'action="/merchant/orders/{order_id}/refund"' in page

    answer = browser.submit(f"/merchant/orders/{order_id}/refund", {"confirm": "yes"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/merchant/orders/{order_id}?refunded=1"
    shown = text_of(browser.get(answer.headers["location"]))
    assert "Refunded: the whole amount goes back" in shown
    assert _statuses(shop) == ("refunded", "refunded")
    assert [one.amount for one in _refunds(shop)] == [1800]

    # The form sent again (a double click, a reload) refunds nothing more.
    again = browser.submit(f"/merchant/orders/{order_id}/refund", {"confirm": "yes"})
    assert again.status_code == 303
    assert [one.amount for one in _refunds(shop)] == [1800]
    assert (
        'action="/merchant/orders/' + str(order_id) + '/refund"'
        not in browser.get(f"/merchant/orders/{order_id}").text
    )


def test_the_console_refunds_a_test_card_order(shop: WebShop) -> None:
    order_id = _order(shop, "test_card")
    answer = _merchant(shop).submit(f"/merchant/orders/{order_id}/refund", {"confirm": "yes"})
    assert answer.status_code == 303
    assert _statuses(shop) == ("refunded", "refunded")


@pytest.mark.parametrize("confirm", ["", "no", "yes\x00", "y" * 9])
def test_without_the_ticked_box_nothing_is_refunded(shop: WebShop, confirm: str) -> None:
    order_id = _order(shop, "test_card")
    answer = _merchant(shop).submit(f"/merchant/orders/{order_id}/refund", {"confirm": confirm})
    assert answer.status_code in (400, 422)
    if answer.status_code == 400:
        assert "nothing was refunded" in text_of(answer)
    assert _statuses(shop) == ("paid", "captured")


def test_refunding_needs_the_csrf_token_and_a_merchant(shop: WebShop) -> None:
    order_id = _order(shop, "test_card")
    forged = _merchant(shop).client.post(
        f"/merchant/orders/{order_id}/refund", data={"confirm": "yes"}, follow_redirects=False
    )
    assert forged.status_code == 403
    shopper = shop.browser()
    shopper.sign_up("eve@example.com")
    stranger = shopper.client.post(
        f"/merchant/orders/{order_id}/refund",
        data={"confirm": "yes", "csrf_token": shopper.csrf()},
        follow_redirects=False,
    )
    assert stranger.status_code in (303, 403)
    assert _statuses(shop) == ("paid", "captured")


@pytest.mark.parametrize("order_id", ["999", "1x", "9" * 40, "%00"])
def test_an_unknown_order_is_not_found(shop: WebShop, order_id: str) -> None:
    answer = _merchant(shop).submit(f"/merchant/orders/{order_id}/refund", {"confirm": "yes"})
    assert answer.status_code == 404
