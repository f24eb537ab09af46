"""A trigger's action is written once, with its outcome, after its act (services/actions):
no `claimed` row updated afterwards, one funnel mark. The unique key still decides: an
action another transaction wrote while a batch acted rolls the batch back (ActedMeanwhile),
and one written before makes the trigger do nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from hashcart.domain.posts import Network
from hashcart.ports import StoredPost
from hashcart.services.actions import ActedMeanwhile, ActionCounts, act_on_triggers
from hashcart.store import schema as t
from hashcart.store.repository import Repository, transaction
from tests.harness import HOST, Shop
from tests.integration.social import SHOPPERS

MUG = f"https://{HOST}/products/enamel-mug"
ALICE = "alice@example.com"
X = SHOPPERS[Network.X]


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer(ALICE, (X.network, X.account_id, X.handle))
    return shop


def _actions(shop: Shop) -> list[tuple[str, str]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(t.actions.c.trigger_post_id, t.actions.c.outcome))
        return sorted((row[0], row[1]) for row in rows)


def _outbox_rows(shop: Shop) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(t.outbox)).scalar_one())


def test_a_triggers_action_is_inserted_with_its_outcome_and_never_updated(shop: Shop) -> None:
    parent, trigger = X.key(), X.key()
    statements: list[str] = []
    event.listen(shop.app.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    shop.ingest([X.parent(parent, (MUG,)), X.reply(trigger, parent, "#cart x2")])

    assert shop.cart(ALICE) == [("mug", 2)]
    assert _actions(shop) == [(X.post_id(trigger), "added")]
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE ACTIONS")]
    with shop.app.engine.connect() as connection:
        marks = connection.execute(
            select(func.count())
            .select_from(t.post_funnel_changes)
            .where(
                t.post_funnel_changes.c.source == "trigger",
                t.post_funnel_changes.c.ref == X.post_id(trigger),
            )
        ).scalar_one()
    assert marks == 1  # the insert's; an update would have marked twice more


def _acted_once_then_undone(shop: Shop) -> StoredPost:
    """Alice's `#cart` acted on, then its cart line, message and action taken away again:
    the trigger as a batch finds it before anyone acted on it."""
    parent, trigger = X.key(), X.key()
    shop.ingest([X.parent(parent, (MUG,)), X.reply(trigger, parent, "#cart")])
    with shop.app.engine.begin() as connection:
        for table in (t.cart_lines, t.outbox, t.actions):
            connection.execute(table.delete())
    with transaction(shop.app.engine) as repo:
        (found,) = repo.triggers_waiting_for_any([(X.network, X.post_id(parent))]).values()
    assert [post.post_id for post in found] == [X.post_id(trigger)]
    return found[0]


def _act(shop: Shop, repo: Repository, trigger: StoredPost) -> None:
    act_on_triggers(repo, shop.app.shop(), [trigger], shop.clock.now(), ActionCounts())


def _other_worker_acts(shop: Shop, trigger: StoredPost) -> None:
    with transaction(shop.app.engine) as repo:
        _act(shop, repo, trigger)


class _ReadBeforeTheirCommit(Repository):
    """A repository whose read of acted triggers ran before another transaction committed
    its action: it sees none."""

    def acted_and_products(
        self, triggers: Sequence[tuple[Network, str]], parents: Sequence[tuple[Network, str]]
    ) -> tuple[set[tuple[Network, str]], dict[tuple[Network, str], list[str]]]:
        return set(), super().acted_and_products(triggers, parents)[1]


def test_an_action_written_before_the_batch_read_makes_the_trigger_do_nothing(
    shop: Shop,
) -> None:
    trigger = _acted_once_then_undone(shop)
    _other_worker_acts(shop, trigger)
    assert shop.cart(ALICE) == [("mug", 1)]
    messages = _outbox_rows(shop)

    _other_worker_acts(shop, trigger)

    assert shop.cart(ALICE) == [("mug", 1)]
    assert _actions(shop) == [(trigger.post_id, "added")]
    assert _outbox_rows(shop) == messages


def test_an_action_written_while_the_batch_acted_rolls_the_batch_back(shop: Shop) -> None:
    trigger = _acted_once_then_undone(shop)
    _other_worker_acts(shop, trigger)
    messages = _outbox_rows(shop)

    with pytest.raises(ActedMeanwhile), shop.app.engine.begin() as connection:
        _act(shop, _ReadBeforeTheirCommit(connection), trigger)

    assert shop.cart(ALICE) == [("mug", 1)]  # the rolled-back batch's line is not there
    assert _actions(shop) == [(trigger.post_id, "added")]
    assert _outbox_rows(shop) == messages


@pytest.mark.postgres
def test_two_transactions_acting_at_once_on_postgresql_commit_one_act(
    postgres_server: str,
) -> None:
    """Real concurrency: the second transaction reads no action (the first has not
    committed), acts, waits on the unique key for the first's commit, then rolls back."""
    from tests.databases import drop_postgres_database, fresh_postgres_database

    url = fresh_postgres_database(postgres_server)
    try:
        shop = Shop(url)
        shop.customer(ALICE, (X.network, X.account_id, X.handle))
        trigger = _acted_once_then_undone(shop)
        outcome: list[Any] = []
        with shop.app.engine.begin() as first:
            _act(shop, Repository(first), trigger)
            pid = first.execute(text("SELECT pg_backend_pid()")).scalar_one()

            def second() -> None:
                try:
                    _other_worker_acts(shop, trigger)
                    outcome.append("committed")
                except ActedMeanwhile as error:
                    outcome.append(error)

            racer = threading.Thread(target=second)
            racer.start()
            # Commit only once the second waits for this transaction (on the action's key).
            blocked = text(
                "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
            )
            with shop.app.engine.connect() as watcher:
                while racer.is_alive() and not watcher.execute(blocked, {"pid": pid}).scalar():
                    watcher.rollback()
                    racer.join(0.005)  # ends at once should the racer end
        racer.join(timeout=30)
        assert not racer.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], ActedMeanwhile)
        assert shop.cart(ALICE) == [("mug", 1)]
        assert _actions(shop) == [(trigger.post_id, "added")]
        shop.app.engine.dispose()
    finally:
        drop_postgres_database(postgres_server, url)
