"""The console home's figures stay cheap on a big shop (issue 14, pages that stay fast): the
outbox tiles count up to the outbox page's cap (above it "1,000+", as that page says), the
revenue per currency stays exact, and the no-sender notice counts only the channels that
cannot send, all on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert

from hashcart.store import schema as t
from hashcart.store.database import make_engine, read_only_transaction, upgrade, write_transaction
from hashcart.views import console
from tests.web.conftest import WebShop
from tests.web.console_support import stat
from tests.web.test_merchant_console import merchant

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _outbox_rows(rows: list[tuple[str, str]]) -> list[dict[str, object]]:
    return [
        {
            "network": network,
            "account_id": "1",
            "in_reply_to": f"t{n}",
            "reason": "added",
            "text": "Added",
            "dedupe_key": f"k{n}",
            "status": status,
            "created_at": NOW,
            "channel": "email" if network == "email" else "reply",
        }
        for n, (network, status) in enumerate(rows)
    ]


def _order(key: str, total: str, currency: str) -> dict[str, object]:
    return {
        "checkout_key": key,
        "status": "paid",
        "email": "alice@example.com",
        "ship_name": "Alice",
        "ship_line1": "1 Road",
        "ship_city": "Town",
        "ship_postcode": "12345",
        "ship_country": "US",
        "payment_gateway": "invoice",
        "payment_reference": key,
        "total_amount": Decimal(total),
        "currency": currency,
        "created_at": NOW,
    }


@pytest.fixture
def shop(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    with write_transaction(engine) as connection:
        connection.execute(
            insert(t.outbox),
            _outbox_rows(
                [("x", "queued")] * 3
                + [("bluesky", "queued")]
                + [("email", "queued")] * 2
                + [("x", "failed")] * 2
                + [("x", "sent")]
            ),
        )
        connection.execute(
            insert(t.orders),
            [
                _order("a", "42.50", "USD"),
                _order("b", "0.25", "USD"),
                _order("c", "10.00", "EUR"),
            ],
        )
    yield engine
    engine.dispose()


def test_home_counts_are_exact_under_the_cap(shop: Engine) -> None:
    with read_only_transaction(shop) as connection:
        counts = console.dashboard(connection)
        queued = console.queued_up_to_cap(connection, ["bluesky", "email", "mastodon", "x"])
    assert (counts.outbox_queued, counts.outbox_failed) == (6, 2)
    assert (counts.shown_outbox_queued, counts.shown_outbox_failed) == (6, 2)
    assert counts.orders == 3
    assert counts.revenue == [(Decimal("10.00"), "EUR"), (Decimal("42.75"), "USD")]
    assert queued == {"bluesky": 1, "email": 2, "mastodon": 0, "x": 3}


def test_home_counts_stop_at_the_outboxs_cap(shop: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "OUTBOX_COUNT_CAP", 2)
    with read_only_transaction(shop) as connection:
        counts = console.dashboard(connection)
        queued = console.queued_up_to_cap(connection, ["x", "bluesky"])
        every = console.outbox_status_counts(connection, every=True)
    # Counting stops one past the cap: enough to say "more", never every message.
    assert (counts.outbox_queued, counts.outbox_failed) == (3, 2)
    assert (counts.shown_outbox_queued, counts.shown_outbox_failed) == ("2+", 2)
    assert queued == {"x": 3, "bluesky": 1}
    assert every == {"queued": 3, "sent": 1, "failed": 2, "sending": 0}


def test_home_page_shows_a_capped_outbox_tile(
    web_shop: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "OUTBOX_COUNT_CAP", 1)
    with write_transaction(web_shop.app.engine) as connection:
        connection.execute(
            insert(t.outbox),
            _outbox_rows([("x", "failed"), ("x", "failed"), ("x", "queued")]),
        )
    html = merchant(web_shop).get("/merchant").text
    assert stat(html, "Outbox failed") == "1+"
    assert stat(html, "Outbox queued") == "1"
