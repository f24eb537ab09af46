"""The outbox page counts each status on its index only up to a cap (issue 14, pages that
stay fast on a big shop): past it a status shows "1,000+" and the page no total."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from hashcart.store import schema as t
from hashcart.store.database import make_engine, read_only_transaction, upgrade, write_transaction
from hashcart.views import console

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _messages(tmp_path: Path, statuses: list[str]) -> str:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with write_transaction(engine) as connection:
        connection.execute(
            insert(t.outbox),
            [
                {
                    "network": "x",
                    "account_id": "1",
                    "in_reply_to": f"t{n}",
                    "reason": "added",
                    "text": "Added",
                    "dedupe_key": f"k{n}",
                    "status": status,
                    "created_at": NOW,
                    "channel": "reply",
                }
                for n, status in enumerate(statuses)
            ],
        )
    engine.dispose()
    return url


def test_counts_under_the_cap_are_exact_and_the_page_has_its_total(tmp_path: Path) -> None:
    engine = make_engine(_messages(tmp_path, ["failed", "failed", "sent", "sending"]))
    with read_only_transaction(engine) as connection:
        every = console.outbox_status_counts(connection, every=True)
        assert every == {"queued": 0, "sent": 1, "failed": 2, "sending": 1}
        assert console.outbox(connection, status_counts=every).total == 4
        assert console.outbox(connection, "failed", status_counts=every).total == 2
        assert console.outbox(connection, channel="reply", status_counts=every).total == 4
    engine.dispose()


def test_past_the_cap_a_status_says_more_and_the_page_no_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "OUTBOX_COUNT_CAP", 2)
    engine = make_engine(_messages(tmp_path, ["failed", "failed", "failed", "sent"]))
    with read_only_transaction(engine) as connection:
        every = console.outbox_status_counts(connection, every=True)
        assert every["failed"] == 3 and every["sent"] == 1
        assert console.shown_count(every["failed"]) == "2+"
        assert console.shown_count(every["sent"]) == 1
        page = console.outbox(connection, status_counts=every)
        assert page.total is None and len(page.items) == 4
    engine.dispose()
