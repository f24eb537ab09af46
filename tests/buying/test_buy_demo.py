"""`hashcart demo` shows a buy with a post: a demo shopper's `#buy` under the brand's post,
the code answered, `#confirm CODE`, and the order the saved test card paid for."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import run_cli


def test_the_demo_buys_with_a_post(tmp_path: Path) -> None:
    result = run_cli(["demo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "Bought with a post: maya.okafor@example.com replied #buy" in " ".join(
        result.stdout.split()
    )
    demo_db = f"sqlite:///{tmp_path / 'hashcart-demo.db'}"
    outbox = json.loads(run_cli(["--db", demo_db, "outbox", "--json"], cwd=tmp_path).stdout)
    reasons = [m["reason"] for m in outbox]
    assert "buy_confirm_needed" in reasons and "purchased" in reasons
    orders = json.loads(run_cli(["--db", demo_db, "orders", "--json"], cwd=tmp_path).stdout)
    # Maya's web order (order care's `#order` answer) and her buy with a post; the newest is
    # the live sale's paid invoice (tests/sales/test_demo_sale.py).
    maya = [order for order in orders if order["email"] == "maya.okafor@example.com"]
    assert len(maya) == 2
    assert maya[0]["lines"][0]["product_id"] == "enamel-mug-pine"


def test_the_live_demo_buys_with_a_post_every_so_often(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from hashcart.bootstrap import open_app
    from hashcart.clock import FixedClock
    from hashcart.config import Settings
    from hashcart.demo import run_demo
    from hashcart.live_demo import BUY_EVERY, BUY_FIRST, LiveFeeder

    clock = FixedClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}"), clock)
    run_demo(app, lambda ingestor, name, lines: ingestor.ingest_lines(name, lines))
    feeder = LiveFeeder(app)
    for _ in range(BUY_FIRST + BUY_EVERY):
        clock.advance(timedelta(seconds=1))
        feeder.step()
    assert feeder.totals.bought == 2  # at beat BUY_FIRST and BUY_EVERY beats later
    app.engine.dispose()
