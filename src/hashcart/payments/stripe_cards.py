"""A shopper's saved card at Stripe: their Stripe customer (one per hashcart account), a
SetupIntent for the account page's card form, and the saved card hashcart keeps (the payment
method's id, brand and last four digits; the number only ever reaches Stripe).

https://docs.stripe.com/payments/save-and-reuse: create a customer, a SetupIntent on it;
Stripe's own script (Stripe.js) collects the card and confirms the SetupIntent in the
browser; the succeeded SetupIntent names the saved PaymentMethod.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import stripe

from hashcart.errors import HashcartError
from hashcart.payments.stripe_client import GATEWAY, StripeUnreachable, brand_name
from hashcart.ports import CleanupRefused, Clock, SavedPaymentMethod, UnitsOfWork

# Stripe's test PaymentMethods by card number, for scripts and the demo
# (https://docs.stripe.com/testing#cards, "PaymentMethod" column). The number itself never
# goes to Stripe from the server: only these ids do.
TEST_PAYMENT_METHODS = {
    "4242424242424242": "pm_card_visa",
    "4000056655665556": "pm_card_visa_debit",
    "5555555555554444": "pm_card_mastercard",
    "2223003122003222": "pm_card_mastercard",
    "5200828282828210": "pm_card_mastercard_debit",
    "5105105105105100": "pm_card_mastercard_prepaid",
    "378282246310005": "pm_card_amex",
    "371449635398431": "pm_card_amex",
    "6011111111111117": "pm_card_discover",
    "3056930009020004": "pm_card_diners",
    "3566002020360505": "pm_card_jcb",
    "6200000000000005": "pm_card_unionpay",
    # Declined when attached (generic decline) / attached, then declined when charged.
    "4000000000000002": "pm_card_visa_chargeDeclined",
    "4000000000000341": "pm_card_chargeCustomerFail",
}
_ID = re.compile(r"[A-Za-z0-9_]{1,200}")


class CardNotSaved(HashcartError, ValueError):
    """Stripe refused the card, or the SetupIntent is not the shopper's or not done; the
    message is for the shopper."""


@dataclass(frozen=True)
class CardSetup:
    """What the account page's card form needs: the SetupIntent's client secret."""

    setup_intent_id: str
    client_secret: str


class StripeCards:
    def __init__(self, client: stripe.StripeClient, units: UnitsOfWork, clock: Clock) -> None:
        self.client = client
        self.units = units
        self.clock = clock

    def customer_for(self, customer_id: int, email: str) -> str:
        """The shopper's Stripe customer, made on first need. The request's Idempotency-Key
        names the account, so two first needs at once make one customer at Stripe (and the
        record's insert-or-keep makes one here either way)."""
        with self.units() as uow:
            known = uow.gateway_records.provider_customer(customer_id, GATEWAY)
        if known is not None:
            return known
        made = self._call(
            lambda: self.client.v1.customers.create(
                params={"email": email, "metadata": {"hashcart_customer": str(customer_id)}},
                options={"idempotency_key": f"hashcart-customer-{customer_id}"},
            )
        )
        with self.units() as uow:
            return uow.gateway_records.keep_provider_customer(
                customer_id, GATEWAY, made.id, self.clock.now()
            )

    def start_setup(self, customer_id: int, email: str) -> CardSetup:
        """A SetupIntent for saving a card to use later without the shopper present."""
        customer = self.customer_for(customer_id, email)
        intent = self._call(
            lambda: self.client.v1.setup_intents.create(
                params={"customer": customer, "usage": "off_session"}
            )
        )
        return CardSetup(intent.id, intent.client_secret)

    def finish_setup(self, customer_id: int, setup_intent_id: str) -> SavedPaymentMethod:
        """Keep the card a succeeded SetupIntent of the shopper's own customer saved. Asked
        of Stripe, never taken from the browser: the browser only says which intent."""
        if not _ID.fullmatch(setup_intent_id) or not setup_intent_id.startswith("seti_"):
            raise CardNotSaved("That is not a card setup of this shop.")
        with self.units() as uow:
            customer = uow.gateway_records.provider_customer(customer_id, GATEWAY)
        try:
            intent = self._call(lambda: self.client.v1.setup_intents.retrieve(setup_intent_id))
        except stripe.InvalidRequestError as missing:
            raise CardNotSaved("That is not a card setup of this shop.") from missing
        if customer is None or intent.customer != customer:
            raise CardNotSaved("That is not a card setup of this shop.")
        if intent.status != "succeeded" or not intent.payment_method:
            raise CardNotSaved("The card was not saved: Stripe has not confirmed it.")
        method_id = intent.payment_method
        if not isinstance(method_id, str):
            method_id = method_id.id
        return self._keep(customer_id, customer, method_id)

    def save_test_card(self, customer_id: int, email: str, number: str) -> SavedPaymentMethod:
        """Attach Stripe's test PaymentMethod for a test card number (scripts, the demo)."""
        test_method = TEST_PAYMENT_METHODS.get(number)
        if test_method is None:
            raise CardNotSaved(
                "Stripe has no test payment method for that number; use a test card such "
                "as 4242 4242 4242 4242."
            )
        customer = self.customer_for(customer_id, email)
        return self._keep(customer_id, customer, test_method)

    def _keep(self, customer_id: int, customer: str, method_id: str) -> SavedPaymentMethod:
        """Attach the method to the customer where it is not yet (a succeeded SetupIntent
        attaches it at Stripe; localstripe leaves it loose) and keep its brand and last 4.
        A card the shopper removed (or replaced) is never kept again: a late or replayed
        `setup_intent.succeeded` for it would otherwise make it chargeable once more."""
        with self.units() as uow:
            removed = uow.gateway_records.cleanup_known(GATEWAY, "detach_payment_method", method_id)
        if removed:
            raise CardNotSaved("That card was removed; save a card again to use one.")
        try:
            method = self._call(lambda: self.client.v1.payment_methods.retrieve(method_id))
            if getattr(method, "customer", None) != customer:
                method = self._call(
                    lambda: self.client.v1.payment_methods.attach(
                        method.id, params={"customer": customer}
                    )
                )
        except stripe.CardError as declined:
            raise CardNotSaved(declined.user_message or "The card was declined.") from declined
        except stripe.InvalidRequestError as refused:
            raise CardNotSaved(refused.user_message or "Stripe refused the card.") from refused
        card: Any = method.card
        saved = SavedPaymentMethod(
            customer_id=customer_id,
            gateway=GATEWAY,
            method_id=method.id,
            brand=brand_name(card.brand),
            last4=str(card.last4),
            saved_at=self.clock.now(),
        )
        with self.units() as uow:
            replaced = uow.gateway_records.saved_method(customer_id)
            uow.gateway_records.save_method(saved)
            # The card it replaces is of no use to the shop any more: owed a detachment,
            # which the payment sweep asks Stripe for (services/saved_cards).
            if (
                replaced is not None
                and replaced.gateway == GATEWAY
                and replaced.method_id != saved.method_id
            ):
                uow.gateway_records.owe_cleanup(
                    GATEWAY, "detach_payment_method", replaced.method_id, self.clock.now()
                )
        return saved

    # -- ports.ProviderCleaner: forgetting a removed card, a deleted shopper ---------------

    def detach_payment_method(self, method_id: str) -> None:
        """Detach the card from its customer: it can never be charged or attached again
        (https://docs.stripe.com/api/payment_methods/detach). Stripe refuses to detach a
        card attached to no customer (400) or unknown (404): either way it is detached."""
        try:
            self._call(lambda: self.client.v1.payment_methods.detach(method_id))
        except stripe.InvalidRequestError as refused:
            if self._still_attached(method_id):
                raise CleanupRefused(f"Stripe refused to detach the card: {refused}") from refused
        except stripe.StripeError as refused:
            raise CleanupRefused(f"Stripe refused to detach the card: {refused}") from refused

    def delete_customer(self, provider_id: str) -> None:
        """Delete the shopper's Stripe customer (https://docs.stripe.com/api/customers/delete).
        A customer Stripe does not know (404 `resource_missing`: deleted already) is done."""
        try:
            self._call(lambda: self.client.v1.customers.delete(provider_id))
        except stripe.InvalidRequestError as refused:
            if refused.http_status != 404:
                raise CleanupRefused(
                    f"Stripe refused to delete the customer: {refused}"
                ) from refused
        except stripe.StripeError as refused:
            raise CleanupRefused(f"Stripe refused to delete the customer: {refused}") from refused

    def _still_attached(self, method_id: str) -> bool:
        try:
            method = self._call(lambda: self.client.v1.payment_methods.retrieve(method_id))
        except stripe.InvalidRequestError as missing:
            return missing.http_status != 404
        return getattr(method, "customer", None) is not None

    @staticmethod
    def _call(request: Any) -> Any:
        try:
            return request()
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as lost:
            raise StripeUnreachable(f"Stripe did not answer: {lost.user_message}") from lost
