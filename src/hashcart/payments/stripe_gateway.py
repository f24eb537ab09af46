"""The Stripe gateway (ports.PaymentGateway): the shopper's saved card, charged off session
through a PaymentIntent with manual capture (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method).

authorise: a PaymentIntent for the amount, on the shopper's Stripe customer and saved
payment method, `capture_method=manual`; its id is recorded under the checkout key
(GatewayRecords.keep_intent) BEFORE it is confirmed `off_session`, so no money is held
under an id hashcart could lose. A retry of the key finds the recorded intent and asks its
state instead of creating another: a retry never holds money twice, even where the provider
forgets the Idempotency-Key (localstripe does; Stripe keeps keys 24 hours,
https://docs.stripe.com/api/idempotent_requests). Every request carries the key, one suffix
per step, as its Idempotency-Key too.
capture, void (cancel) and refund act on the intent named by the authorisation's reference.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe

from hashcart.payments.stripe_client import (
    GATEWAY,
    StripeUnreachable,
    minor_units,
)
from hashcart.ports import (
    Authorisation,
    AuthorisedPayment,
    Clock,
    PaymentDetails,
    PaymentStep,
    SavedPaymentMethod,
    UnitsOfWork,
)

log = logging.getLogger(__name__)

# What the shopper reads when Stripe wants them present to authenticate (3-D Secure) a
# payment made without them (https://docs.stripe.com/payments/3d-secure/authentication-flow).
AUTHENTICATION_NEEDED = (
    "Your bank wants you to confirm this payment yourself, which cannot be done here. "
    "Pay on the web with the card instead."
)
NO_SAVED_CARD = "You have no saved card yet: save one on your account page first."


@dataclass(frozen=True)
class _Charging:
    provider_customer: str
    method: SavedPaymentMethod


class StripeGateway:
    """Stripe behind the payment port; `test_card` and `invoice` stay beside it."""

    name = GATEWAY
    label = "Saved card (Stripe)"
    fields: tuple[str, ...] = ()  # the card is saved on the account page, not typed here

    def __init__(self, client: stripe.StripeClient, units: UnitsOfWork, clock: Clock) -> None:
        self.client = client
        self.units = units
        self.clock = clock

    # authorise ---------------------------------------------------------------------------

    def authorise(self, amount: Decimal, currency: str, details: PaymentDetails) -> Authorisation:
        charging = self._charging(details)
        if charging is None:
            return _declined(NO_SAVED_CARD)
        key = details.idempotency_key
        try:
            minor = minor_units(amount, currency)
        except ValueError as problem:
            return _declined(f"This amount cannot be charged: {problem}.")
        with self.units() as uow:
            recorded = uow.gateway_records.intent_of(key)
        try:
            if recorded is None:
                intent = self._create(key, minor, currency, charging)
            else:
                intent = self.client.v1.payment_intents.retrieve(recorded)
            if intent.status == "requires_confirmation":
                intent = self._confirm(intent.id, key)
        except stripe.CardError as declined:
            return _declined(_card_error_message(declined))
        except (stripe.APIConnectionError, stripe.RateLimitError) as lost:
            raise StripeUnreachable(f"Stripe did not answer: {lost.user_message}") from lost
        except stripe.APIError as failed:
            raise StripeUnreachable(f"Stripe failed: {failed.user_message}") from failed
        return self._answer(intent, charging.method, key)

    def _charging(self, details: PaymentDetails) -> _Charging | None:
        """The shopper's saved Stripe card and Stripe customer, if they have both."""
        with self.units() as uow:
            records = uow.gateway_records
            customer_id = records.customer_with_email(details.customer_email)
            if customer_id is None:
                return None
            method = records.saved_method(customer_id)
            provider_customer = records.provider_customer(customer_id, GATEWAY)
        if method is None or method.gateway != GATEWAY or provider_customer is None:
            return None
        return _Charging(provider_customer, method)

    def _create(self, key: str, minor: int, currency: str, charging: _Charging) -> Any:
        """A new, unconfirmed intent, recorded under the key before anything is held. A twin
        request that recorded its own first wins; this one's intent is cancelled unused."""
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": minor,
                "currency": currency.lower(),
                "customer": charging.provider_customer,
                "payment_method": charging.method.method_id,
                "capture_method": "manual",
                "metadata": {"hashcart_key": key},
            },
            options={"idempotency_key": key},
        )
        with self.units() as uow:
            kept = uow.gateway_records.keep_intent(key, GATEWAY, intent.id, self.clock.now())
        if kept == intent.id:
            return intent
        self._cancel_quietly(intent.id, f"{key}:twin")
        return self.client.v1.payment_intents.retrieve(kept)

    def _confirm(self, intent_id: str, key: str) -> Any:
        """Confirm off session (the shopper is not there: https://docs.stripe.com/payments/
        save-and-reuse#charge-saved-payment-method). A twin that confirmed first makes
        Stripe refuse the state; then the intent's state is the answer."""
        try:
            return self.client.v1.payment_intents.confirm(
                intent_id,
                params={"off_session": True},
                options={"idempotency_key": f"{key}:confirm"},
            )
        except stripe.InvalidRequestError:
            intent = self.client.v1.payment_intents.retrieve(intent_id)
            if intent.status == "requires_confirmation":
                raise
            return intent

    def _answer(self, intent: Any, method: SavedPaymentMethod, key: str) -> Authorisation:
        status = intent.status
        if status in ("requires_capture", "succeeded"):
            return Authorisation(
                approved=True,
                reference=intent.id,
                message=f"Paid by {method.brand} ending in {method.last4}.",
                paid=True,
            )
        if status == "requires_action":
            # Stripe answers an off-session confirm that needs 3-D Secure with a 402
            # authentication_required; localstripe leaves the intent waiting instead.
            self._cancel_quietly(intent.id, f"{key}:void")
            return _declined(AUTHENTICATION_NEEDED)
        error = getattr(intent, "last_payment_error", None)
        message = getattr(error, "message", None) if error else None
        return _declined(message or f"The card was not charged (Stripe says {status}).")

    def _cancel_quietly(self, intent_id: str, idempotency_key: str) -> None:
        try:
            self.client.v1.payment_intents.cancel(
                intent_id, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as problem:
            log.warning("could not cancel Stripe PaymentIntent %s: %s", intent_id, problem)

    # capture, void, refund ---------------------------------------------------------------

    def capture(self, payment: AuthorisedPayment) -> PaymentStep:
        key = payment.idempotency_key
        try:
            self.client.v1.payment_intents.capture(
                payment.reference, options={"idempotency_key": f"{key}:capture"}
            )
        except stripe.StripeError as refused:
            if self._status_of(payment.reference) == "succeeded":  # captured before
                return PaymentStep(True, f"{payment.amount} {payment.currency} captured.")
            return PaymentStep(False, _message_of(refused))
        return PaymentStep(True, f"{payment.amount} {payment.currency} captured.")

    def void(self, payment: AuthorisedPayment) -> PaymentStep:
        key = payment.idempotency_key
        try:
            self.client.v1.payment_intents.cancel(
                payment.reference, options={"idempotency_key": f"{key}:void"}
            )
        except stripe.StripeError as refused:
            if self._status_of(payment.reference) == "canceled":
                return PaymentStep(True, "The authorisation is cancelled; nothing was charged.")
            return PaymentStep(False, _message_of(refused))
        return PaymentStep(True, "The authorisation is cancelled; nothing was charged.")

    def refund(self, payment: AuthorisedPayment, amount: Decimal) -> PaymentStep:
        try:
            minor = minor_units(amount, payment.currency)
        except ValueError as problem:
            return PaymentStep(False, str(problem))
        try:
            self.client.v1.refunds.create(
                params={"payment_intent": payment.reference, "amount": minor},
                options={"idempotency_key": f"{payment.idempotency_key}:refund:{minor}"},
            )
        except stripe.StripeError as refused:
            return PaymentStep(False, _message_of(refused))
        return PaymentStep(True, f"{amount} {payment.currency} refunded.")

    def _status_of(self, intent_id: str) -> str | None:
        try:
            status: str = self.client.v1.payment_intents.retrieve(intent_id).status
        except stripe.StripeError:
            return None
        return status


def _declined(message: str) -> Authorisation:
    return Authorisation(approved=False, reference="", message=message, paid=False)


def _card_error_message(error: stripe.CardError) -> str:
    """Stripe's card-error messages are written for the shopper
    (https://docs.stripe.com/declines#showing-decline-messages); 3-D Secure has its own."""
    if error.code == "authentication_required":
        return AUTHENTICATION_NEEDED
    return error.user_message or "The card was declined."


def _message_of(error: stripe.StripeError) -> str:
    return error.user_message or type(error).__name__
