"""A PostgreSQL engine lends a pooled connection that just worked without asking the server
(store/pool_checks), and still replaces one the server has ended. SQLite's engine pings
nothing (a file has no server to lose), so these run on PostgreSQL only.

What goes over the wire is read from libpq's own protocol trace of the connection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from hashcart.store import pool_checks
from hashcart.store.database import make_engine
from tests.databases import drop_postgres_database, fresh_postgres_database

pytestmark = pytest.mark.postgres

ENDED_DEADLINE_SECONDS = 10
PING = 'Query\t "SELECT 1"'  # the ping as libpq traces it (a reply reads "SELECT 1" too)


@pytest.fixture
def engine(postgres_server: str) -> Iterator[Engine]:
    url = fresh_postgres_database(postgres_server)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_postgres_database(postgres_server, url)


def _wire(engine: Engine, path: Path, checkouts: int) -> str:
    """What the pool's one connection sent while it was checked out `checkouts` times, each
    running one statement of its own."""
    from psycopg import pq

    with engine.connect() as connection:
        connection.execute(text("SELECT 'opened'"))
        pgconn = connection.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
    with path.open("w") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        for number in range(checkouts):
            with engine.connect() as connection:
                connection.execute(text(f"SELECT 'statement {number}'"))
        pgconn.untrace()
    return path.read_text()


def test_a_connection_that_just_worked_is_lent_without_a_round_trip(
    engine: Engine, tmp_path: Path
) -> None:
    wire = _wire(engine, tmp_path / "wire", 3)

    assert [f"statement {n}" in wire for n in range(3)] == [True] * 3
    assert PING not in wire  # no ping: pool_pre_ping sent one at each checkout


def test_a_connection_idle_past_the_window_is_pinged_before_it_is_lent(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_checks, "TRUSTED_FOR_SECONDS", 0.0)

    wire = _wire(engine, tmp_path / "wire", 2)

    assert wire.count(PING) == 2


def test_a_connection_the_server_ended_is_replaced_before_it_is_lent(engine: Engine) -> None:
    import psycopg

    with engine.connect() as connection:
        ended = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:  # outside the pool
        other.execute("SELECT pg_terminate_backend(%s)", (ended,))
        give_up = time.monotonic() + ENDED_DEADLINE_SECONDS
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (ended,)).fetchone():
            assert time.monotonic() < give_up, "the backend did not end"
            time.sleep(0.01)  # polling a condition with a deadline, not waiting for time

    with engine.connect() as connection:
        lent = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    assert lent != ended
