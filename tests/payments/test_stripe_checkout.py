"""The web checkout with Stripe set up: "Saved card (Stripe)" beside the test card and the
invoice; the order is placed on a PaymentIntent held then captured at localstripe; a decline
or no saved card charges nothing and says why; a refund goes back through Stripe."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hashcart.payments import stripe_client
from hashcart.payments.stripe_gateway import NO_SAVED_CARD
from hashcart.services import payments
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


def _shopper_with_mug(shop: WebShop, card: str | None = "4242424242424242") -> Browser:
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    if card is not None:
        cards = shop.app.stripe_cards()
        assert cards is not None
        with shop.app.unit_of_work() as uow:
            customer_id = uow.gateway_records.customer_with_email(SAM)
        assert customer_id is not None
        cards.save_test_card(customer_id, SAM, card)
    return browser


def test_checkout_offers_the_saved_stripe_card_beside_the_others(shop: WebShop) -> None:
    browser = _shopper_with_mug(shop)
    page = browser.get("/checkout").text
    for value in ("test_card", "invoice", "stripe"):
        assert f'name="payment_method" value="{value}"' in page
    assert "Saved card (Stripe)" in page


def test_without_stripe_checkout_offers_what_it_did(database_url: str) -> None:
    shop = WebShop(database_url)
    browser = _shopper_with_mug(shop, card=None)
    page = browser.get("/checkout").text
    assert 'value="stripe"' not in page and 'value="test_card"' in page
    shop.close()


def test_an_order_paid_with_the_saved_card_is_captured_at_stripe(shop: WebShop) -> None:
    browser = _shopper_with_mug(shop)
    placed = post_form(browser, "/checkout", checkout_form(browser, payment_method="stripe"))
    assert placed.status_code == 303, text_of(placed)
    order_page = browser.get(placed.headers["location"])
    assert "Saved card (Stripe)" in text_of(order_page)
    gateway = shop.app.stripe_gateway()
    assert gateway is not None
    [intent] = gateway.client.v1.payment_intents.list().data
    assert intent.status == "succeeded" and intent.amount == 1800  # the mug, 18.00 USD
    order_id = int(placed.headers["location"].split("/")[2].split("?")[0])
    refund = payments.refund_order(
        shop.app.unit_of_work, order_id, shop.clock.now(), shop.app.payment_gateways()
    )
    assert refund.done
    refunds = gateway.client.v1.refunds.list(params={"payment_intent": intent.id}).data
    assert [one.amount for one in refunds] == [1800]


def test_a_declined_saved_card_places_no_order(shop: WebShop) -> None:
    browser = _shopper_with_mug(shop, card="4000000000000341")
    answer = post_form(browser, "/checkout", checkout_form(browser, payment_method="stripe"))
    assert answer.status_code == 402
    words = text_of(answer)
    assert "Your card was declined." in words and "Nothing was charged" in words
    with shop.app.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(t.orders)) == 0


def test_no_saved_card_says_where_to_save_one(shop: WebShop) -> None:
    browser = _shopper_with_mug(shop, card=None)
    answer = post_form(browser, "/checkout", checkout_form(browser, payment_method="stripe"))
    assert answer.status_code == 402 and NO_SAVED_CARD in text_of(answer)


def test_stripe_not_answering_orders_nothing_and_the_same_form_orders_once_later(
    shop: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer from Stripe is an unknown outcome: the page says nothing was ordered (503,
    not a server error) and sending the same form again, Stripe back, orders once on one
    PaymentIntent (the key -> payment record kept `authorising` in between)."""
    browser = _shopper_with_mug(shop)
    real_client = stripe_client.make_client
    monkeypatch.setattr(
        stripe_client,
        "make_client",
        # Port 9 (discard) on loopback: nothing listens there.
        lambda key, _base: real_client(key, "http://127.0.0.1:9", network_retries=0),
    )
    form = checkout_form(browser, payment_method="stripe")
    answer = post_form(browser, "/checkout", form)
    assert answer.status_code == 503
    assert "nothing was ordered" in text_of(answer)
    with shop.app.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(t.orders)) == 0
    monkeypatch.undo()
    placed = post_form(browser, "/checkout", form)
    assert placed.status_code == 303, text_of(placed)
    gateway = shop.app.stripe_gateway()
    assert gateway is not None
    [intent] = gateway.client.v1.payment_intents.list().data
    assert intent.status == "succeeded"
