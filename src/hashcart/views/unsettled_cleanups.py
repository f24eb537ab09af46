"""The clean-ups a gateway has not done yet (gateway_cleanups: a removed card to detach, a
deleted shopper's customer to delete) after at least one failed attempt, for the console's
home page: so a card left attached at the provider is never left there unnoticed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from hashcart.store import schema as t

# A page of them at most; more than this is an outage, not a list.
SHOWN = 50

ACTION_WORDS = {
    "detach_payment_method": "detach a removed card",
    "delete_customer": "delete a deleted shopper's customer",
}


@dataclass(frozen=True)
class UnsettledCleanup:
    gateway: str
    action: str
    object_id: str
    attempts: int
    last_error: str | None
    retry_at: datetime | None  # None: stopped, a person must look

    @property
    def stopped(self) -> bool:
        return self.retry_at is None

    @property
    def words(self) -> str:
        return ACTION_WORDS.get(self.action, self.action)


def unsettled_cleanups(connection: Connection) -> list[UnsettledCleanup]:
    """Stopped ones first, then by when they are asked again; only those tried and failed
    (one just owed is being asked right now)."""
    c = t.gateway_cleanups.c
    rows = connection.execute(
        select(t.gateway_cleanups)
        .where(c.done_at.is_(None), c.attempts > 0)
        .order_by(c.retry_at.is_not(None), c.retry_at, c.id)
        .limit(SHOWN)
    ).all()
    return [
        UnsettledCleanup(
            row.gateway, row.action, row.object_id, row.attempts, row.last_error, row.retry_at
        )
        for row in rows
    ]
