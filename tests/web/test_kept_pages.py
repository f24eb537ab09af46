"""The console's posts list read from the kept figures (issue 14, pages that stay fast on a
big shop), on SQLite and PostgreSQL: `kept_snapshot` checks freshness in the page's own
snapshot (one transaction when nothing waits, a recount first when something does), and a
kept page's statements, built once per list with the key bound, page forward and back
exactly as the rows are ordered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from hashcart.store import schema as t
from hashcart.store.database import make_engine, read_only_transaction, upgrade, write_transaction
from hashcart.views.funnel import funnel
from hashcart.views.funnel_keeping import is_fresh, kept_snapshot, refresh
from hashcart.views.funnel_kept import kept_page
from tests.integration.test_post_funnel import NOW, _world, add_trigger


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    upgrade(made)
    with write_transaction(made) as connection:
        _world(connection)
        for n in range(7):
            add_trigger(connection, n % 3)
    yield made
    made.dispose()


def _transactions(engine: Engine) -> list[int]:
    """A list that grows by one at each transaction begun on `engine`."""
    begun: list[int] = []

    def on_begin(connection: Any) -> None:
        begun.append(1)

    event.listen(engine, "begin", on_begin)
    return begun


def test_a_quiet_shops_page_checks_and_reads_its_kept_figures_in_one_transaction(
    engine: Engine,
) -> None:
    with write_transaction(engine) as connection:
        refresh(connection, NOW)
    begun = _transactions(engine)
    with kept_snapshot(engine, NOW) as (connection, fresh):
        assert fresh
        assert is_fresh(connection, NOW)
    assert len(begun) == 1


def test_waiting_changes_are_recounted_before_the_page_reads(engine: Engine) -> None:
    with read_only_transaction(engine) as connection:
        assert not is_fresh(connection, NOW)  # the triggers named their posts
    with kept_snapshot(engine, NOW) as (connection, fresh):
        assert fresh
        assert connection.scalar(select(func.count()).select_from(t.post_funnel_changes)) == 0
        kept = kept_page(
            connection,
            network=None,
            accounts=(),
            sort="triggers",
            descending=True,
            after="",
            before="",
            limit=10,
        )
        counted = funnel(connection, NOW, sort="triggers", descending=True)
        assert [(row.post_id, row.triggers) for row in kept.items] == [
            (row.post_id, row.triggers) for row in counted.rows
        ]
        assert [row.triggers for row in kept.items] == [3, 2, 2]


@pytest.mark.parametrize(
    ("sort", "descending"),
    [("posted", True), ("triggers", True), ("author", False), ("revenue", False)],
)
def test_kept_pages_go_forward_and_back_through_every_post_in_order(
    engine: Engine, sort: Any, descending: bool
) -> None:
    """One post a page, so every page after the first binds a different key into the same
    kept statement; and back from the last page to the first."""
    with write_transaction(engine) as connection:
        refresh(connection, NOW)
    with read_only_transaction(engine) as connection:

        def page(after: str = "", before: str = "") -> Any:
            return kept_page(
                connection,
                network=None,
                accounts=(),
                sort=sort,
                descending=descending,
                after=after,
                before=before,
                limit=1,
            )

        whole = kept_page(
            connection,
            network=None,
            accounts=(),
            sort=sort,
            descending=descending,
            after="",
            before="",
            limit=10,
        )
        expected = [row.post_id for row in whole.items]
        assert len(expected) == 3
        forward = [page()]
        while forward[-1].next_after is not None:
            forward.append(page(after=forward[-1].next_after))
        assert [found.items[0].post_id for found in forward] == expected
        backward = [forward[-1]]
        while backward[-1].previous_before is not None:
            backward.append(page(before=backward[-1].previous_before))
        assert [found.items[0].post_id for found in backward] == expected[::-1]
