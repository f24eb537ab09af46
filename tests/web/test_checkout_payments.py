"""Checkout holds the stock, authorises, places the order, then captures: an order that cannot
be placed voids its authorisation and gives the stock back, and the page says nothing was
charged only when that is so; a retried checkout key never authorises twice; a captured
order can be refunded.

The gateway is the edge of the internet: these tests put a recording stand-in around the
test-card gateway in its place, to see what hashcart asked of it and when."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.ports import (
    Authorisation,
    AuthorisedPayment,
    PaymentDetails,
    PaymentStep,
)
from hashcart.services import payments
from hashcart.services.payments import GATEWAYS, TestCardGateway
from hashcart.store import schema as t
from hashcart.store import stock
from tests.web.cart_support import (
    bluesky_reply_cart,
    checkout_form,
    line_ids,
    link_everywhere,
    post_form,
    signed_in,
    text_of,
    x_reply_cart,
)
from tests.web.conftest import Browser, WebShop

SAM = "sam@example.com"


@dataclass
class RecordingGateway:
    """The test-card gateway, with a log of every call, a hook that runs while the shopper's
    card is being authorised, and a void that can be made to fail."""

    inner: TestCardGateway = field(default_factory=TestCardGateway)
    calls: list[tuple[str, str]] = field(default_factory=list)
    while_authorising: Callable[[], object] | None = None
    void_refused: bool = False

    name = "test_card"
    label = "Card (test mode)"
    fields = ("card_number", "card_expiry", "card_cvc")

    def authorise(self, amount: Decimal, currency: str, details: PaymentDetails) -> Authorisation:
        self.calls.append(("authorise", details.idempotency_key))
        if self.while_authorising is not None:
            self.while_authorising()
        return self.inner.authorise(amount, currency, details)

    def capture(self, payment: AuthorisedPayment) -> PaymentStep:
        self.calls.append(("capture", payment.idempotency_key))
        return self.inner.capture(payment)

    def void(self, payment: AuthorisedPayment) -> PaymentStep:
        self.calls.append(("void", payment.idempotency_key))
        if self.void_refused:
            return PaymentStep(False, "the gateway is down")
        return self.inner.void(payment)

    def refund(self, payment: AuthorisedPayment, amount: Decimal) -> PaymentStep:
        self.calls.append(("refund", payment.idempotency_key))
        return self.inner.refund(payment, amount)

    def steps(self) -> list[str]:
        return [step for step, _ in self.calls]


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingGateway]:
    recording = RecordingGateway()
    monkeypatch.setitem(GATEWAYS, "test_card", recording)
    yield recording


def _shopper(shop: WebShop) -> Browser:
    """Sam, with the mug (18.00) and the beans (24.50) in the cart."""
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    x_reply_cart(shop, post_id="1001")
    return browser


def _rows(shop: WebShop, table: Any) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(table)).all())


def _stock(shop: WebShop, **units: int) -> None:
    with shop.app.engine.begin() as connection:
        for product_id, count in units.items():
            stock.set_stock(connection, product_id, count)


def _level(shop: WebShop, product_id: str) -> tuple[int | None, int]:
    with shop.app.engine.connect() as connection:
        level = stock.stock_level(connection, product_id)
    assert level is not None
    return level.stock, level.reserved


def _live_holds(shop: WebShop) -> list[tuple[str, str, int]]:
    return sorted(
        (row.holder, row.product_id, row.quantity)
        for row in _rows(shop, t.reservations)
        if row.status == "held"
    )


# the order of things -------------------------------------------------------------------------


def test_stock_is_held_while_paying_then_sold_with_the_order_then_captured(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    browser = _shopper(web_shop)
    _stock(web_shop, mug=5, beans=1)
    form = checkout_form(browser)
    key = form["checkout_key"]
    seen_while_paying: list[Any] = []
    gateway.while_authorising = lambda: seen_while_paying.append(_live_holds(web_shop))

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 303
    holder = f"checkout:{key}"
    assert seen_while_paying == [[(holder, "beans", 1), (holder, "mug", 1)]]
    [order] = _rows(web_shop, t.orders)
    # The hold became the sale: out of stock, out of the reserved count, held by the order.
    assert _level(web_shop, "mug") == (4, 0) and _level(web_shop, "beans") == (0, 0)
    assert sorted(
        (row.holder, row.status, row.product_id) for row in _rows(web_shop, t.reservations)
    ) == [(f"order:{order.id}", "converted", "beans"), (f"order:{order.id}", "converted", "mug")]
    # Captured once, after the order existed.
    assert gateway.calls == [("authorise", key), ("capture", key)]
    [payment] = _rows(web_shop, t.payments)
    assert (payment.status, payment.order_id, payment.reference) == (
        "captured",
        order.id,
        order.payment_reference,
    )
    assert order.status == "paid"


def test_out_of_stock_says_so_and_nothing_is_authorised(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    browser = _shopper(web_shop)
    _stock(web_shop, mug=5, beans=0)

    response = post_form(browser, "/checkout", checkout_form(browser))

    assert response.status_code == 409
    words = text_of(response)
    assert "Summit Roast Beans 1kg is out of stock. Nothing was charged" in words
    assert gateway.calls == []
    assert _rows(web_shop, t.payments) == [] and _rows(web_shop, t.orders) == []
    assert _live_holds(web_shop) == [] and _level(web_shop, "mug") == (5, 0)
    assert web_shop.cart(SAM) == [("mug", 1), ("beans", 1)]


def test_fewer_left_than_the_cart_wants_says_how_many(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    browser = _shopper(web_shop)
    browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['mug']}/quantity", {"quantity": "3"})
    _stock(web_shop, mug=2)

    response = post_form(browser, "/checkout", checkout_form(browser))

    assert response.status_code == 409
    assert "Only 2 of Trailhead Enamel Mug are left (your cart has 3)." in text_of(response)
    assert gateway.calls == []


# an order that cannot be placed after the authorisation --------------------------------------


def _change_the_cart_while_paying(shop: WebShop, gateway: RecordingGateway) -> None:
    """Another tab changes the mug's quantity while the card is being authorised."""

    def other_tab() -> None:
        with shop.app.engine.begin() as connection:
            connection.execute(
                t.cart_lines.update().where(t.cart_lines.c.product_id == "mug").values(quantity=2)
            )

    gateway.while_authorising = other_tab


def test_a_conflict_after_authorisation_voids_it_and_says_nothing_was_charged(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    browser = _shopper(web_shop)
    _stock(web_shop, mug=5)
    _change_the_cart_while_paying(web_shop, gateway)
    form = checkout_form(browser)
    key = form["checkout_key"]

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 409
    words = text_of(response)
    assert "nothing was ordered and nothing was charged" in words
    assert gateway.calls == [("authorise", key), ("void", key)]
    [payment] = _rows(web_shop, t.payments)
    assert payment.status == "voided"
    assert _rows(web_shop, t.orders) == []
    assert _live_holds(web_shop) == [] and _level(web_shop, "mug") == (5, 0)
    assert web_shop.cart(SAM) == [("mug", 2), ("beans", 1)]


def test_a_void_the_gateway_refuses_is_not_called_nothing_charged(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    browser = _shopper(web_shop)
    _change_the_cart_while_paying(web_shop, gateway)
    gateway.void_refused = True

    response = post_form(browser, "/checkout", checkout_form(browser))

    assert response.status_code == 409
    words = text_of(response)
    assert "nothing was charged" not in words.lower()
    assert "the payment could not be cancelled yet" in words
    [payment] = _rows(web_shop, t.payments)
    assert payment.status == "authorised"
    assert payment.last_error == "void refused: the gateway is down"


def test_a_voided_checkout_sent_again_does_not_authorise_again(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    browser = _shopper(web_shop)
    _change_the_cart_while_paying(web_shop, gateway)
    form = checkout_form(browser)
    post_form(browser, "/checkout", form)
    gateway.while_authorising = None
    # The other tab puts the cart back as the form showed it: only the key's record stops it.
    browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['mug']}/quantity", {"quantity": "1"})

    again = post_form(browser, "/checkout", form)

    assert again.status_code == 409
    assert "This order could not be placed. Nothing was charged" in text_of(again)
    assert gateway.steps() == ["authorise", "void"]
    assert _rows(web_shop, t.orders) == []


# one authorisation per checkout key ------------------------------------------------------------


def test_a_retry_of_the_same_checkout_key_does_not_authorise_twice(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    """The first request authorised and died before the order was written; the shopper's
    browser sends the same form again."""
    browser = _shopper(web_shop)
    form = checkout_form(browser)
    key = form["checkout_key"]
    card = {name: form[name] for name in ("card_number", "card_expiry", "card_cvc")}
    first = payments.authorise_once(
        web_shop.app.unit_of_work,
        gateway,
        Decimal("42.50"),
        "USD",
        PaymentDetails(card, key, web_shop.clock.now().date(), SAM),
        web_shop.clock.now(),
    )
    assert first.status == "authorised"

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 303
    assert gateway.calls == [("authorise", key), ("capture", key)]
    [order] = _rows(web_shop, t.orders)
    assert order.payment_reference == first.reference
    [payment] = _rows(web_shop, t.payments)
    assert payment.status == "captured"


def test_a_double_submit_authorises_and_captures_once(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    browser = _shopper(web_shop)
    form = checkout_form(browser)

    first = post_form(browser, "/checkout", form)
    second = post_form(browser, "/checkout", form)

    assert first.headers["location"] == second.headers["location"]
    assert gateway.steps() == ["authorise", "capture"]


# refunds ----------------------------------------------------------------------------------------


def test_a_captured_order_is_refunded_once(web_shop: WebShop, gateway: RecordingGateway) -> None:
    browser = _shopper(web_shop)
    response = post_form(browser, "/checkout", checkout_form(browser))
    [order] = _rows(web_shop, t.orders)

    refund = payments.refund_order(web_shop.app.unit_of_work, order.id, web_shop.clock.now())
    again = payments.refund_order(web_shop.app.unit_of_work, order.id, web_shop.clock.now())

    assert refund == payments.Refund(True, "42.50 USD refunded.")
    assert again.done and "refunded already" in again.message
    assert gateway.steps() == ["authorise", "capture", "refund"]
    [payment] = _rows(web_shop, t.payments)
    assert payment.status == "refunded"
    [order] = _rows(web_shop, t.orders)
    assert order.status == "refunded"
    assert "Refunded" in text_of(browser.get(response.headers["location"]))


def test_an_order_not_captured_cannot_be_refunded(
    web_shop: WebShop, gateway: RecordingGateway
) -> None:
    browser = _shopper(web_shop)
    post_form(browser, "/checkout", checkout_form(browser))
    [order] = _rows(web_shop, t.orders)
    with web_shop.app.engine.begin() as connection:
        connection.execute(t.payments.update().values(status="authorised"))

    refund = payments.refund_order(web_shop.app.unit_of_work, order.id, web_shop.clock.now())

    assert not refund.done and "authorised, not captured" in refund.message
    assert "refund" not in gateway.steps()
