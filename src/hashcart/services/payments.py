"""Payment gateways behind one small interface, and the two that come built in.

A gateway takes an amount and what the shopper typed and says yes or no, with a reference
for the order. `details.idempotency_key` is the checkout form's key: a gateway must answer
the same key with the same charge (real gateways take it as their idempotency key), so a
double submit never charges twice. Card numbers are never stored: references keep the last
four digits at most.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class PaymentDetails:
    """What the checkout form sent for the payment step, and the facts a gateway needs."""

    fields: Mapping[str, str]
    idempotency_key: str
    today: date
    customer_email: str = ""


@dataclass(frozen=True)
class PaymentResult:
    approved: bool
    reference: str
    # For the shopper: why a payment was declined, or how to pay (invoice).
    message: str
    # True when the money is taken now (card), False when it is owed (invoice).
    paid: bool = False


class PaymentGateway(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def fields(self) -> tuple[str, ...]:
        """The form fields this gateway reads (the checkout page shows them for it)."""
        ...

    def charge(self, amount: Decimal, currency: str, details: PaymentDetails) -> PaymentResult: ...


def _key_code(key: str) -> str:
    """A short, stable code for a checkout key: the same key gives the same reference."""
    return hashlib.sha256(key.encode()).hexdigest()[:8].upper()


@dataclass(frozen=True)
class InvoiceGateway:
    """Pay on invoice: always approved; the order is placed and paid later."""

    name: str = "invoice"
    label: str = "Pay on invoice (within 14 days)"
    fields: tuple[str, ...] = ()

    def charge(self, amount: Decimal, currency: str, details: PaymentDetails) -> PaymentResult:
        reference = f"INV-{details.today:%Y%m%d}-{_key_code(details.idempotency_key)}"
        return PaymentResult(
            approved=True,
            reference=reference,
            message=f"We will email an invoice; quote {reference} when you pay.",
            paid=False,
        )


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

    def charge(self, amount: Decimal, currency: str, details: PaymentDetails) -> PaymentResult:
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
        return PaymentResult(
            approved=True,
            reference=reference,
            message=f"Paid by {brand} ending in {number[-4:]}.",
            paid=True,
        )


def _declined(message: str) -> PaymentResult:
    return PaymentResult(approved=False, reference="", message=message, paid=False)


GATEWAYS: dict[str, PaymentGateway] = {
    gateway.name: gateway for gateway in (TestCardGateway(), InvoiceGateway())
}


def gateway_named(name: str) -> PaymentGateway | None:
    return GATEWAYS.get(name)
