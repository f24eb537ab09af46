"""Payments whose capture or void the gateway has not settled yet (payments.pending_step),
for the console's home page: those the payment sweep still asks about, and those it stopped
asking about, with the gateway's last answer (services/payment_steps)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from hashcart.store import schema as t

# The console shows a page of them at most; more than this is an outage, not a list.
SHOWN = 50


@dataclass(frozen=True)
class UnsettledPayment:
    order_id: int | None
    checkout_key: str
    gateway: str
    amount: Decimal
    currency: str
    step: str  # capture | void
    attempts: int
    last_error: str | None
    retry_at: datetime | None  # None: stopped, a person must look

    @property
    def stopped(self) -> bool:
        return self.retry_at is None


def unsettled_payments(connection: Connection) -> list[UnsettledPayment]:
    """Stopped ones first (they need the merchant), then by when they are asked again."""
    p = t.payments
    rows = connection.execute(
        select(p)
        .where(p.c.status == "authorised", p.c.pending_step.is_not(None))
        .order_by(p.c.retry_at.is_not(None), p.c.retry_at, p.c.id)
        .limit(SHOWN)
    ).all()
    return [
        UnsettledPayment(
            order_id=row.order_id,
            checkout_key=row.checkout_key,
            gateway=row.gateway,
            amount=Decimal(row.amount),
            currency=row.currency,
            step=row.pending_step,
            attempts=row.step_attempts,
            last_error=row.last_error,
            retry_at=row.retry_at,
        )
        for row in rows
    ]
