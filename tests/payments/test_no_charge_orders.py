"""An order its offer pays for in full (issue 12): placed as paid with no payment call, the
order page and the receipt say no charge was needed, the API's order shows 0.00 with the
offer, and Stripe is never asked: localstripe (on loopback) holds no PaymentIntent. On
SQLite and PostgreSQL; the offer is loaded by a real X v1.1 tweet."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from hashcart.services import payments
from hashcart.services.offers import add_offer
from hashcart.store import schema as t
from hashcart.views.api_reads import orders as api_orders
from tests.payloads import x_tweet
from tests.payments.stripe_support import SAM
from tests.web.cart_support import (
    SHOPPER_X_ID,
    bluesky_reply_cart,
    checkout_form,
    link_everywhere,
    post_form,
    signed_in,
    text_of,
)
from tests.web.conftest import Browser, WebShop


def _free_mug(shop: WebShop) -> Browser:
    """Sam, linked, with a saved Stripe card, the mug ($18.00) in the cart and a loaded
    offer that takes all of it off."""
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    with shop.app.unit_of_work() as uow:
        customer_id = uow.gateway_records.customer_with_email(SAM)
    assert customer_id is not None
    cards = shop.app.stripe_cards()
    assert cards is not None
    cards.save_test_card(customer_id, SAM, "4242424242424242")
    add_offer(shop.app.unit_of_work, shop.app.settings, shop.clock.now(), tag="free", percent="100")
    shop.ingest([x_tweet("9100", SHOPPER_X_ID, "sam_x", "#free", hashtags=("free",))])
    return browser


def _intents(shop: WebShop) -> list[Any]:
    gateway = shop.app.stripe_gateway()
    assert gateway is not None
    return list(gateway.client.v1.payment_intents.list().data)


def _one(shop: WebShop, query: Any) -> Any:
    with shop.app.engine.connect() as connection:
        return connection.execute(query).first()


def test_a_fully_covered_web_order_is_paid_without_asking_stripe(shop: WebShop) -> None:
    browser = _free_mug(shop)
    page = text_of(browser.get("/checkout"))
    assert "No payment needed" in page and "Place order · $0.00" in page
    # The form has no way to pay; a stale form naming Stripe changes nothing either.
    form = checkout_form(browser, payment_method="stripe")
    placed = post_form(browser, "/checkout", form)
    assert placed.status_code == 303, text_of(placed)

    assert _intents(shop) == []  # no PaymentIntent of 0.00 (nor of anything) at Stripe
    order = _one(shop, select(t.orders))
    assert (order.status, order.payment_gateway) == ("paid", payments.NO_CHARGE)
    assert order.total_amount == Decimal("0.00") and order.discount_amount == Decimal("18.00")
    assert _one(shop, select(func.count()).select_from(t.payments))[0] == 0

    words = text_of(browser.get(placed.headers["location"]))
    assert "No charge: the offer covers the whole order" in words and "Total $0.00" in words
    receipt = _one(shop, select(t.outbox.c.text).where(t.outbox.c.reason == "order_confirmed"))
    assert "No charge was needed: the offer covers the whole total." in receipt.text
    assert "Total: 0.00 USD" in receipt.text
    with shop.app.engine.connect() as connection:
        [api] = api_orders(connection, customer_id=order.customer_id)
    assert api["total_amount"] == Decimal("0.00") and api["payment_gateway"] == "no_charge"
    assert api["offer"]["tag"] == "free" and api["offer"]["discount"] == Decimal("18.00")
    # Nothing to give back, and no gateway asked for it.
    refund = payments.refund_order(
        shop.app.unit_of_work, order.id, shop.clock.now(), shop.app.payment_gateways()
    )
    assert not refund.done and "nothing was charged" in refund.message


def test_a_fully_covered_order_needs_no_way_to_pay_but_still_an_address(shop: WebShop) -> None:
    browser = _free_mug(shop)
    form = checkout_form(browser, payment_method="", city="")
    answer = post_form(browser, "/checkout", form)
    assert answer.status_code == 400
    assert "Choose how you want to pay" not in text_of(answer)
    assert 'id="city-error"' in answer.text
    placed = post_form(browser, "/checkout", checkout_form(browser, payment_method=""))
    assert placed.status_code == 303, text_of(placed)
    assert _intents(shop) == []
