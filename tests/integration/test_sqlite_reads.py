"""Reads and writes on one database: a read-only transaction runs beside a writer (on SQLite it
does not take the write lock), sees the last commit, and cannot write; writers still take the
write lock as they begin, as ingest needs.

The SQLite databases here have a short busy timeout (`?timeout=` in the URL), so a read that
waited for the write lock would fail within a fraction of a second instead of hanging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from hashcart.store import schema as t
from hashcart.store.database import SQLITE_BUSY_TIMEOUT_MS, make_engine, read_only_transaction
from hashcart.store.repository import transaction
from tests.harness import Shop

SHORT_TIMEOUT_S = 0.2


@pytest.fixture
def sqlite_shop(tmp_path: Path) -> Iterator[Shop]:
    """The engine's test shop on a SQLite file whose lock waits give up after 0.2 s."""
    shop = Shop(f"sqlite:///{tmp_path / 'reads.db'}?timeout={SHORT_TIMEOUT_S}")
    yield shop
    shop.app.engine.dispose()


def emails(engine: Engine) -> list[str]:
    """The customers' addresses, read the way pages read."""
    with read_only_transaction(engine) as connection:
        return list(connection.execute(select(t.customers.c.email)).scalars())


def add_customer(connection: Connection, email: str, shop: Shop) -> None:
    connection.execute(insert(t.customers).values(email=email, created_at=shop.clock.now()))


def test_a_read_runs_while_a_writer_holds_the_lock_and_sees_the_last_commit(
    sqlite_shop: Shop,
) -> None:
    engine = sqlite_shop.app.engine
    with transaction(engine) as writer:  # an ingest batch: it holds the write lock
        writer.serialize_writers()
        add_customer(writer.connection, "new@example.com", sqlite_shop)
        # Would raise "database is locked" after 0.2 s if reads took the write lock.
        assert emails(engine) == []  # the batch has not committed: not seen yet
    assert emails(engine) == ["new@example.com"]


def test_a_writer_commits_while_a_read_is_open_and_the_read_keeps_its_snapshot(
    sqlite_shop: Shop,
) -> None:
    engine = sqlite_shop.app.engine
    count = select(func.count()).select_from(t.customers)
    with read_only_transaction(engine) as reader:
        assert reader.execute(count).scalar_one() == 0
        with transaction(engine) as writer:  # does not wait for the reader
            writer.serialize_writers()
            add_customer(writer.connection, "new@example.com", sqlite_shop)
        assert reader.execute(count).scalar_one() == 0  # one snapshot for the whole read
    with read_only_transaction(engine) as later:
        assert later.execute(count).scalar_one() == 1


def test_writers_still_take_the_write_lock_as_they_begin(sqlite_shop: Shop) -> None:
    """Ingest relies on it: a unit of work that reads and then writes never finds that someone
    wrote in between. So a second writer (even one that has not written yet) waits its turn."""
    engine = sqlite_shop.app.engine
    with engine.begin():
        for open_writer in (engine.begin, engine.connect):
            with (
                pytest.raises(OperationalError, match="database is locked"),
                open_writer() as second,
            ):
                second.execute(select(1))
    with engine.begin() as later:  # free again once the first ended
        later.execute(select(1))


def test_a_read_cannot_write(database_url: str) -> None:
    """Refused every time, not only when another writer happens to be busy (which is when a
    deferred SQLite transaction that writes fails): a misuse fails its tests, not production."""
    shop = Shop(database_url)
    engine = shop.app.engine
    try:
        with (
            pytest.raises(DBAPIError, match=r"(?i)read-?only"),
            read_only_transaction(engine) as connection,
        ):
            add_customer(connection, "sneaky@example.com", shop)
        with read_only_transaction(engine) as connection:
            assert connection.execute(select(func.count()).select_from(t.customers)).scalar() == 0
    finally:
        engine.dispose()


def test_the_connection_a_read_used_writes_again_afterwards(database_url: str) -> None:
    shop = Shop(database_url)
    engine = shop.app.engine
    try:
        with read_only_transaction(engine) as reader:
            reader.execute(select(func.count()).select_from(t.customers))
            read_with = reader.connection.dbapi_connection
        with engine.begin() as writer:
            assert writer.connection.dbapi_connection is read_with  # the pool's same connection
            add_customer(writer, "later@example.com", shop)
        assert emails(engine) == ["later@example.com"]
    finally:
        engine.dispose()


def test_a_sqlite_url_may_set_the_busy_timeout(tmp_path: Path) -> None:
    for url, expected in (
        (f"sqlite:///{tmp_path / 'a.db'}?timeout=0.25", 250),
        (f"sqlite:///{tmp_path / 'b.db'}", SQLITE_BUSY_TIMEOUT_MS),
    ):
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == expected
        engine.dispose()
