"""Claiming outbox rows: the record written before anything is sent.

A dispatcher takes due rows in one short unit of work and marks them `sending` with the time
it began, only if they are still what it read: two dispatchers (two processes, or `serve`
beside `dispatch`) never send one row twice (store/outbox.py says how). A row still `sending`
long after its claim (`LEASE`) belonged to a dispatcher that died mid-send; it is claimed
again and handed to its sender with the earlier start, so a network without idempotency keys
(X) looks for what it may already have sent before sending again. An email whose SMTP DATA had
begun (`delivery_started_at`) cannot be looked for: it is sent again under the same
Message-ID and counted as possibly received twice (see `outbox.smtp`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from hashcart.ports import OutboxItem, UnitsOfWork

# Longer than any one send may take (every sender has timeouts well under a minute), so a
# row `sending` for longer was left by a crash, never by a dispatcher still at work.
LEASE = timedelta(minutes=5)


def claim_due(
    units: UnitsOfWork,
    networks: Collection[str],
    now: datetime,
    *,
    limit: int,
    lease: timedelta = LEASE,
) -> list[OutboxItem]:
    """Mark up to `limit` due rows of `networks` `sending` (oldest first) and return them,
    in a unit of work of their own. An item's `attempt_started_at` is the earlier attempt
    whose end is unknown, if any: a row abandoned mid-send, or one put back unsent
    (`release`) after such a claim."""
    if not networks or limit < 1:
        return []
    with units() as uow:
        return uow.outbox.claim_due(networks, now, limit=limit, lease=lease)


def next_due_at(
    reads: UnitsOfWork, networks: Collection[str], now: datetime, lease: timedelta = LEASE
) -> datetime | None:
    """When the next row of `networks` falls due (a retry's time, a claim's lease running
    out); `now` if one is due already, None if none waits. `reads` opens units of work that
    only read: an idle dispatcher's look never waits for a writer."""
    if not networks:
        return None
    with reads() as uow:
        return uow.outbox.next_due_at(networks, now, lease)
