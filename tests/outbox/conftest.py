"""Dispatcher tests: a network stand-in on loopback, and a shop on a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import Shop
from tests.outbox.support import PeerNetwork, serve_peer
from tests.smtp_support import SMTPServer, dead_smtp_port, smtp_server

__all__ = ["dead_smtp_port", "smtp_server"]  # fixtures, used by name

SHOP_NAME = "Trailhead Coffee"


@pytest.fixture
def network() -> Iterator[PeerNetwork]:
    """A network stand-in serving on loopback for the test."""
    yield from serve_peer()


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    """A shop on SQLite and on PostgreSQL (each test using it runs on both)."""
    made = Shop(database_url, shop_name=SHOP_NAME)
    yield made
    made.app.engine.dispose()


@pytest.fixture
def mailing_shop(database_url: str, smtp_server: SMTPServer) -> Iterator[Shop]:
    """A shop whose mail goes to the loopback SMTP server, on SQLite and PostgreSQL."""
    made = Shop(
        database_url,
        shop_name=SHOP_NAME,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        mail_from="Trailhead Coffee <shop@trailhead.example>",
    )
    yield made
    made.app.engine.dispose()
