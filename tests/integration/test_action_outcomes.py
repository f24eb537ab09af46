"""Repository.set_action_outcomes: each claimed action gets the outcome given for it, and only
it; on PostgreSQL the batch's outcomes go as one statement (a JSON recordset joined to the
actions) instead of one execution a row, with the same answer on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store.database import make_engine, upgrade, write_transaction
from hashcart.store.repository import Repository
from tests.databases import drop_postgres_database, fresh_postgres_database

AT = datetime(2026, 12, 6, 19, 0, tzinfo=UTC)


def _outcome(
    network: Network, post_id: str, outcome: str, customer: int | None, product: str | None
) -> dict[str, object]:
    return {
        "network": network,
        "trigger_post_id": post_id,
        "outcome": outcome,
        "customer_id": customer,
        "product_id": product,
    }


def test_each_claimed_action_gets_its_own_outcome(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with write_transaction(engine) as connection:
        customer = connection.execute(
            t.customers.insert()
            .values(email="a@example.org", created_at=AT)
            .returning(t.customers.c.id)
        ).scalar_one()
        repo = Repository(connection)
        claimed = [(Network.X, "1"), (Network.MASTODON, "1"), (Network.BLUESKY, "at://b/1")]
        assert repo.claim_actions([*claimed, (Network.X, "untouched")], AT) == {
            *claimed,
            (Network.X, "untouched"),
        }
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with write_transaction(engine) as connection:
        Repository(connection).set_action_outcomes(
            [
                _outcome(Network.X, "1", "added", customer, "p-1"),
                _outcome(Network.MASTODON, "1", "not_linked", None, "p-2"),
                _outcome(Network.BLUESKY, "at://b/1", "already_in_cart", customer, "p-3"),
                # The same key again: the last outcome given stands.
                _outcome(Network.MASTODON, "1", "pending_link", None, "p-2"),
                # No action claimed for it: nothing to record, nothing made.
                _outcome(Network.X, "never-claimed", "added", customer, "p-1"),
            ]
        )
    with engine.connect() as connection:
        stored = connection.execute(
            select(
                t.actions.c.network,
                t.actions.c.trigger_post_id,
                t.actions.c.outcome,
                t.actions.c.customer_id,
                t.actions.c.product_id,
            ).order_by(t.actions.c.network, t.actions.c.trigger_post_id)
        ).all()
    engine.dispose()
    assert [tuple(row) for row in stored] == [
        ("bluesky", "at://b/1", "already_in_cart", customer, "p-3"),
        ("mastodon", "1", "pending_link", None, "p-2"),
        ("x", "1", "added", customer, "p-1"),
        ("x", "untouched", "claimed", None, None),
    ]
    writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(writes) == 1


@pytest.mark.postgres
def test_an_outcome_too_long_for_its_column_is_refused_not_cut(postgres_server: str) -> None:
    """PostgreSQL only: SQLite keeps no column lengths."""
    database_url = fresh_postgres_database(postgres_server)
    engine = make_engine(database_url)
    upgrade(engine)
    with write_transaction(engine) as connection:
        Repository(connection).claim_actions([(Network.X, "1")], AT)
    with pytest.raises(DBAPIError, match="too long"), write_transaction(engine) as connection:
        Repository(connection).set_action_outcomes([_outcome(Network.X, "1", "x" * 33, None, None)])
    with engine.connect() as connection:
        outcome = connection.execute(select(t.actions.c.outcome)).scalar_one()
    engine.dispose()
    drop_postgres_database(postgres_server, database_url)
    assert outcome == "claimed"
