"""What waits in the database, for `hashcart status`: the outbox's backlog and the oldest
trigger still pending (an unlinked account's request waiting for its link)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from hashcart.store import schema as t


def backlog(connection: Connection) -> dict[str, Any]:
    o, p = t.outbox, t.pending_intents
    by_status: dict[str, int] = dict(
        connection.execute(
            select(o.c.status, func.count())
            .where(o.c.status.in_(["queued", "sending"]))
            .group_by(o.c.status)
        ).all()
    )
    oldest_queued = connection.execute(
        select(func.min(o.c.created_at)).where(o.c.status == "queued")
    ).scalar()
    waiting, oldest_pending = connection.execute(
        select(func.count(), func.min(p.c.trigger_at)).where(p.c.status == "waiting")
    ).one()
    return {
        "outbox_queued": int(by_status.get("queued", 0)),
        "outbox_sending": int(by_status.get("sending", 0)),
        "oldest_queued_message": _iso(oldest_queued),
        "pending_triggers": int(waiting),
        "oldest_pending_trigger": _iso(oldest_pending),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
