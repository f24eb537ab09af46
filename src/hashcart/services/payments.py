"""Payment gateways, the two that come built in, and the steps of one checkout's payment.

A gateway (`hashcart.ports.PaymentGateway`) authorises an amount against what the shopper
typed, then captures it once the order exists, voids it when the order cannot be placed,
and refunds a captured one. Every step is keyed by the checkout form's key, and hashcart
keeps its own record of key -> authorisation (`store.payments`): a retried checkout finds the
authorisation it got instead of asking again, so it never charges twice. Card numbers are
never stored: references keep the last four digits at most.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from hashcart.errors import HashcartError
from hashcart.ports import (
    Authorisation,
    AuthorisedPayment,
    PaymentDetails,
    PaymentGateway,
    PaymentRecord,
    PaymentStep,
    SavedPaymentMethod,
    UnitsOfWork,
)
from hashcart.services import payment_steps

log = logging.getLogger(__name__)

# The gateway's answer to an authorisation, under the name checkout always used for it.
PaymentResult = Authorisation


def _key_code(key: str) -> str:
    """A short, stable code for a checkout key: the same key gives the same reference."""
    return hashlib.sha256(key.encode()).hexdigest()[:8].upper()


@dataclass(frozen=True)
class InvoiceGateway:
    """Pay on invoice: always approved; the order is placed and paid later."""

    name: str = "invoice"
    label: str = "Pay on invoice (within 14 days)"
    fields: tuple[str, ...] = ()

    def authorise(self, amount: Decimal, currency: str, details: PaymentDetails) -> Authorisation:
        reference = f"INV-{details.today:%Y%m%d}-{_key_code(details.idempotency_key)}"
        return Authorisation(
            approved=True,
            reference=reference,
            message=f"We will email an invoice; quote {reference} when you pay.",
            paid=False,
        )

    def capture(self, payment: AuthorisedPayment) -> PaymentStep:
        return PaymentStep(True, f"Invoice {payment.reference} is owed.")

    def void(self, payment: AuthorisedPayment) -> PaymentStep:
        return PaymentStep(True, f"Invoice {payment.reference} is cancelled.")

    def refund(self, payment: AuthorisedPayment, amount: Decimal) -> PaymentStep:
        return PaymentStep(True, f"A credit note for {amount} {payment.currency} is issued.")


# The well-known test numbers (Stripe's and the card schemes' published ones).
TEST_CARDS_APPROVED: Mapping[str, str] = {
    "4242424242424242": "Visa",
    "4000056655665556": "Visa (debit)",
    "4012888888881881": "Visa",
    "5555555555554444": "Mastercard",
    "2223003122003222": "Mastercard (2-series)",
    "5200828282828210": "Mastercard (debit)",
    "5105105105105100": "Mastercard (prepaid)",
    "378282246310005": "American Express",
    "371449635398431": "American Express",
    "6011111111111117": "Discover",
    "6011000990139424": "Discover",
    "3056930009020004": "Diners Club",
    "36227206271667": "Diners Club (14 digits)",
    "3566002020360505": "JCB",
    "6200000000000005": "UnionPay",
}
# Test numbers that exist to be declined, with what a real gateway would say.
TEST_CARDS_DECLINED: Mapping[str, str] = {
    "4000000000000002": "The card was declined.",
    "4000000000009995": "The card was declined: insufficient funds.",
    "4000000000009987": "The card was declined: it was reported lost.",
    "4000000000009979": "The card was declined: it was reported stolen.",
    "4000000000000069": "The card was declined: it has expired.",
    "4000000000000127": "The card was declined: the security code is wrong.",
}

_EXPIRY = re.compile(r"(0[1-9]|1[0-2])\s*/\s*([0-9]{2}|[0-9]{4})")


def luhn_valid(digits: str) -> bool:
    """The check digit every card number carries (ISO/IEC 7812)."""
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _expiry_problem(text: str, today: date) -> str | None:
    found = _EXPIRY.fullmatch(text.strip())
    if found is None:
        return "Enter the card's expiry date as MM/YY."
    month, year = int(found.group(1)), int(found.group(2))
    if year < 100:
        year += 2000
    if (year, month) < (today.year, today.month):
        return "The card has expired: check the expiry date."
    return None


@dataclass(frozen=True)
class TestCardGateway:
    """A card gateway for demos and tests: approves the well-known test numbers (Luhn-valid,
    with a future expiry and a CVC) and declines every other number, saying why."""

    __test__ = False  # a gateway, not a pytest test class

    name: str = "test_card"
    label: str = "Card (test mode)"
    fields: tuple[str, ...] = ("card_number", "card_expiry", "card_cvc")
    approved_numbers: Mapping[str, str] = field(default_factory=lambda: TEST_CARDS_APPROVED)

    def authorise(self, amount: Decimal, currency: str, details: PaymentDetails) -> Authorisation:
        saved = details.fields.get("saved_method", "")
        if saved and not details.fields.get("card_number"):
            return _authorise_saved_test_card(saved, details.idempotency_key)
        number = re.sub(r"[\s-]", "", details.fields.get("card_number", ""))
        if not luhn_valid(number):
            return _declined("That card number is not valid: check the digits.")
        expiry_problem = _expiry_problem(details.fields.get("card_expiry", ""), details.today)
        if expiry_problem:
            return _declined(expiry_problem)
        cvc = details.fields.get("card_cvc", "").strip()
        cvc_length = 4 if number.startswith(("34", "37")) else 3
        if not (cvc.isdigit() and len(cvc) == cvc_length):
            return _declined(f"Enter the card's {cvc_length}-digit security code (CVC).")
        if number in TEST_CARDS_DECLINED:
            return _declined(TEST_CARDS_DECLINED[number])
        brand = self.approved_numbers.get(number)
        if brand is None:
            return _declined(
                "The card was declined: this shop takes test cards only, "
                "such as 4242 4242 4242 4242."
            )
        reference = f"CARD-{number[-4:]}-{_key_code(details.idempotency_key)}"
        return Authorisation(
            approved=True,
            reference=reference,
            message=f"Paid by {brand} ending in {number[-4:]}.",
            paid=True,
        )

    # Test mode moves no money: an approved authorisation is always captured, voided or
    # refunded as asked.
    def capture(self, payment: AuthorisedPayment) -> PaymentStep:
        return PaymentStep(True, f"{payment.amount} {payment.currency} captured.")

    def void(self, payment: AuthorisedPayment) -> PaymentStep:
        return PaymentStep(True, "The authorisation is cancelled; nothing was charged.")

    def refund(self, payment: AuthorisedPayment, amount: Decimal) -> PaymentStep:
        return PaymentStep(True, f"{amount} {payment.currency} refunded.")


def _declined(message: str) -> Authorisation:
    return Authorisation(approved=False, reference="", message=message, paid=False)


# --- a saved test card (issue 12): `payment-methods add` without Stripe ------------------
#
# The test-card gateway keeps a shopper's test card as an id naming its brand and last four
# digits (`tc_visa_4242`), never the number; a payment with `saved_method` set to it is
# approved as the number would be. Stripe's saved cards are payments/stripe_cards'.


class CardRefused(HashcartError, ValueError):
    """The card cannot be saved; the message is for whoever typed it (never the number)."""


def _slug(brand: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", brand.lower()).strip("_")


def _test_card_ids() -> dict[str, tuple[str, str]]:
    """Saved-method id -> (brand, last four) for every approved test number."""
    return {
        f"tc_{_slug(brand)}_{number[-4:]}": (brand.split(" (")[0], number[-4:])
        for number, brand in TEST_CARDS_APPROVED.items()
    }


def save_test_card(
    units: UnitsOfWork, customer_id: int, number: str, now: datetime
) -> SavedPaymentMethod:
    """Keep a test card as the shopper's saved payment method (for scripts and the demo):
    declined test numbers are refused with their reason, as a real gateway would."""
    digits = re.sub(r"[\s-]", "", number)
    if not luhn_valid(digits):
        raise CardRefused("That card number is not valid: check the digits.")
    if digits in TEST_CARDS_DECLINED:
        raise CardRefused(TEST_CARDS_DECLINED[digits])
    brand = TEST_CARDS_APPROVED.get(digits)
    if brand is None:
        raise CardRefused(
            "The test-card gateway takes test cards only, such as 4242 4242 4242 4242."
        )
    saved = SavedPaymentMethod(
        customer_id=customer_id,
        gateway=TestCardGateway.name,
        method_id=f"tc_{_slug(brand)}_{digits[-4:]}",
        brand=brand.split(" (")[0],
        last4=digits[-4:],
        saved_at=now,
    )
    with units() as uow:
        uow.gateway_records.save_method(saved)
    return saved


def _authorise_saved_test_card(method_id: str, key: str) -> Authorisation:
    known = _test_card_ids().get(method_id)
    if known is None:
        return _declined("That saved card is not a test card of this shop.")
    brand, last4 = known
    return Authorisation(
        approved=True,
        reference=f"CARD-{last4}-{_key_code(key)}",
        message=f"Paid by {brand} ending in {last4}.",
        paid=True,
    )


GATEWAYS: dict[str, PaymentGateway] = {
    gateway.name: gateway for gateway in (TestCardGateway(), InvoiceGateway())
}


def gateway_named(name: str) -> PaymentGateway | None:
    return GATEWAYS.get(name)


# An order an offer pays for in full (issue 12): nothing is authorised and no gateway is
# asked (an authorisation of 0.00 is a charge record with no money in it, and Stripe refuses
# amounts under its minimum), the order is paid as placed, and this name on it says so.
NO_CHARGE = "no_charge"
NO_CHARGE_LABEL = "No charge: the offer covers the whole order"


def nothing_to_pay(amount: Decimal) -> bool:
    """Whether an order's amount to pay is nothing (its offer covers the whole total)."""
    return amount <= 0


def no_charge(key: str) -> Authorisation:
    """The payment of an order with nothing to pay: paid, no gateway asked."""
    return Authorisation(
        approved=True,
        reference=f"FREE-{_key_code(key)}",
        message="No charge was needed: the offer covers the whole total.",
        paid=True,
    )


def payment_label(name: str, gateways: Mapping[str, PaymentGateway]) -> str:
    """How pages name an order's payment: its gateway's label, or that nothing was charged."""
    if name == NO_CHARGE:
        return NO_CHARGE_LABEL
    gateway = gateways.get(name)
    return gateway.label if gateway is not None else name


# one checkout's payment: authorise, capture, void, refund ----------------------------------


def authorise_once(
    units: UnitsOfWork,
    gateway: PaymentGateway,
    amount: Decimal,
    currency: str,
    details: PaymentDetails,
    now: datetime,
) -> PaymentRecord:
    """The checkout key's authorisation: the one recorded for it, or the gateway's answer
    now. The gateway is asked outside any transaction. Once an answer is recorded the key
    never asks again; a request that finds an authorisation under way (a twin submit, or
    one that crashed before the answer was recorded) asks with the same key, which the
    gateway answers with the same authorisation."""
    key = details.idempotency_key
    with units() as uow:
        record = uow.payments.start(key, gateway.name, amount, currency, now)
    if record.answered:
        return record
    answer = gateway.authorise(amount, currency, details)
    with units() as uow:
        return uow.payments.record_authorisation(key, answer, now)


def capture(units: UnitsOfWork, gateway: PaymentGateway, checkout_key: str, now: datetime) -> bool:
    """Take the authorised money for the order now placed; False (logged, the reason kept on
    the record for the merchant) when the gateway refused or did not answer: the capture
    stays owed and the payment sweep asks again (services/payment_steps). Captured once per
    key."""
    with units() as uow:
        record = uow.payments.find(checkout_key)
    if record is None or record.status != "authorised":
        return record is not None and record.status == "captured"
    if record.pending_step == "void":
        return False  # its order could not be placed: it is being cancelled
    return payment_steps.attempt(units, _gateway_of(record, gateway), record, "capture", now)


def void(units: UnitsOfWork, gateway: PaymentGateway, checkout_key: str, now: datetime) -> bool:
    """Cancel the key's authorisation (its order could not be placed). True when nothing is
    charged: voided now or before, declined, or never authorised; False when the gateway
    refused to void or did not answer (the void stays owed and the payment sweep asks
    again), or the money was captured or is owed to an order (then it needs a refund)."""
    with units() as uow:
        record = uow.payments.find(checkout_key)
        if record is None or record.status in ("declined", "voided"):
            return True
        if record.status != "authorised":
            return False
        # Owed from now on, so a crash before the gateway answers still ends in a void; and
        # an order can no longer be placed on this authorisation (checkout.place_order).
        if not uow.payments.owe(checkout_key, "void", now + payment_steps.REQUEST_GRACE):
            return False  # an order is linked: its capture is owed, not a void
    return payment_steps.attempt(units, _gateway_of(record, gateway), record, "void", now)


def _gateway_of(record: PaymentRecord, chosen: PaymentGateway) -> PaymentGateway:
    """The gateway that authorised the record (the one the request chose, normally)."""
    if record.gateway == chosen.name:
        return chosen
    return gateway_named(record.gateway) or chosen


@dataclass(frozen=True)
class Refund:
    done: bool
    message: str


def refund_order(
    units: UnitsOfWork,
    order_id: int,
    now: datetime,
    gateways: Mapping[str, PaymentGateway] | None = None,
) -> Refund:
    """Give back the whole captured amount of an order, through the gateway that took it
    (among `gateways`, the application's; the built-in ones by default); the payment and
    the order then say `refunded`. A second refund does nothing."""
    with units() as uow:
        record = uow.payments.of_order(order_id)
    if record is None:
        return Refund(False, f"Order #{order_id} has no payment on record (nothing was charged).")
    if record.status == "refunded":
        return Refund(True, f"Order #{order_id} was refunded already.")
    if record.status != "captured":
        return Refund(False, f"Order #{order_id}'s payment is {record.status}, not captured.")
    gateway = (gateways or GATEWAYS).get(record.gateway)
    if gateway is None:
        return Refund(False, f"The gateway {record.gateway!r} is not available.")
    step = gateway.refund(record.authorised, record.amount)
    with units() as uow:
        if not step.done:
            refusal = f"refund refused: {step.message}"
            uow.payments.note_refusal(record.checkout_key, refusal, now)
            return Refund(False, step.message)
        if uow.payments.move(record.checkout_key, expected={"captured"}, to="refunded", now=now):
            uow.orders.set_status(order_id, "refunded")
    return Refund(True, step.message)


__all__ = [
    "GATEWAYS",
    "NO_CHARGE",
    "Authorisation",
    "AuthorisedPayment",
    "CardRefused",
    "InvoiceGateway",
    "PaymentDetails",
    "PaymentGateway",
    "PaymentResult",
    "PaymentStep",
    "Refund",
    "TestCardGateway",
    "authorise_once",
    "capture",
    "gateway_named",
    "no_charge",
    "nothing_to_pay",
    "payment_label",
    "refund_order",
    "save_test_card",
    "void",
]
