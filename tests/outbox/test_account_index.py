"""The dispatcher's "may an earlier private message have gone unseen?" lookup
(outbox/fallback.with_earlier_unseen, asked before every private message) is served by the
outbox's account index, not by reading the whole outbox: EXPLAIN on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import event, text

from hashcart.outbox.fallback import with_earlier_unseen
from hashcart.ports import OutboxItem
from tests.harness import Shop


def _lookup_sql(shop: Shop) -> tuple[str, Any]:
    """The statement and parameters the real lookup sends to the database."""
    engine = shop.app.engine
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        seen.append((statement, parameters))

    item = OutboxItem(
        id=1,
        network="mastodon",
        channel="private",
        account_id="https://social.example/users/ada",
        in_reply_to="109",
        reason="added",
        text="@ada added",
        subject=None,
        dedupe_key="k",
        attempts=0,
    )
    event.listen(engine, "before_cursor_execute", record)
    try:
        # The dispatcher asks through a unit of work that only reads.
        with_earlier_unseen(partial(shop.app.unit_of_work, read_only=True), item)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    (found,) = [s for s in seen if "outbox" in s[0]]
    return found


def test_the_unseen_message_lookup_uses_the_account_index(database_url: str) -> None:
    shop = Shop(database_url)
    statement, parameters = _lookup_sql(shop)
    with shop.app.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            raw = connection.connection.driver_connection
            assert raw is not None
            plan = " ".join(
                str(row[-1]) for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            )
        else:
            # A shop's outbox as the planner sees it after a while: many sent messages to
            # many accounts, analysed. (On an empty, unanalysed table every index costs the
            # same and the planner takes the first made, which says nothing.)
            connection.execute(
                text(
                    "INSERT INTO outbox (network, account_id, in_reply_to, reason, text,"
                    " dedupe_key, status, created_at, channel)"
                    " SELECT 'mastodon', 'https://social.example/users/u' || (n % 500), 'x',"
                    " 'added', 'text', 'seed-' || n, 'sent', now(), 'private'"
                    " FROM generate_series(1, 5000) AS n"
                )
            )
            connection.execute(text("ANALYZE outbox"))
            connection.execute(text("SET enable_seqscan = off"))
            raw_pg = connection.connection.driver_connection
            assert raw_pg is not None
            with raw_pg.cursor() as cursor:
                cursor.execute("EXPLAIN " + statement, parameters)
                plan = " ".join(str(row[0]) for row in cursor.fetchall())
    assert "ix_outbox_account" in plan, plan
