"""PostgreSQL: the engine's statements over a JSON recordset keep their plan from one batch to
the next. Their LIMIT (how few the keys are: test_keyed_plans) was a bound parameter, so the
server planned each prepared statement again at every execution (a custom plan with the
actual LIMIT always looked cheaper than the generic one); four of a bus batch's statements
cost more to plan than to run (docs/benchmarks.md, "s27-pgbatch"). The server's own count of
custom and generic plans (pg_prepared_statements) says which it ran."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from hashcart.domain.posts import Network
from hashcart.store.database import make_engine, upgrade
from hashcart.store.repository import Repository
from hashcart.store.statements import planned_count
from tests.databases import drop_postgres_database, fresh_postgres_database
from tests.integration.keyed_tables import KEYS, fill_keyed_tables

# psycopg prepares a statement once it ran 5 times; the server then plans the prepared one
# afresh 5 times before it compares those plans with a generic one.
CALLS = 16


@pytest.fixture
def engine(postgres_server: str) -> Iterator[Engine]:
    url = fresh_postgres_database(postgres_server)
    engine = make_engine(url)
    upgrade(engine)
    fill_keyed_tables(engine)
    yield engine
    engine.dispose()
    drop_postgres_database(postgres_server, url)


def _plans(connection: Connection, marker: str) -> tuple[int, int]:
    """(custom, generic) plans this connection's prepared statements with `marker` ran."""
    row = connection.execute(
        text(
            "SELECT coalesce(sum(custom_plans), 0), coalesce(sum(generic_plans), 0) "
            "FROM pg_prepared_statements WHERE statement LIKE :marker"
        ),
        {"marker": f"%{marker}%"},
    ).one()
    return int(row[0]), int(row[1])


def _outcome(repo: Repository) -> None:
    repo.set_action_outcomes(
        [
            {
                "network": Network.X,
                "trigger_post_id": "7",
                "outcome": "added",
                "customer_id": None,
                "product_id": "p",
            }
        ]
    )


CALLED: dict[str, tuple[Callable[[Repository], Any], str]] = {
    "existing posts": (lambda repo: repo.existing_posts(KEYS), "SELECT posts.network"),
    "waiting triggers": (lambda repo: repo.triggers_waiting_for_any(KEYS), "posts.list_kind"),
    "action outcomes": (_outcome, "UPDATE actions SET outcome"),
    "post turns": (lambda repo: repo.take_post_turns(KEYS, KEYS[:1]), "WITH engine AS"),
}


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(CALLED))
def test_a_statement_over_a_json_recordset_keeps_its_plan(engine: Engine, name: str) -> None:
    call, marker = CALLED[name]
    with engine.connect() as connection:
        repo = Repository(connection)
        for _ in range(CALLS):
            call(repo)
        custom, generic = _plans(connection, marker)
        connection.rollback()

    assert custom + generic == CALLS - 5  # prepared once run 5 times
    assert generic >= CALLS - 10  # planned afresh only before the server compared


def test_a_planned_count_cuts_no_row_and_takes_few_values() -> None:
    assert [planned_count(n) for n in (1, 2, 3, 4, 5, 8, 9, 500)] == [1, 2, 4, 4, 8, 8, 16, 512]
    assert len({planned_count(n) for n in range(1, 1001)}) == 11
