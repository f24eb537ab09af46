"""The Stripe gateway through Stripe's own library against localstripe on loopback: a held
PaymentIntent (manual capture) on the shopper's saved card, captured, voided or refunded;
declines for the shopper; one PaymentIntent per checkout key however often it is asked,
though localstripe ignores Idempotency-Key; and Stripe's documented answers where localstripe
answers otherwise."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import stripe

from hashcart.payments.stripe_cards import CardNotSaved
from hashcart.payments.stripe_client import StripeUnreachable, make_client, minor_units
from hashcart.payments.stripe_gateway import (
    AUTHENTICATION_NEEDED,
    NO_SAVED_CARD,
    StripeGateway,
)
from hashcart.ports import AuthorisedPayment, PaymentDetails
from hashcart.services import payments
from tests.payments.stripe_support import SAM, DocumentedStripe, StripeShop
from tests.peers.fake_stripe.fixture import LocalStripe

KEY = "checkout-key-0001-abcdefghijklmnop"


def _details(key: str = KEY, email: str = SAM) -> PaymentDetails:

    return PaymentDetails(
        fields={}, idempotency_key=key, today=date(2026, 12, 5), customer_email=email
    )


def _paid(answer_reference: str, amount: str = "12.50") -> AuthorisedPayment:
    return AuthorisedPayment(KEY, answer_reference, Decimal(amount), "USD")


def test_authorise_holds_the_amount_on_the_saved_card_with_manual_capture(
    stripe_shop: StripeShop,
) -> None:
    saved = stripe_shop.with_card()
    answer = stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details())
    assert answer.approved and answer.paid
    assert answer.message == "Paid by Visa ending in 4242."
    intent = stripe_shop.stripe.v1.payment_intents.retrieve(answer.reference)
    assert intent.status == "requires_capture"
    assert (intent.amount, intent.currency, intent.capture_method) == (1250, "usd", "manual")
    assert intent.payment_method == saved.method_id
    assert intent.customer == stripe_shop.cards.customer_for(stripe_shop.customer_id(), SAM)
    assert intent.metadata["hashcart_key"] == KEY


def test_capture_takes_the_held_money(stripe_shop: StripeShop) -> None:
    stripe_shop.with_card()
    answer = stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details())
    step = stripe_shop.gateway.capture(_paid(answer.reference))
    assert step.done
    assert stripe_shop.stripe.v1.payment_intents.retrieve(answer.reference).status == "succeeded"
    # Asked again (a retried capture): done, nothing more taken.
    assert stripe_shop.gateway.capture(_paid(answer.reference)).done


def test_void_cancels_the_hold(stripe_shop: StripeShop) -> None:
    stripe_shop.with_card()
    answer = stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details())
    assert stripe_shop.gateway.void(_paid(answer.reference)).done
    assert stripe_shop.stripe.v1.payment_intents.retrieve(answer.reference).status == "canceled"
    assert stripe_shop.gateway.void(_paid(answer.reference)).done  # cancelled before: done


def test_refund_gives_back_the_captured_amount(stripe_shop: StripeShop) -> None:
    stripe_shop.with_card()
    answer = stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details())
    stripe_shop.gateway.capture(_paid(answer.reference))
    step = stripe_shop.gateway.refund(_paid(answer.reference), Decimal("12.50"))
    assert step.done
    refunds = stripe_shop.stripe.v1.refunds.list(params={"payment_intent": answer.reference})
    assert [refund.amount for refund in refunds.data] == [1250]


def test_a_retried_key_finds_its_payment_intent_though_localstripe_forgets_keys(
    stripe_shop: StripeShop,
) -> None:
    stripe_shop.with_card()
    first = stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details())
    again = stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details())
    assert again == first
    assert [intent.id for intent in stripe_shop.intents()] == [first.reference]


def test_the_key_is_recorded_before_any_money_is_held(stripe_shop: StripeShop) -> None:
    """A crash after Stripe made the intent and before the answer was written: the retry
    confirms the recorded intent instead of holding the money on a second one."""
    stripe_shop.with_card()
    gateway = stripe_shop.gateway
    confirmed: list[str] = []
    real_confirm = gateway._confirm

    def crash_on_confirm(intent_id: str, key: str) -> Any:
        confirmed.append(intent_id)
        raise stripe.APIConnectionError("connection reset")

    gateway._confirm = crash_on_confirm  # type: ignore[method-assign]
    with pytest.raises(StripeUnreachable):
        gateway.authorise(Decimal("12.50"), "USD", _details())
    gateway._confirm = real_confirm  # type: ignore[method-assign]
    answer = gateway.authorise(Decimal("12.50"), "USD", _details())
    assert answer.approved and answer.reference == confirmed[0]
    held = [intent for intent in stripe_shop.intents() if intent.status == "requires_capture"]
    assert [intent.id for intent in held] == [answer.reference]
    assert len(stripe_shop.intents()) == 1


def test_twin_requests_for_one_key_hold_the_money_once(stripe_shop: StripeShop) -> None:
    stripe_shop.with_card()
    gateway = stripe_shop.gateway
    start = threading.Barrier(2)
    answers: list[Any] = []

    def twin() -> None:
        start.wait(timeout=10)
        answers.append(gateway.authorise(Decimal("12.50"), "USD", _details()))

    threads = [threading.Thread(target=twin) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 2 and answers[0] == answers[1] and answers[0].approved
    held = [intent for intent in stripe_shop.intents() if intent.status == "requires_capture"]
    assert [intent.id for intent in held] == [answers[0].reference]


def test_through_authorise_once_the_record_names_the_payment_intent(
    stripe_shop: StripeShop,
) -> None:
    stripe_shop.with_card()
    now = stripe_shop.clock.now()
    units = stripe_shop.app.unit_of_work
    record = payments.authorise_once(
        units, stripe_shop.gateway, Decimal("12.50"), "USD", _details(), now
    )
    assert record.status == "authorised" and record.reference.startswith("pi_")
    assert payments.capture(units, stripe_shop.gateway, KEY, now)
    assert stripe_shop.stripe.v1.payment_intents.retrieve(record.reference).status == "succeeded"


def test_a_card_declined_when_charged_is_a_decline_for_the_shopper(
    stripe_shop: StripeShop,
) -> None:
    stripe_shop.with_card(
        "4000000000000341"
    )  # attaches, then declines (pm_card_chargeCustomerFail)
    answer = stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details())
    assert not answer.approved and answer.reference == ""
    assert answer.message == "Your card was declined."
    # Asked again under the same key: the same decline, no second attempt at Stripe.
    assert stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details()) == answer
    assert len(stripe_shop.intents()) == 1


def test_a_card_declined_when_saved_is_not_saved(stripe_shop: StripeShop) -> None:
    with pytest.raises(CardNotSaved, match="Your card was declined"):
        stripe_shop.with_card("4000000000000002")
    sam = stripe_shop.customer_id()
    with stripe_shop.app.unit_of_work() as uow:
        assert uow.gateway_records.saved_method(sam) is None


def test_no_saved_card_is_declined_without_asking_stripe(stripe_shop: StripeShop) -> None:
    stripe_shop.customer(SAM)
    answer = stripe_shop.gateway.authorise(Decimal("12.50"), "USD", _details())
    assert not answer.approved and answer.message == NO_SAVED_CARD
    unknown = stripe_shop.gateway.authorise(Decimal("1"), "USD", _details(email="who@example"))
    assert unknown.message == NO_SAVED_CARD
    assert stripe_shop.intents() == []


def test_an_unreachable_stripe_is_no_decline(stripe_shop: StripeShop) -> None:
    """No answer is an unknown outcome: authorise_once keeps the record `authorising` so the
    next try asks again with the same key, and nothing says the card was declined."""
    stripe_shop.with_card()
    # Port 9 (discard) on loopback: nothing listens there.
    silent = make_client("sk_test_x", "http://127.0.0.1:9", network_retries=0)
    gateway = StripeGateway(silent, stripe_shop.app.unit_of_work, stripe_shop.clock)
    with pytest.raises(StripeUnreachable):
        payments.authorise_once(
            stripe_shop.app.unit_of_work,
            gateway,
            Decimal("12.50"),
            "USD",
            _details(),
            stripe_shop.clock.now(),
        )
    with stripe_shop.app.unit_of_work() as uow:
        record = uow.payments.find(KEY)
    assert record is not None and record.status == "authorising"
    # Stripe back: the same key goes on and is authorised once.
    record = payments.authorise_once(
        stripe_shop.app.unit_of_work,
        stripe_shop.gateway,
        Decimal("12.50"),
        "USD",
        _details(),
        stripe_shop.clock.now(),
    )
    assert record.status == "authorised" and len(stripe_shop.intents()) == 1


def test_stripe_honours_a_repeated_idempotency_key_as_documented(
    localstripe: LocalStripe,
) -> None:
    """What the gateway also leans on at Stripe (https://docs.stripe.com/api/idempotent_requests):
    localstripe ignores the header; the launcher answers as Stripe documents when asked."""
    localstripe.honour_idempotency_keys()
    client = stripe.StripeClient(localstripe.secret_key, base_addresses={"api": localstripe.url})
    params: Any = {"amount": 500, "currency": "usd"}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k"})
    again = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k"})
    assert again.id == first.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            params={"amount": 600, "currency": "usd"}, options={"idempotency_key": "k"}
        )


def _intent(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "pi_documented",
        "object": "payment_intent",
        "amount": 1250,
        "currency": "usd",
        "capture_method": "manual",
        "status": status,
        **extra,
    }


def test_three_d_secure_off_session_is_a_decline_that_says_why(stripe_shop: StripeShop) -> None:
    """Stripe answers an off-session confirm that needs 3-D Secure with 402
    `authentication_required` and the intent in `requires_payment_method`
    (https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method; error
    object: https://docs.stripe.com/api/errors). Hand-built from those pages; localstripe
    answers 200 `requires_action` instead (tested below)."""
    stripe_shop.with_card()
    error = {
        "error": {
            "type": "card_error",
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "message": "Your card was declined. This transaction requires authentication.",
            "payment_intent": _intent("requires_payment_method"),
        }
    }
    documented = DocumentedStripe(
        {
            ("POST", "/v1/payment_intents"): (200, _intent("requires_confirmation")),
            ("POST", "/v1/payment_intents/pi_documented/confirm"): (402, error),
        }
    )
    client = stripe.StripeClient("sk_test_x", http_client=documented)
    gateway = StripeGateway(client, stripe_shop.app.unit_of_work, stripe_shop.clock)
    answer = gateway.authorise(Decimal("12.50"), "USD", _details())
    assert not answer.approved and answer.message == AUTHENTICATION_NEEDED


def test_localstripe_s_requires_action_is_the_same_decline_and_cancels_the_hold(
    stripe_shop: StripeShop,
) -> None:
    stripe_shop.with_card()
    documented = DocumentedStripe(
        {
            ("POST", "/v1/payment_intents"): (200, _intent("requires_confirmation")),
            ("POST", "/v1/payment_intents/pi_documented/confirm"): (
                200,
                _intent("requires_action", next_action={"type": "use_stripe_sdk"}),
            ),
            ("POST", "/v1/payment_intents/pi_documented/cancel"): (200, _intent("canceled")),
        }
    )
    client = stripe.StripeClient("sk_test_x", http_client=documented)
    gateway = StripeGateway(client, stripe_shop.app.unit_of_work, stripe_shop.clock)
    answer = gateway.authorise(Decimal("12.50"), "USD", _details())
    assert not answer.approved and answer.message == AUTHENTICATION_NEEDED
    assert ("POST", "/v1/payment_intents/pi_documented/cancel") in documented.asked


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.50", "USD", 1250), ("1000", "JPY", 1000), ("1.234", "KWD", 1234), ("0.1", "eur", 10)],
)
def test_amounts_go_to_stripe_in_the_currency_s_smallest_unit(
    amount: str, currency: str, minor: int
) -> None:
    assert minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize(("amount", "currency"), [("12.505", "USD"), ("10.5", "JPY"), ("0", "USD")])
def test_an_amount_finer_than_the_currency_is_refused_not_rounded(
    amount: str, currency: str
) -> None:
    with pytest.raises(ValueError):
        minor_units(Decimal(amount), currency)
