"""The clean-ups hashcart owes a gateway (ports.OwedCleanup): a removed card to detach, a
deleted shopper's provider customer to delete. Owed in the transaction that forgets them
here; each attempt is taken with a compare-and-set on `retry_at`, so two sweeps (or a sweep
and the request that owed it) never ask the provider at the same time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, select, update

from hashcart.ports import CleanupAction, OwedCleanup
from hashcart.store import schema as t
from hashcart.store.statements import insert_ignoring

_C = t.gateway_cleanups.c


def owe(
    connection: Connection, gateway: str, action: CleanupAction, object_id: str, now: datetime
) -> int:
    connection.execute(
        insert_ignoring(connection.dialect.name, "gateway_cleanups"),
        {
            "gateway": gateway,
            "action": action,
            "object_id": object_id,
            "owed_at": now,
            "retry_at": now,
            "attempts": 0,
        },
    )
    found = connection.scalar(
        select(_C.id).where(_C.gateway == gateway, _C.action == action, _C.object_id == object_id)
    )
    assert found is not None
    return int(found)


def known(connection: Connection, gateway: str, action: CleanupAction, object_id: str) -> bool:
    found = connection.scalar(
        select(_C.id).where(_C.gateway == gateway, _C.action == action, _C.object_id == object_id)
    )
    return found is not None


def due(
    connection: Connection, now: datetime, limit: int, ids: Sequence[int] | None = None
) -> list[OwedCleanup]:
    query = select(t.gateway_cleanups).where(
        _C.done_at.is_(None), _C.retry_at.is_not(None), _C.retry_at <= now
    )
    if ids is not None:
        query = query.where(_C.id.in_(list(ids)))
    rows = connection.execute(query.order_by(_C.retry_at, _C.id).limit(limit))
    return [_owed(row) for row in rows]


def claim(connection: Connection, cleanup_id: int, now: datetime, until: datetime) -> bool:
    """Move a due clean-up's `retry_at` past this attempt; False when it is not due (done,
    stopped, or taken by another asker a moment ago)."""
    taken = connection.execute(
        update(t.gateway_cleanups)
        .where(
            _C.id == cleanup_id,
            _C.done_at.is_(None),
            _C.retry_at.is_not(None),
            _C.retry_at <= now,
        )
        .values(retry_at=until)
    ).rowcount
    return bool(taken)


def restart_stopped(connection: Connection, now: datetime) -> int:
    restarted = connection.execute(
        update(t.gateway_cleanups)
        .where(_C.done_at.is_(None), _C.retry_at.is_(None))
        .values(retry_at=now, attempts=0)
    ).rowcount
    return int(restarted)


def done(connection: Connection, cleanup_id: int, now: datetime) -> None:
    connection.execute(
        update(t.gateway_cleanups)
        .where(_C.id == cleanup_id)
        .values(done_at=now, retry_at=None, last_error=None)
    )


def failed(
    connection: Connection, cleanup_id: int, message: str, retry_at: datetime | None
) -> OwedCleanup:
    connection.execute(
        update(t.gateway_cleanups)
        .where(_C.id == cleanup_id, _C.done_at.is_(None))
        .values(attempts=_C.attempts + 1, retry_at=retry_at, last_error=message)
    )
    row = connection.execute(select(t.gateway_cleanups).where(_C.id == cleanup_id)).one()
    return _owed(row)


def _owed(row: Any) -> OwedCleanup:
    return OwedCleanup(
        id=row.id,
        gateway=row.gateway,
        action=cast(CleanupAction, row.action),
        object_id=row.object_id,
        attempts=row.attempts,
        stopped=row.done_at is None and row.retry_at is None,
        last_error=row.last_error,
    )
