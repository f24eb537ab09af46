"""PostgreSQL: the engine's statements by key look their rows up by index whatever the table's
size. The planner guesses 100 rows for a JSON recordset; against a table of a few thousand to
some tens of thousands of rows it then chose to hash-join a sequential scan of the whole
table, at every batch (docs/benchmarks.md, "s26-engine"). The statements now say how many
keys they carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, event

from hashcart.domain.posts import Network
from hashcart.store.database import make_engine, upgrade
from hashcart.store.repository import Repository
from tests.databases import drop_postgres_database, fresh_postgres_database
from tests.integration.keyed_tables import KEYS, fill_keyed_tables


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
    fill_keyed_tables(engine)
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
        # services/actions' first read: which triggers acted, and their parents' products.
        acted = _plan_of(connection, lambda repo: repo.acted_and_products(KEYS, KEYS))
        connection.rollback()
    engine.dispose()
    drop_postgres_database(postgres_server, database_url)
    assert "Seq Scan on posts" not in stored, stored
    assert "Seq Scan on posts" not in waiting, waiting
    assert "Seq Scan on actions" not in outcomes, outcomes
    assert "Seq Scan on actions" not in acted, acted
