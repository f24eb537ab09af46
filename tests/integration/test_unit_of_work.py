"""The one unit of work (ports.UnitOfWork, store/unit_of_work.SqlUnitOfWork), on SQLite and
PostgreSQL: what a block writes commits when it ends cleanly and is all rolled back when it
raises; a use case's writes and the stream cursor that follows them are one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.domain.messages import OutboundMessage, Reason
from hashcart.domain.posts import Network
from hashcart.ports import Cursor, Email, UnitOfWork
from hashcart.services.ingest import Ingestor
from hashcart.store import schema as t
from hashcart.store.cursors import StoredCursors, load_cursor
from hashcart.store.database import read_only_transaction
from hashcart.store.repository import transaction
from hashcart.store.unit_of_work import SqlUnitOfWork, UnitOfWorkMisuse
from hashcart.web import context
from tests.harness import Shop
from tests.payloads import x_tweet

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Boom(Exception):
    """Raised inside a unit of work by the tests."""


@pytest.fixture
def app(database_url: str) -> App:
    return open_app(Settings(database_url=database_url), FixedClock(NOW))


def _write_everything(uow: SqlUnitOfWork) -> None:
    """One write through each thing a unit of work exposes."""
    uow.repository.add_customer("maya@example.com", "Maya", NOW)
    uow.repository.queue_messages(
        [OutboundMessage(Network.X, "200", "9002", Reason.ADDED, "Added.")], NOW
    )
    uow.repository.queue_emails(
        [Email("maya@example.com", "Hello", "Hi", "test", "hello-maya")], NOW
    )
    uow.cursors.write(Cursor("x_stream", "9002"), NOW)
    uow.connection.execute(
        t.dead_letters.insert().values(
            source="test", line=1, reason="r", excerpt="e", created_at=NOW, dedupe_key="k"
        )
    )


def _counts(app: App) -> dict[str, int]:
    with read_only_transaction(app.engine) as connection:
        return {
            table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in (t.customers, t.outbox, t.stream_cursors, t.dead_letters)
        }


def test_a_unit_of_work_commits_what_it_wrote_when_the_block_ends(app: App) -> None:
    with app.unit_of_work() as uow:
        _write_everything(uow)

    assert _counts(app) == {"customers": 1, "outbox": 2, "stream_cursors": 1, "dead_letters": 1}
    assert load_cursor(app.engine, "x_stream") == "9002"


def test_a_unit_of_work_rolls_back_every_write_when_the_block_raises(app: App) -> None:
    with pytest.raises(Boom), app.unit_of_work() as uow:
        _write_everything(uow)
        raise Boom

    assert _counts(app) == {"customers": 0, "outbox": 0, "stream_cursors": 0, "dead_letters": 0}


def test_a_write_the_database_refuses_takes_the_earlier_writes_with_it(app: App) -> None:
    """A constraint the database enforces (here a second dead letter under one key, without
    ON CONFLICT) fails the block half-way: what it wrote before goes too."""
    letter = {
        "source": "hostile\u2028",
        "line": 1,
        "reason": "r" * 500,
        "excerpt": "\ufffd" * 300,
        "created_at": NOW,
        "dedupe_key": "same",
    }
    with pytest.raises(IntegrityError), app.unit_of_work() as uow:
        uow.repository.add_customer("maya@example.com", "Maya", NOW)
        uow.connection.execute(t.dead_letters.insert().values(**letter))
        uow.connection.execute(t.dead_letters.insert().values(**letter))

    assert _counts(app) == {"customers": 0, "outbox": 0, "stream_cursors": 0, "dead_letters": 0}


def test_an_interrupt_inside_the_block_rolls_back_too(app: App) -> None:
    """Ctrl-C or a SIGTERM (BaseException, not Exception) leaves nothing half-written."""
    with pytest.raises(KeyboardInterrupt), app.unit_of_work() as uow:
        _write_everything(uow)
        raise KeyboardInterrupt

    assert _counts(app) == {"customers": 0, "outbox": 0, "stream_cursors": 0, "dead_letters": 0}
    with app.unit_of_work() as uow:  # and the database takes the next unit of work at once
        uow.repository.add_customer("next@example.com", None, NOW)
    assert _counts(app)["customers"] == 1


def test_the_repositorys_transaction_is_the_same_unit_of_work(app: App) -> None:
    """`store.repository.transaction`, kept for old callers, commits and rolls back alike."""
    with pytest.raises(Boom), transaction(app.engine) as repo:
        repo.add_customer("gone@example.com", None, NOW)
        raise Boom
    with transaction(app.engine) as repo:
        repo.add_customer("kept@example.com", None, NOW)

    with app.unit_of_work() as uow:
        assert uow.repository.customer_id("gone@example.com") is None
        assert uow.repository.customer_id("kept@example.com") is not None


def test_the_web_unit_of_work_is_the_apps(app: App) -> None:
    """web/context.unit_of_work hands routes the connection of the App's unit of work."""
    opened: list[SqlUnitOfWork] = []

    class Recording(App):
        def unit_of_work(self) -> SqlUnitOfWork:
            opened.append(super().unit_of_work())
            return opened[-1]

    recording = Recording(app.settings, app.engine, app.clock)
    request: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(hashcart=recording)))

    with pytest.raises(Boom), context.unit_of_work(request) as connection:
        connection.execute(t.customers.insert().values(email="web@example.com", created_at=NOW))
        raise Boom

    assert len(opened) == 1
    assert _counts(app)["customers"] == 0


def test_a_unit_of_work_is_one_transaction_and_only_inside_its_block(app: App) -> None:
    uow = app.unit_of_work()
    with pytest.raises(UnitOfWorkMisuse):
        uow.repository.customer_id("maya@example.com")
    with uow, pytest.raises(UnitOfWorkMisuse):
        uow.__enter__()
    with pytest.raises(UnitOfWorkMisuse):
        _ = uow.connection


def test_on_sqlite_a_unit_of_work_takes_the_write_lock_as_it_begins(tmp_path: Any) -> None:
    """As `transaction` always did: a second writer waits (here: 0.1 s, then fails) at its
    BEGIN, not half-way through after reading what the first one is about to change."""
    url = f"sqlite:///{tmp_path / 'locked.db'}?timeout=0.1"
    app = open_app(Settings(database_url=url), FixedClock(NOW))
    with app.unit_of_work():
        second = app.unit_of_work()
        with pytest.raises(OperationalError, match="locked"), second:
            pass


# A use case's writes and its stream cursor -------------------------------------------------


def _units_failing_at_the_cursor(app: App) -> Any:
    """Units of work whose cursor write fails after it wrote (as a lost connection would,
    just before the commit): the whole batch must go with it."""

    class FailingCursors(StoredCursors):
        def write(self, cursor: Cursor, at: datetime) -> None:
            super().write(cursor, at)
            raise OperationalError("COMMIT", {}, Exception("connection lost"))

    @contextmanager
    def unit() -> Iterator[UnitOfWork]:
        with app.unit_of_work() as uow:
            uow._cursors = FailingCursors(uow.connection)
            yield uow

    return unit


def test_a_batch_and_its_cursor_are_kept_together_or_not_at_all(database_url: str) -> None:
    shop = Shop(database_url)
    parent = x_tweet(
        "9001",
        "100",
        "trailhead",
        "New mug https://shop.example/products/enamel-mug",
        links=("https://shop.example/products/enamel-mug",),
    )
    cursor = Cursor("x_stream", "9001")
    failing = Ingestor(
        _units_failing_at_the_cursor(shop.app),
        shop.app.shop(),
        shop.clock,
        reader=shop.app.payload_reader,
    )

    with pytest.raises(OperationalError):
        failing.ingest_lines("x_stream", [parent], cursor=cursor)

    assert load_cursor(shop.app.engine, "x_stream") is None
    assert _counts(shop.app)["dead_letters"] == 0
    with read_only_transaction(shop.app.engine) as connection:
        assert connection.scalar(select(func.count()).select_from(t.posts)) == 0

    Ingestor(
        shop.app.unit_of_work, shop.app.shop(), shop.clock, reader=shop.app.payload_reader
    ).ingest_lines("x_stream", [parent], cursor=cursor)

    assert load_cursor(shop.app.engine, "x_stream") == "9001"
    with read_only_transaction(shop.app.engine) as connection:
        assert connection.scalar(select(func.count()).select_from(t.posts)) == 1
