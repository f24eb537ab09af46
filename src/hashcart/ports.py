"""Ports: the Protocols the use cases own and the adapters implement, with their small value
types. Adapters depend on these and on `domain`, never on each other.

Each port has its own section, so changes to one do not touch the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

# --- payments (issue 10, part 5): PaymentGateway --------------------------------------
#
# A payment is authorised (the money is held or promised), then captured once the order
# exists, or voided when it cannot be placed; a captured payment can be refunded. Every
# step is keyed by hashcart's own idempotency key, the checkout form's key: a gateway must
# answer the same key and step with the same outcome and never move money twice for it
# (real gateways take it as their idempotency key). hashcart also keeps its own record of
# key -> authorisation (services/payments.py), so a retried checkout does not ask again.


@dataclass(frozen=True)
class PaymentDetails:
    """What the checkout form sent for the payment step, and the facts a gateway needs."""

    fields: Mapping[str, str]
    idempotency_key: str
    today: date
    customer_email: str = ""


@dataclass(frozen=True)
class Authorisation:
    """A gateway's answer to "may we take this amount?"."""

    approved: bool
    reference: str
    # For the shopper: why a payment was declined, or how to pay (invoice).
    message: str
    # True when capturing takes the money (card), False when it is owed (invoice).
    paid: bool = False


@dataclass(frozen=True)
class AuthorisedPayment:
    """An earlier approved authorisation, as a gateway needs it to capture, void or refund."""

    idempotency_key: str
    reference: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PaymentStep:
    """The outcome of a capture, void or refund: done, or refused with the gateway's reason."""

    done: bool
    message: str


class PaymentGateway(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def fields(self) -> tuple[str, ...]:
        """The form fields this gateway reads (the checkout page shows them for it)."""
        ...

    def authorise(
        self, amount: Decimal, currency: str, details: PaymentDetails
    ) -> Authorisation: ...

    def capture(self, payment: AuthorisedPayment) -> PaymentStep: ...

    def void(self, payment: AuthorisedPayment) -> PaymentStep: ...

    def refund(self, payment: AuthorisedPayment, amount: Decimal) -> PaymentStep: ...


# --- end of payments -------------------------------------------------------------------
