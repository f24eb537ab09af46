"""hashcart's record of each checkout's payment, keyed by the checkout key.

The gateways are asked outside any transaction; this record says before and after what was
asked and answered, so a retried checkout finds the authorisation instead of asking for a
second one. Every change of status names the status it expects to change (a compare and
set), so two requests racing over one key record each step once.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from hashcart.ports import Authorisation, PaymentRecord, PaymentStatus, PaymentStepName
from hashcart.store import schema as t
from hashcart.store.statements import insert_ignoring

__all__ = ["PaymentRecord", "PaymentStatus", "StoredPayments"]


def start(
    connection: Connection,
    checkout_key: str,
    gateway: str,
    amount: Decimal,
    currency: str,
    now: datetime,
) -> PaymentRecord:
    """The key's record, made `authorising` now if it had none."""
    connection.execute(
        insert_ignoring(connection.dialect.name, "payments"),
        {
            "checkout_key": checkout_key,
            "gateway": gateway,
            "amount": amount,
            "currency": currency,
            "status": "authorising",
            "reference": "",
            "message": "",
            "paid": False,
            "created_at": now,
            "updated_at": now,
        },
    )
    record = find(connection, checkout_key)
    assert record is not None
    return record


def record_authorisation(
    connection: Connection, checkout_key: str, answer: Authorisation, now: datetime
) -> PaymentRecord:
    """Write the gateway's answer unless another request wrote one first; the record."""
    connection.execute(
        update(t.payments)
        .where(t.payments.c.checkout_key == checkout_key, t.payments.c.status == "authorising")
        .values(
            status="authorised" if answer.approved else "declined",
            reference=answer.reference,
            message=answer.message,
            paid=answer.paid,
            updated_at=now,
        )
    )
    record = find(connection, checkout_key)
    assert record is not None
    return record


def move(
    connection: Connection,
    checkout_key: str,
    *,
    expected: Collection[PaymentStatus],
    to: PaymentStatus,
    now: datetime,
    order_id: int | None = None,
    error: str | None = None,
) -> bool:
    """Change the status from one of `expected` to `to`; False when it was not in one."""
    # A move settles whatever step was owed (the capture or void is done, or moot).
    values: dict[str, Any] = {
        "status": to,
        "updated_at": now,
        "last_error": error,
        "pending_step": None,
        "retry_at": None,
    }
    if order_id is not None:
        values["order_id"] = order_id
    changed = connection.execute(
        update(t.payments)
        .where(
            t.payments.c.checkout_key == checkout_key,
            t.payments.c.status.in_(list(expected)),
        )
        .values(**values)
        .returning(t.payments.c.id)
    ).first()
    return changed is not None


def link_order(connection: Connection, checkout_key: str, order_id: int) -> None:
    """The order the key's payment paid for (written in the order's transaction)."""
    connection.execute(
        update(t.payments)
        .where(t.payments.c.checkout_key == checkout_key)
        .values(order_id=order_id)
    )


def note_refusal(connection: Connection, checkout_key: str, error: str, now: datetime) -> None:
    """A capture, void or refund the gateway refused: the status stays, the reason shows."""
    connection.execute(
        update(t.payments)
        .where(t.payments.c.checkout_key == checkout_key)
        .values(last_error=error, updated_at=now)
    )


# capture and void, owed and retried ------------------------------------------------------

_p = t.payments


def owe(
    connection: Connection, checkout_key: str, step: PaymentStepName, retry_at: datetime
) -> bool:
    """Record `step` as owed on the authorised payment (see ports.PaymentRecords.owe)."""
    settled_order = _p.c.order_id.is_not(None) if step == "capture" else _p.c.order_id.is_(None)
    changed = connection.execute(
        update(_p)
        .where(
            _p.c.checkout_key == checkout_key,
            _p.c.status == "authorised",
            settled_order,
            or_(_p.c.pending_step.is_(None), _p.c.pending_step == step),
        )
        .values(pending_step=step, retry_at=retry_at)
        .returning(_p.c.id)
    ).first()
    return changed is not None


def step_failed(
    connection: Connection,
    checkout_key: str,
    step: PaymentStepName,
    error: str,
    now: datetime,
    retry_at: datetime | None,
) -> PaymentRecord:
    """One more refused (or unknown) attempt at `step`; ask again from `retry_at`."""
    connection.execute(
        update(_p)
        .where(_p.c.checkout_key == checkout_key, _p.c.status == "authorised")
        .values(
            pending_step=step,
            step_attempts=_p.c.step_attempts + 1,
            last_error=error,
            retry_at=retry_at,
            updated_at=now,
        )
    )
    record = find(connection, checkout_key)
    assert record is not None
    return record


def steps_due(connection: Connection, now: datetime, limit: int) -> list[PaymentRecord]:
    rows = connection.execute(
        select(_p)
        .where(
            _p.c.status == "authorised",
            _p.c.pending_step.is_not(None),
            _p.c.retry_at <= now,
        )
        .order_by(_p.c.retry_at, _p.c.id)
        .limit(limit)
    ).all()
    return [_record(row) for row in rows]


def claim_step(connection: Connection, checkout_key: str, now: datetime, until: datetime) -> bool:
    """Compare and set on `retry_at`: of two sweeps that read the same due step, one wins."""
    claimed = connection.execute(
        update(_p)
        .where(
            _p.c.checkout_key == checkout_key,
            _p.c.status == "authorised",
            _p.c.pending_step.is_not(None),
            _p.c.retry_at <= now,
        )
        .values(retry_at=until)
        .returning(_p.c.id)
    ).first()
    return claimed is not None


def restart_stopped(connection: Connection, now: datetime) -> int:
    restarted = connection.execute(
        update(_p)
        .where(
            and_(
                _p.c.status == "authorised",
                _p.c.pending_step.is_not(None),
                _p.c.retry_at.is_(None),
            )
        )
        .values(retry_at=now, step_attempts=0, updated_at=now)
        .returning(_p.c.id)
    ).all()
    return len(restarted)


def find(connection: Connection, checkout_key: str) -> PaymentRecord | None:
    row = connection.execute(
        select(t.payments).where(t.payments.c.checkout_key == checkout_key)
    ).first()
    return None if row is None else _record(row)


def of_order(connection: Connection, order_id: int) -> PaymentRecord | None:
    row = connection.execute(
        select(t.payments)
        .join(t.orders, t.orders.c.checkout_key == t.payments.c.checkout_key)
        .where(t.orders.c.id == order_id)
    ).first()
    return None if row is None else _record(row)


def _record(row: Any) -> PaymentRecord:
    return PaymentRecord(
        checkout_key=row.checkout_key,
        gateway=row.gateway,
        amount=Decimal(row.amount),
        currency=row.currency,
        status=row.status,
        reference=row.reference,
        message=row.message,
        paid=bool(row.paid),
        order_id=row.order_id,
        last_error=row.last_error,
        pending_step=row.pending_step,
        step_attempts=row.step_attempts,
        retry_at=row.retry_at,
    )


class StoredPayments:
    """The payment records of one open transaction (ports.PaymentRecords)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def start(
        self, checkout_key: str, gateway: str, amount: Decimal, currency: str, now: datetime
    ) -> PaymentRecord:
        return start(self.connection, checkout_key, gateway, amount, currency, now)

    def record_authorisation(
        self, checkout_key: str, answer: Authorisation, now: datetime
    ) -> PaymentRecord:
        return record_authorisation(self.connection, checkout_key, answer, now)

    def move(
        self,
        checkout_key: str,
        *,
        expected: Collection[PaymentStatus],
        to: PaymentStatus,
        now: datetime,
        order_id: int | None = None,
        error: str | None = None,
    ) -> bool:
        return move(
            self.connection,
            checkout_key,
            expected=expected,
            to=to,
            now=now,
            order_id=order_id,
            error=error,
        )

    def note_refusal(self, checkout_key: str, error: str, now: datetime) -> None:
        note_refusal(self.connection, checkout_key, error, now)

    def find(self, checkout_key: str) -> PaymentRecord | None:
        return find(self.connection, checkout_key)

    def of_order(self, order_id: int) -> PaymentRecord | None:
        return of_order(self.connection, order_id)

    def link_order(self, checkout_key: str, order_id: int) -> None:
        link_order(self.connection, checkout_key, order_id)

    def owe(self, checkout_key: str, step: PaymentStepName, retry_at: datetime) -> bool:
        return owe(self.connection, checkout_key, step, retry_at)

    def step_failed(
        self,
        checkout_key: str,
        step: PaymentStepName,
        error: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> PaymentRecord:
        return step_failed(self.connection, checkout_key, step, error, now, retry_at)

    def steps_due(self, now: datetime, limit: int) -> list[PaymentRecord]:
        return steps_due(self.connection, now, limit)

    def claim_step(self, checkout_key: str, now: datetime, until: datetime) -> bool:
        return claim_step(self.connection, checkout_key, now, until)

    def restart_stopped(self, now: datetime) -> int:
        return restart_stopped(self.connection, now)
