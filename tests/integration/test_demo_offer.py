"""`hashcart demo` shows an offer by hashtag (issue 12): the built demo has a shopper load
`#trailhead10` from a Bluesky post and prices her cart at checkout with it, the served
demo's live stream has linked shoppers load it too, and the command prints it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.demo import run_demo
from hashcart.demo_offer import DEMO_OFFER_TAG
from hashcart.live_demo import LiveFeeder
from hashcart.services.ingest import Ingestor
from hashcart.store import schema as t
from hashcart.synthetic import demo_shoppers
from tests.cli_runner import run_cli

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _quietly(ingestor: Ingestor, name: str, lines: list[bytes]) -> None:
    ingestor.ingest_lines(name, lines)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[App, FixedClock, object]]:
    clock = FixedClock(START)
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"), clock)
    run = run_demo(app, _quietly)
    yield app, clock, run
    app.engine.dispose()


def _loads(app: App) -> list[dict[str, object]]:
    with app.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(t.offer_loads))]


def test_the_built_demo_loads_the_offer_and_applies_it_at_checkout(
    demo: tuple[App, FixedClock, object],
) -> None:
    app, _, run = demo
    offer = run.offer  # type: ignore[attr-defined]
    assert offer.tag == DEMO_OFFER_TAG and offer.loaded
    assert offer.shopper == demo_shoppers()[0].email
    assert offer.subtotal > 0
    assert offer.discount == (offer.subtotal / 10).quantize(Decimal("0.01"))
    assert offer.to_pay == offer.subtotal - offer.discount
    [load] = _loads(app)
    assert load["status"] == "loaded" and load["network"] == "bluesky"


def test_the_live_stream_has_linked_shoppers_load_the_offer(
    demo: tuple[App, FixedClock, object],
) -> None:
    app, clock, _ = demo
    feeder = LiveFeeder(app)
    before = len(_loads(app))
    for _ in range(12):
        clock.advance(timedelta(seconds=5))
        feeder.step()
    live = [load for load in _loads(app)[before:]]
    assert live, "no live post loaded the offer"
    assert all(load["parent_post_id"] is not None for load in live)  # replies to brand posts


def test_the_demo_command_prints_the_offer_at_checkout(tmp_path: Path) -> None:
    result = run_cli(["demo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert f"offer #{DEMO_OFFER_TAG} (10% off) loaded by {demo_shoppers()[0].email}" in (
        result.stdout
    )
    assert "at checkout her cart of" in result.stdout
