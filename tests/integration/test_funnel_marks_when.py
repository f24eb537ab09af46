"""The funnel's marks (store/funnel_marks) name exactly the outbox rows the kept figures
count, now that PostgreSQL's triggers fire only for them (a WHEN clause, migration 0033): a
queued reply, as a live sale queues thousands, adds no change; the same reply failing adds
its trigger, a fallback adds its key, and deleting a failed reply names it again. On
SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.store import schema as t
from hashcart.store.funnel_marks import FALLBACK_KEY_PREFIXES

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def app(database_url: str) -> App:
    return open_app(Settings(database_url=database_url), FixedClock(NOW))


def _changes(connection: Connection) -> list[tuple[str, str, str]]:
    c = t.post_funnel_changes
    rows = connection.execute(select(c.c.source, c.c.network, c.c.ref).order_by(c.c.id))
    return [(row.source, row.network, row.ref) for row in rows]


def _reply(connection: Connection, key: str, channel: str = "reply") -> int:
    return int(
        connection.execute(
            insert(t.outbox)
            .values(
                network="x",
                account_id="fan",
                in_reply_to="900",
                reason="claim_waitlisted",
                text="You are number 3 on the waitlist",
                dedupe_key=key,
                status="queued",
                created_at=NOW,
                channel=channel,
            )
            .returning(t.outbox.c.id)
        ).scalar_one()
    )


def test_only_the_rows_the_funnel_counts_are_marked(app: App) -> None:
    with app.engine.begin() as connection:
        connection.execute(delete(t.post_funnel_changes))
        first = _reply(connection, "x:900:claim_waitlisted")
        _reply(connection, "x:901:claim_waitlisted", channel="private")
        assert _changes(connection) == []
        connection.execute(
            update(t.outbox).where(t.outbox.c.id == first).values(attempts=1, last_error="busy")
        )
        assert _changes(connection) == []
        connection.execute(update(t.outbox).where(t.outbox.c.id == first).values(status="failed"))
        assert _changes(connection) == [("trigger", "x", "900")]
        fallback = f"{FALLBACK_KEY_PREFIXES[0]}{first}"
        _reply(connection, fallback, channel="email")
        assert _changes(connection)[1:] == [("fallback", "", fallback)]
        connection.execute(delete(t.post_funnel_changes))
        connection.execute(delete(t.outbox).where(t.outbox.c.id == first))
        assert _changes(connection) == [("trigger", "x", "900")]
