"""A capture or void the gateway refused, or whose outcome is unknown, stays owed on the
payment's record and is asked again by the payment sweep (`hashcart serve` every minute,
`hashcart payments retry` once), under the same idempotency key, until the gateway does it;
after five attempts the sweep stops and the console's home page shows it. On SQLite and
PostgreSQL.

The gateway is the edge of the internet: a scripted stand-in around the test-card gateway
takes its place. Like a real gateway (Stripe's idempotent requests), it answers a second
capture or void of an authorisation it already settled without moving money again; it
counts the money it moved, so the tests can see that a retry never moves it twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

import pytest
from sqlalchemy import select

from hashcart.ports import Authorisation, AuthorisedPayment, PaymentDetails, PaymentStep
from hashcart.services import checkout, payment_steps, payments
from hashcart.services.payment_steps import MAX_STEP_ATTEMPTS, retry_owed_steps
from hashcart.services.payments import GATEWAYS, TestCardGateway, gateway_named
from hashcart.store import accounts
from hashcart.store import schema as t
from hashcart.store.orders import Address
from tests.cli_runner import run_cli
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
Answer = Literal["refuse", "raise", "accept"]


@dataclass
class ScriptedGateway:
    """Captures and voids answer from a script (then accept); every call is logged, and
    `moved` lists each time money actually moved (a settled key is not moved again)."""

    inner: TestCardGateway = field(default_factory=TestCardGateway)
    captures: list[Answer] = field(default_factory=list)
    voids: list[Answer] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)

    name = "test_card"
    label = "Card (test mode)"
    fields = ("card_number", "card_expiry", "card_cvc")

    def authorise(self, amount: Decimal, currency: str, details: PaymentDetails) -> Authorisation:
        self.calls.append(("authorise", details.idempotency_key))
        return self.inner.authorise(amount, currency, details)

    def _step(self, step: str, script: list[Answer], payment: AuthorisedPayment) -> PaymentStep:
        key = payment.idempotency_key
        self.calls.append((step, key))
        answer = script.pop(0) if script else "accept"
        if answer == "raise":
            raise ConnectionError("the gateway did not answer")
        if answer == "refuse":
            return PaymentStep(False, "the gateway is busy")
        if (step, key) not in self.moved:  # idempotent: one key settles once
            self.moved.append((step, key))
        return PaymentStep(True, f"{step} done")

    def capture(self, payment: AuthorisedPayment) -> PaymentStep:
        return self._step("capture", self.captures, payment)

    def void(self, payment: AuthorisedPayment) -> PaymentStep:
        return self._step("void", self.voids, payment)

    def refund(self, payment: AuthorisedPayment, amount: Decimal) -> PaymentStep:
        self.calls.append(("refund", payment.idempotency_key))
        return self.inner.refund(payment, amount)

    def steps(self) -> list[str]:
        return [step for step, _ in self.calls]


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedGateway]:
    scripted = ScriptedGateway()
    monkeypatch.setitem(GATEWAYS, "test_card", scripted)
    yield scripted


@pytest.fixture
def shop(web_shop_any_db: WebShop) -> WebShop:
    return web_shop_any_db


def _shopper(shop: WebShop) -> Browser:
    """Sam, with the mug (18.00) and the beans (24.50) in the cart."""
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    x_reply_cart(shop, post_id="1001")
    return browser


def _payment(shop: WebShop) -> Any:
    with shop.app.engine.connect() as connection:
        [row] = connection.execute(select(t.payments)).all()
    return row


def _orders(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.orders)).all())


def _sweep(shop: WebShop) -> list[payment_steps.StepOutcome]:
    return retry_owed_steps(shop.app.unit_of_work, gateway_named, shop.clock.now())


def _place(shop: WebShop, gateway: ScriptedGateway, key: str, *, void_first: bool = False) -> Any:
    """What the checkout route does up to placing the order, called directly: authorise
    under `key`, then place the order (after owing a void on the authorisation, as a request
    that could not place it does, when `void_first`)."""
    with shop.app.engine.connect() as connection:
        person = accounts.find_person(connection, "shopper", email=SAM)
    assert person is not None
    basket = checkout.basket_for(shop.app.unit_of_work, person.id)
    assert basket.currency is not None
    now = shop.clock.now()
    card = {"card_number": "4242424242424242", "card_expiry": "12/30", "card_cvc": "123"}
    record = payments.authorise_once(
        shop.app.unit_of_work,
        gateway,
        basket.total,
        basket.currency,
        PaymentDetails(card, key, now.date(), SAM),
        now,
    )
    if void_first:
        with shop.app.unit_of_work() as uow:
            assert uow.payments.owe(key, "void", now + payment_steps.REQUEST_GRACE)
    return checkout.place_order(
        shop.app.unit_of_work,
        customer=person,
        checkout_key=key,
        address=Address("Sam", "1 Harbour Street", "", "Portland", "97201", "US"),
        basket=basket,
        gateway=record.gateway,
        payment=record.authorisation,
        shop_name="Trailhead Coffee",
        public_url="http://127.0.0.1:8000",
        at=now,
    )


def _change_the_cart_while_paying(shop: WebShop, gateway: ScriptedGateway) -> None:
    """Another tab changes the mug's quantity while the card is being authorised."""
    real = gateway.authorise

    def authorise(amount: Decimal, currency: str, details: PaymentDetails) -> Authorisation:
        with shop.app.engine.begin() as connection:
            connection.execute(
                t.cart_lines.update().where(t.cart_lines.c.product_id == "mug").values(quantity=2)
            )
        return real(amount, currency, details)

    gateway.authorise = authorise  # type: ignore[method-assign]


# capture --------------------------------------------------------------------------------------


def test_a_refused_capture_is_asked_again_until_the_gateway_takes_it(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    browser = _shopper(shop)
    gateway.captures = ["refuse", "refuse"]
    form = checkout_form(browser)
    key = form["checkout_key"]

    response = post_form(browser, "/checkout", form)

    # The order stands; the capture is owed, with the gateway's reason kept.
    assert response.status_code == 303
    [order] = _orders(shop)
    payment = _payment(shop)
    assert (payment.status, payment.pending_step, payment.step_attempts) == (
        "authorised",
        "capture",
        1,
    )
    assert payment.last_error == "capture refused: the gateway is busy"
    assert payment.retry_at == shop.clock.now() + timedelta(minutes=1)

    assert _sweep(shop) == []  # not due yet: nothing is asked
    assert gateway.steps() == ["authorise", "capture"]

    shop.clock.advance(timedelta(minutes=1))
    [again] = _sweep(shop)
    assert (again.step, again.done, again.attempts, again.stopped) == ("capture", False, 2, False)
    assert _payment(shop).retry_at == shop.clock.now() + timedelta(minutes=5)

    shop.clock.advance(timedelta(minutes=5))
    [done] = _sweep(shop)

    assert (done.order_id, done.step, done.done) == (order.id, "capture", True)
    payment = _payment(shop)
    assert (payment.status, payment.pending_step, payment.retry_at) == ("captured", None, None)
    assert payment.last_error is None
    assert gateway.calls == [("authorise", key)] + [("capture", key)] * 3
    assert gateway.moved == [("capture", key)]
    shop.clock.advance(timedelta(hours=2))
    assert _sweep(shop) == []  # settled: never asked again


def test_a_capture_that_raises_keeps_the_order_and_is_asked_again(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    """The gateway's answer is lost (a timeout): the money may or may not have moved, so the
    shopper still gets their order, and the sweep asks again with the same key."""
    browser = _shopper(shop)
    gateway.captures = ["raise"]
    form = checkout_form(browser)

    response = post_form(browser, "/checkout", form)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/orders/")
    payment = _payment(shop)
    assert payment.pending_step == "capture"
    assert payment.last_error == (
        "capture failed, its outcome unknown: ConnectionError: the gateway did not answer"
    )
    shop.clock.advance(timedelta(minutes=1))
    [done] = _sweep(shop)
    assert done.done and _payment(shop).status == "captured"
    assert gateway.moved == [("capture", form["checkout_key"])]


def test_an_order_whose_request_died_before_capturing_is_captured_by_the_sweep(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    """The capture is owed from the order's own transaction: a request that dies between
    the commit and the gateway's answer leaves nothing uncaptured for long."""
    _shopper(shop)
    key = "crash" + "k" * 27
    placed = _place(shop, gateway, key)
    assert placed is not None and placed.created
    # ... and the request dies here, before asking for the capture.

    assert _sweep(shop) == []  # the request's own attempt comes first
    shop.clock.advance(payment_steps.REQUEST_GRACE)
    [done] = _sweep(shop)

    assert (done.order_id, done.step, done.done) == (placed.order_id, "capture", True)
    assert gateway.steps() == ["authorise", "capture"]
    assert _payment(shop).status == "captured"


def test_after_five_attempts_the_sweep_stops_and_the_console_shows_it(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    browser = _shopper(shop)
    gateway.captures = ["refuse"] * MAX_STEP_ATTEMPTS
    post_form(browser, "/checkout", checkout_form(browser))
    [order] = _orders(shop)

    outcomes = []
    for _ in range(MAX_STEP_ATTEMPTS + 2):  # well past every wait
        shop.clock.advance(timedelta(hours=1))
        outcomes += _sweep(shop)

    assert [outcome.attempts for outcome in outcomes] == [2, 3, 4, 5]
    assert [outcome.stopped for outcome in outcomes] == [False, False, False, True]
    assert gateway.steps().count("capture") == MAX_STEP_ATTEMPTS
    payment = _payment(shop)
    assert (payment.status, payment.pending_step, payment.retry_at) == (
        "authorised",
        "capture",
        None,
    )
    merchant = shop.browser()
    merchant.merchant_sign_in()
    home = text_of(merchant.get("/merchant"))
    assert "Payments the gateway has not settled" in home
    assert (
        f"#{order.id} capture $42.50 test_card 5 stopped capture refused: the gateway is busy"
        in (" ".join(home.split()))
    )

    # An operator checked the gateway and starts it over: the next attempt is taken.
    restarted = run_cli(
        ["payments", "retry", "--restart-stopped", "--json"],
        env={"HASHCART_DATABASE_URL": shop.app.settings.database_url},
    )

    assert restarted.exit_code == 0, restarted.stderr
    assert '"step":"capture","done":true' in restarted.stdout
    assert _payment(shop).status == "captured"
    assert "Payments the gateway has not settled" not in text_of(merchant.get("/merchant"))


def test_the_console_says_nothing_of_payments_when_none_is_owed(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    browser = _shopper(shop)
    post_form(browser, "/checkout", checkout_form(browser))
    merchant = shop.browser()
    merchant.merchant_sign_in()

    assert "has not settled" not in text_of(merchant.get("/merchant"))


# void -----------------------------------------------------------------------------------------


def test_a_refused_void_is_asked_again_and_then_nothing_was_charged(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    browser = _shopper(shop)
    _change_the_cart_while_paying(shop, gateway)
    gateway.voids = ["refuse"]
    form = checkout_form(browser)
    key = form["checkout_key"]

    first = post_form(browser, "/checkout", form)

    assert first.status_code == 409
    assert "the payment could not be cancelled yet" in text_of(first)
    payment = _payment(shop)
    assert (payment.status, payment.pending_step, payment.order_id) == ("authorised", "void", None)

    shop.clock.advance(timedelta(minutes=1))
    [done] = _sweep(shop)

    assert (done.step, done.done, done.order_id) == ("void", True, None)
    assert _payment(shop).status == "voided"
    assert gateway.moved == [("void", key)]
    assert _orders(shop) == []
    # The same form sent again, the cart as it showed: nothing to charge, and it says so.
    gateway.authorise = gateway.inner.authorise  # type: ignore[method-assign]
    browser.submit(f"/cart/lines/{line_ids(shop, SAM)['mug']}/quantity", {"quantity": "1"})
    again = post_form(browser, "/checkout", form)
    assert "This order could not be placed. Nothing was charged" in text_of(again)
    assert _orders(shop) == []


def test_an_authorisation_being_voided_never_becomes_an_order(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    """The void is owed before the gateway is asked: the same form sent again while it is
    owed (the cart put back as it showed) makes no order and captures nothing."""
    browser = _shopper(shop)
    _change_the_cart_while_paying(shop, gateway)
    gateway.voids = ["refuse", "refuse"]
    form = checkout_form(browser)
    post_form(browser, "/checkout", form)
    gateway.authorise = gateway.inner.authorise  # type: ignore[method-assign]
    browser.submit(f"/cart/lines/{line_ids(shop, SAM)['mug']}/quantity", {"quantity": "1"})

    again = post_form(browser, "/checkout", form)

    assert again.status_code == 409
    words = text_of(again)
    assert "This order could not be placed, so nothing was ordered" in words
    assert "nothing was charged" not in words.lower()  # the void is still refused
    assert _orders(shop) == []
    assert "capture" not in gateway.steps()
    assert gateway.steps() == ["authorise", "void", "void"]
    assert _payment(shop).step_attempts == 2


def test_place_order_refuses_an_authorisation_owed_a_void(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    """Between a request's authorisation and its order, another request with the same key
    may have given up on it: the order's transaction sees the owed void and places
    nothing, so the void and a capture can never both be owed."""
    _shopper(shop)

    placed = _place(shop, gateway, "v" * 32, void_first=True)

    assert placed is None
    assert _orders(shop) == []
    payment = _payment(shop)
    assert (payment.pending_step, payment.order_id) == ("void", None)
    assert shop.cart(SAM) == [("mug", 1), ("beans", 1)]


def test_a_hostile_gateway_answer_is_kept_bounded_and_shown_inert(
    shop: WebShop, gateway: ScriptedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a gateway says comes from outside: a NUL byte (PostgreSQL's text refuses it),
    markup and a megabyte of it are recorded all the same, cut short, and escaped."""
    browser = _shopper(shop)
    hostile = "<script>alert(1)</script>\x00" + "x" * 1_000_000

    def capture(payment: AuthorisedPayment) -> PaymentStep:
        gateway.calls.append(("capture", payment.idempotency_key))
        return PaymentStep(False, hostile)

    monkeypatch.setattr(gateway, "capture", capture)

    response = post_form(browser, "/checkout", checkout_form(browser))

    assert response.status_code == 303
    payment = _payment(shop)
    assert payment.last_error.startswith("capture refused: <script>alert(1)</script>\ufffdxxx")
    assert len(payment.last_error) == payment_steps.KEPT_CHARS
    merchant = shop.browser()
    merchant.merchant_sign_in()
    home = merchant.get("/merchant").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home and "<script>alert(1)" not in home


# two sweeps at once ---------------------------------------------------------------------------


def test_a_due_step_is_claimed_by_one_sweep_only(shop: WebShop, gateway: ScriptedGateway) -> None:
    browser = _shopper(shop)
    gateway.captures = ["refuse"]
    form = checkout_form(browser)
    post_form(browser, "/checkout", form)
    shop.clock.advance(timedelta(minutes=1))
    now = shop.clock.now()

    with shop.app.unit_of_work() as uow:
        [due] = uow.payments.steps_due(now, 10)
    with shop.app.unit_of_work() as uow:
        first = uow.payments.claim_step(due.checkout_key, now, now + timedelta(minutes=5))
    with shop.app.unit_of_work() as uow:
        second = uow.payments.claim_step(due.checkout_key, now, now + timedelta(minutes=5))

    assert (first, second) == (True, False)
    assert _sweep(shop) == []  # the claim holds it until its time is up
    assert gateway.steps() == ["authorise", "capture"]


def test_sweeps_running_at_once_ask_the_gateway_once(
    shop: WebShop, gateway: ScriptedGateway
) -> None:
    """Four sweeps (serve's, a cron's...) start together on a due capture: one claims it."""
    browser = _shopper(shop)
    gateway.captures = ["refuse"]
    form = checkout_form(browser)
    post_form(browser, "/checkout", form)
    shop.clock.advance(timedelta(minutes=1))
    start = threading.Barrier(4)
    outcomes: list[payment_steps.StepOutcome] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait(timeout=30)
            outcomes.extend(_sweep(shop))
        except BaseException as error:  # surfaced below
            failures.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    assert [(outcome.step, outcome.done) for outcome in outcomes] == [("capture", True)]
    assert gateway.steps() == ["authorise", "capture", "capture"]
    assert gateway.moved == [("capture", form["checkout_key"])]
