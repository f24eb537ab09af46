"""Claiming outbox rows: the record written before anything is sent.

A dispatcher takes due rows in one short transaction and marks them `sending` with the time
it began (`attempt_started_at`), only if they are still what it read: two dispatchers (two
processes, or `serve` beside `dispatch`) never send one row twice. A row still `sending`
long after its claim (`LEASE`) belonged to a dispatcher that died mid-send; it is claimed
again and handed to its sender with the earlier start, so a network without idempotency
keys (X) looks for what it may already have sent before sending again. An email whose SMTP
DATA had begun (`delivery_started_at`) cannot be looked for: it is sent again under the same
Message-ID and counted as possibly received twice (see `outbox.smtp`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select, update

from hashcart.outbox.senders import OutboxItem
from hashcart.store import schema as t
from hashcart.store.database import read_only_transaction, write_transaction

# Longer than any one send may take (every sender has timeouts well under a minute), so a
# row `sending` for longer was left by a crash, never by a dispatcher still at work.
LEASE = timedelta(minutes=5)

_o = t.outbox


def _due(now: datetime, lease: timedelta) -> ColumnElement[bool]:
    queued = and_(
        _o.c.status == "queued",
        or_(_o.c.next_attempt_at.is_(None), _o.c.next_attempt_at <= now),
    )
    # No start time at all: claimed by a hashcart older than the dispatcher, then stopped.
    abandoned = and_(
        _o.c.status == "sending",
        or_(_o.c.attempt_started_at.is_(None), _o.c.attempt_started_at < now - lease),
    )
    return or_(queued, abandoned)


def claim_due(
    engine: Engine,
    networks: Collection[str],
    now: datetime,
    *,
    limit: int,
    lease: timedelta = LEASE,
) -> list[OutboxItem]:
    """Mark up to `limit` due rows of `networks` `sending` (oldest first) and return them.
    An item's `attempt_started_at` is the earlier attempt whose end is unknown, if any:
    a row abandoned mid-send, or one put back unsent (`release`) after such a claim."""
    if not networks or limit < 1:
        return []
    due = _due(now, lease)
    with write_transaction(engine) as connection:
        # PostgreSQL: rows another dispatcher is claiming right now are skipped, not waited
        # for. SQLite has no row locks; its BEGIN IMMEDIATE makes claims take turns.
        rows = connection.execute(
            select(_o)
            .where(_o.c.network.in_(sorted(networks)), due)
            .order_by(_o.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        claimed = set(
            connection.execute(
                update(_o)
                .where(_o.c.id.in_([row.id for row in rows]), due)
                .values(status="sending", attempt_started_at=now)
                .returning(_o.c.id)
            )
            .scalars()
            .all()
        )
    return [_item(row) for row in rows if row.id in claimed]


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        network=row.network,
        channel=row.channel,
        account_id=row.account_id,
        in_reply_to=row.in_reply_to,
        reason=row.reason,
        text=row.text,
        subject=row.subject,
        dedupe_key=row.dedupe_key,
        attempts=row.attempts,
        attempt_started_at=row.attempt_started_at,
        delivery_started_at=row.delivery_started_at,
    )


def next_due_at(
    engine: Engine, networks: Collection[str], now: datetime, lease: timedelta = LEASE
) -> datetime | None:
    """When the next row of `networks` falls due (a retry's time, a claim's lease running
    out); `now` if one is due already, None if none waits."""
    if not networks:
        return None
    chosen = _o.c.network.in_(sorted(networks))
    with read_only_transaction(engine) as connection:
        waiting = connection.execute(
            select(
                func.count().filter(_o.c.next_attempt_at.is_(None)),
                func.min(_o.c.next_attempt_at),
            ).where(chosen, _o.c.status == "queued")
        ).one()
        started = connection.execute(
            select(func.min(_o.c.attempt_started_at)).where(chosen, _o.c.status == "sending")
        ).scalar()
    if waiting[0]:
        return now
    found: list[datetime] = []
    retry: datetime | None = waiting[1]
    if retry is not None:
        found.append(retry)
    claimed: datetime | None = started
    if claimed is not None:
        found.append(claimed + lease)  # an abandoned claim falls due when its lease runs out
    return max(now, min(found)) if found else None


def waiting_without_sender(engine: Engine, networks: Collection[str]) -> dict[str, int]:
    """Queued rows of networks with no sender configured, by network (they wait as they are)."""
    with read_only_transaction(engine) as connection:
        rows = connection.execute(
            select(_o.c.network, func.count())
            .where(_o.c.status == "queued", _o.c.network.not_in(sorted(networks)))
            .group_by(_o.c.network)
            .order_by(_o.c.network)
        ).all()
    return {network: int(count) for network, count in rows}
