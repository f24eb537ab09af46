"""store/driver_rows: on PostgreSQL the keyed reads and the JSON inserts run on the driver's
cursor, and still behave as SQLAlchemy's execution does for everyone who watches or fails:
the cursor events see each statement, a refused row is SQLAlchemy's error of its kind, a
lost connection is invalidated and replaced, a read outside a transaction begins one. On
SQLite the same calls run SQLAlchemy's statements (the same expectations hold)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store.database import make_engine, upgrade, write_transaction
from hashcart.store.driver_rows import select_rows
from hashcart.store.repository import Repository
from hashcart.store.statements import insert_rows_ignoring
from tests.databases import drop_postgres_database, fresh_postgres_database

AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _post(post_id: str) -> dict[str, Any]:
    return {
        "network": "x",
        "post_id": post_id,
        "author_id": "a1",
        "author_handle": "someone",
        "text": "a product post",
        "created_at": AT,
        "has_shop_link": True,
        "parent_id": None,
        "list_kind": None,
        "quantity": None,
        "position": None,
        "words": None,
    }


def test_each_statement_passes_the_cursor_events(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    before: list[str] = []
    after: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: before.append(a[2]))
    event.listen(engine, "after_cursor_execute", lambda *a: after.append(a[2]))
    with write_transaction(engine) as connection:
        repo = Repository(connection)
        added = repo.add_posts([_post("1")], {})
        stored = repo.existing_posts([(Network.X, "1"), (Network.X, "2")])
    engine.dispose()
    assert added == {(Network.X, "1")}
    assert stored == {(Network.X, "1")}
    inserts = [s for s in before if s.startswith("INSERT INTO posts")]
    reads = [s for s in before if s.startswith("SELECT posts.")]
    assert len(inserts) == 1
    assert len(reads) == 1
    assert inserts[0] in after
    assert reads[0] in after


def test_a_row_the_database_refuses_is_sqlalchemys_error_of_its_kind(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    line = {
        "customer_id": 404,  # no such customer: the foreign key refuses the row
        "product_id": "shoe",
        "quantity": 1,
        "network": "x",
        "post_id": "1",
        "created_at": AT,
    }
    with pytest.raises(IntegrityError), write_transaction(engine) as connection:
        insert_rows_ignoring(connection, t.cart_lines, [line], ("customer_id", "product_id"))
    # The refused transaction is rolled back and the connection serves the next one.
    with write_transaction(engine) as connection:
        assert Repository(connection).add_posts([_post("1")], {}) == {(Network.X, "1")}
    engine.dispose()


@pytest.mark.postgres
def test_a_connection_lost_under_a_read_is_invalidated_and_the_next_gets_another(
    postgres_server: str,
) -> None:
    database_url = fresh_postgres_database(postgres_server)
    engine = make_engine(database_url)
    upgrade(engine)
    killer = make_engine(database_url)
    connection = engine.connect()
    transaction = connection.begin()
    backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with killer.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    # The read itself fails as SQLAlchemy's error, the connection marked invalid by it.
    with pytest.raises(OperationalError) as lost:
        Repository(connection).existing_posts([(Network.X, "1")])
    assert lost.value.connection_invalidated
    assert connection.invalidated
    transaction.rollback()
    connection.close()
    with write_transaction(engine) as connection:
        repo = Repository(connection)
        assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != backend
        assert repo.existing_posts([(Network.X, "1")]) == set()
    engine.dispose()
    killer.dispose()
    drop_postgres_database(postgres_server, database_url)


@pytest.mark.postgres
def test_a_read_outside_a_transaction_begins_one_as_sqlalchemy_does(
    postgres_server: str,
) -> None:
    database_url = fresh_postgres_database(postgres_server)
    engine = make_engine(database_url)
    upgrade(engine)
    with write_transaction(engine) as connection:
        Repository(connection).add_posts([_post("1")], {})
    with engine.connect() as connection:
        assert not connection.in_transaction()
        assert Repository(connection).existing_posts([(Network.X, "1")]) == {(Network.X, "1")}
        assert connection.in_transaction()
    engine.dispose()
    drop_postgres_database(postgres_server, database_url)


_STORED_KEYS = select(t.posts.c.network, t.posts.c.post_id).order_by(t.posts.c.post_id)


def test_a_statement_binding_nothing_answers_as_sqlalchemys_execution(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with write_transaction(engine) as connection:
        Repository(connection).add_posts([_post("1"), _post("2")], {})
        seen.clear()
        rows = select_rows(connection, _STORED_KEYS)
        expected = connection.execute(_STORED_KEYS).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert [tuple(row) for row in rows] == [("x", "1"), ("x", "2")]
    assert len(seen) == 2  # each run passed the cursor events
