"""PostgreSQL: the engine's statements by key look their rows up by index whatever the table's
size. The planner guesses 100 rows for a JSON recordset; against a table of a few thousand to
some tens of thousands of rows it then chose to hash-join a sequential scan of the whole
table, at every batch (docs/benchmarks.md, "s26-engine"). The statements now say how many
keys they carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from hashcart.domain.posts import Network
from hashcart.store.database import make_engine, upgrade
from hashcart.store.repository import Repository
from tests.databases import drop_postgres_database, fresh_postgres_database

ROWS = 20_000  # where the old statements scanned: the planner's index look-ups win above ~50k
KEYS = [(Network.X, "3"), (Network.MASTODON, "4"), (Network.BLUESKY, "5")]


def _plan_of(connection: Connection, call: Callable[[Repository], Any]) -> str:
    """The plan of the one statement `call` runs through the repository."""
    seen: list[tuple[str, Any]] = []

    def keep(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", keep)
    call(Repository(connection))
    event.remove(connection, "before_cursor_execute", keep)
    [(statement, parameters)] = seen
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("EXPLAIN " + statement, parameters)
    return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_reads_and_outcomes_by_key_use_the_index_on_a_table_of_thousands(
    postgres_server: str,
) -> None:
    database_url = fresh_postgres_database(postgres_server)
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO posts (network, post_id, author_id, author_handle, text, "
                "created_at, has_shop_link, parent_id, list_kind) "
                "SELECT (ARRAY['x', 'mastodon', 'bluesky'])[1 + g % 3], g::text, 'a', 'h', "
                "'t', now(), false, (g / 2)::text, CASE WHEN g % 2 = 0 THEN 'cart' END "
                "FROM generate_series(1, :rows) AS g"
            ),
            {"rows": ROWS},
        )
        connection.execute(
            text(
                "INSERT INTO actions (network, trigger_post_id, outcome, created_at) "
                "SELECT 'x', g::text, 'claimed', now() FROM generate_series(1, :rows) AS g"
            ),
            {"rows": ROWS},
        )
        connection.execute(text("ANALYZE posts"))
        connection.execute(text("ANALYZE actions"))
    with engine.connect() as connection:
        stored = _plan_of(connection, lambda repo: repo.existing_posts(KEYS))
        waiting = _plan_of(connection, lambda repo: repo.triggers_waiting_for_any(KEYS))
        outcomes = _plan_of(
            connection,
            lambda repo: repo.set_action_outcomes(
                [
                    {
                        "network": Network.X,
                        "trigger_post_id": "7",
                        "outcome": "added",
                        "customer_id": None,
                        "product_id": "p",
                    }
                ]
            ),
        )
        connection.rollback()
    engine.dispose()
    drop_postgres_database(postgres_server, database_url)
    assert "Seq Scan on posts" not in stored, stored
    assert "Seq Scan on posts" not in waiting, waiting
    assert "Seq Scan on actions" not in outcomes, outcomes
