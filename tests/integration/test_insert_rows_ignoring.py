"""store/statements.insert_rows_ignoring: many rows in one statement, the ones already there
left alone, the new ones' keys returned; on PostgreSQL one statement of arrays whose text is
the same whatever the number of rows (psycopg converts it once), with every column's type and
length kept as a plain INSERT keeps them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from hashcart.store import schema as t
from hashcart.store.database import make_engine, upgrade, write_transaction
from hashcart.store.statements import insert_rows_ignoring
from tests.databases import drop_postgres_database, fresh_postgres_database

AT = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)


def _post(post_id: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "network": "x",
        "post_id": post_id,
        "author_id": "a1",
        "author_handle": "someone",
        "text": "hello #cart",
        "created_at": AT,
        "has_shop_link": False,
        "parent_id": None,
        "list_kind": None,
        "quantity": None,
        "position": None,
        "words": None,
    }
    row.update(changes)
    return row


def test_new_rows_go_in_and_only_their_keys_come_back(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with write_transaction(engine) as connection:
        first = insert_rows_ignoring(
            connection, t.posts, [_post("1"), _post("2", quantity=3)], ("network", "post_id")
        )
    with write_transaction(engine) as connection:
        again = insert_rows_ignoring(
            connection,
            t.posts,
            [_post("2", text="a second version"), _post("3", list_kind="cart", parent_id="1")],
            ("network", "post_id"),
        )
        stored = connection.execute(
            select(
                t.posts.c.post_id, t.posts.c.text, t.posts.c.quantity, t.posts.c.created_at
            ).order_by(t.posts.c.post_id)
        ).all()
    engine.dispose()
    assert sorted(tuple(row) for row in first) == [("x", "1"), ("x", "2")]
    assert [tuple(row) for row in again] == [("x", "3")]
    # The first version wins; types come back as they went in (a moment in UTC, a number).
    assert [tuple(row) for row in stored] == [
        ("1", "hello #cart", None, AT),
        ("2", "hello #cart", 3, AT),
        ("3", "hello #cart", None, AT),
    ]


def test_no_rows_is_no_statement(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with write_transaction(engine) as connection:
        assert insert_rows_ignoring(connection, t.posts, [], ("network", "post_id")) == []
        assert connection.execute(select(func.count()).select_from(t.posts)).scalar_one() == 0
    engine.dispose()


@pytest.mark.postgres
def test_a_value_too_long_for_its_column_is_refused_not_cut(postgres_server: str) -> None:
    """PostgreSQL only: SQLite keeps no column lengths."""
    database_url = fresh_postgres_database(postgres_server)
    engine = make_engine(database_url)
    upgrade(engine)
    with pytest.raises(DBAPIError, match="too long"), write_transaction(engine) as connection:
        insert_rows_ignoring(
            connection, t.posts, [_post("1", author_id="a" * 301)], ("network", "post_id")
        )
    engine.dispose()
    drop_postgres_database(postgres_server, database_url)
