"""The live demo: its feeder stepped by hand on a real SQLite file (no waiting), and
`hashcart demo --serve` as a real server process on loopback (a port already taken fails
before serving, so that one runs in this process, tests/cli_runner.py)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Table, func, select

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.demo import (
    DEMO_MERCHANT_EMAIL,
    DEMO_PASSWORD,
    add_demo_sign_ins,
    run_demo,
)
from hashcart.live_demo import LiveDemo, LiveFeeder
from hashcart.services.ingest import Ingestor
from hashcart.store import accounts
from hashcart.store import schema as t
from hashcart.synthetic import demo_shoppers
from hashcart.synthetic.live import LiveStream
from hashcart.web.passwords import verify_password
from tests.cli_runner import run_cli
from tests.polling import wait_until

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _quietly(ingestor: Ingestor, name: str, lines: list[bytes]) -> None:
    ingestor.ingest_lines(name, lines)


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[tuple[App, FixedClock]]:
    """The demo shop as `hashcart demo` builds it, on a clock the test moves."""
    clock = FixedClock(START)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    app = open_app(settings, clock)
    run_demo(app, _quietly)
    yield app, clock
    app.engine.dispose()


def _count(app: App, table: Table) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _cart_units(app: App) -> int:
    with app.engine.connect() as connection:
        total = connection.execute(select(func.sum(t.cart_lines.c.quantity))).scalar_one()
    return int(total or 0)


def test_each_step_brings_new_posts_and_carts_keep_filling(
    demo_app: tuple[App, FixedClock],
) -> None:
    app, clock = demo_app
    feeder = LiveFeeder(app)
    posts_before, carts_before = _count(app, t.posts), _cart_units(app)
    customers_before = _count(app, t.customers)

    posts_seen = []
    for _ in range(60):
        clock.advance(timedelta(seconds=1))
        report = feeder.step()
        assert len(report.post_ids) == 3  # a few posts a beat
        posts_seen.append(_count(app, t.posts))

    assert posts_seen == sorted(posts_seen) and posts_seen[-1] > posts_before
    assert _cart_units(app) > carts_before
    # New fans replied before linking, then linked: the pending requests were applied.
    assert feeder.totals.linked > 0
    assert _count(app, t.customers) == customers_before + feeder.totals.linked
    with app.engine.connect() as connection:
        applied = connection.execute(
            select(func.count()).where(t.pending_intents.c.status == "applied")
        ).scalar_one()
    assert applied > 0


def test_the_live_stream_has_shoppers_asking_order_and_answered_privately(
    demo_app: tuple[App, FixedClock],
) -> None:
    """Issue 12: the live stream shows `#order` answers too (never a public reply)."""
    app, clock = demo_app
    feeder = LiveFeeder(app)
    with app.engine.connect() as connection:
        before = connection.execute(
            select(func.count()).where(t.outbox.c.reason == "order_status")
        ).scalar_one()
    for _ in range(150):
        clock.advance(timedelta(seconds=1))
        feeder.step()
    with app.engine.connect() as connection:
        answers = connection.execute(
            select(t.outbox.c.channel, t.outbox.c.network).where(
                t.outbox.c.reason == "order_status"
            )
        ).all()
    assert len(answers) > before
    assert {channel for channel, _ in answers} <= {"private", "email"}


def test_live_post_ids_never_collide(demo_app: tuple[App, FixedClock]) -> None:
    app, clock = demo_app
    feeder = LiveFeeder(app)
    with app.engine.connect() as connection:
        before = set(connection.execute(select(t.posts.c.post_id)).scalars())

    ids: list[str] = []
    for step in range(80):
        if step % 2:  # half the beats at the very same moment as the one before
            clock.advance(timedelta(milliseconds=1))
        ids += feeder.step().post_ids

    assert len(ids) == len(set(ids)) == 240
    assert not set(ids) & before  # nor with the demo's own day of posts


def test_a_stream_that_runs_for_hours_repeats_no_id() -> None:
    stream = LiveStream(seed=3)
    now = START
    ids: list[str] = []
    for _ in range(3000):
        ids += stream.beat(now).post_ids
        now += timedelta(milliseconds=250)
    assert len(ids) == len(set(ids))


def test_live_posts_carry_the_moment_they_were_made(demo_app: tuple[App, FixedClock]) -> None:
    app, clock = demo_app
    feeder = LiveFeeder(app)
    clock.advance(timedelta(days=3))
    now = clock.now()

    feeder.step()

    with app.engine.connect() as connection:
        newest = connection.execute(select(func.max(t.posts.c.created_at))).scalar_one()
    assert now <= newest < now + timedelta(seconds=5)


def test_the_live_thread_stops_when_asked(demo_app: tuple[App, FixedClock]) -> None:
    app, _ = demo_app
    live = LiveDemo(LiveFeeder(app), interval=0.05)
    with live:
        assert live.running
    assert not live.running


def test_demo_sign_ins_use_the_demo_password_and_can_be_made_again(
    demo_app: tuple[App, FixedClock],
) -> None:
    app, _ = demo_app
    first = add_demo_sign_ins(app)
    again = add_demo_sign_ins(app)  # a second run on the same database still works

    assert [s.email for s in first] == [s.email for s in again]
    assert [s.email for s in first] == [DEMO_MERCHANT_EMAIL] + [s.email for s in demo_shoppers()]
    with app.engine.connect() as connection:
        merchant = accounts.find_person(connection, "merchant", email=DEMO_MERCHANT_EMAIL)
        maya = accounts.find_person(connection, "shopper", email="maya.okafor@example.com")
    assert merchant is not None and maya is not None
    assert verify_password(DEMO_PASSWORD, merchant.password_hash)
    assert verify_password(DEMO_PASSWORD, maya.password_hash)


# --- the real server ---------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answering(check: Callable[[], bool]) -> Callable[[], bool]:
    """`check`, where a server that does not answer yet counts as "not yet"."""

    def answered() -> bool:
        try:
            return check()
        except httpx.TransportError:
            return False

    return answered


def test_demo_serve_serves_the_shop_with_its_stream_running(tmp_path: Path) -> None:
    # A real process: the demo serves until SIGTERM, and stopping on it is part of the test.
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HASHCART_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hashcart",
            "--db",
            f"sqlite:///{tmp_path / 'served.db'}",
            "demo",
            "--serve",
            "--port",
            str(port),
            "--interval",
            "0.2",
        ],
        cwd=tmp_path,
        env={**clean, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:

            def healthy() -> bool:
                if process.poll() is not None:
                    pytest.fail(f"the demo exited early: {process.communicate()}")
                return client.get("/healthz").status_code == 200

            wait_until(_answering(healthy), "/healthz answers", deadline=180)
            front = client.get("/s/demo")
            assert front.status_code == 200
            assert "Trailhead Coffee" in front.text and 'class="front-post"' in front.text
            first = client.get("/s/demo/count").json()["total"]
            wait_until(
                _answering(lambda: client.get("/s/demo/count").json()["total"] > first),
                "the live stream adds a post",
                deadline=60,
            )
            # The printed sign-ins work: a demo shopper signs in and may add to the cart.
            token = _CSRF.search(client.get("/sign-in").text)
            assert token
            signed_in = client.post(
                "/sign-in",
                data={
                    "csrf_token": token.group(1),
                    "email": "maya.okafor@example.com",
                    "password": DEMO_PASSWORD,
                },
            )
            assert signed_in.status_code == 303, signed_in.text
            assert 'action="/cart/add"' in client.get("/s/demo").text
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert DEMO_MERCHANT_EMAIL in out and DEMO_PASSWORD in out
    assert f"{base}/s/demo" in out
    assert "Stopped. The live stream added" in out


def test_demo_serve_on_a_port_in_use_fails_at_once_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(["demo", "--serve", "--port", str(port)], cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"hashcart: error: cannot listen on 127.0.0.1:{port}")
    assert not (tmp_path / "hashcart-demo.db").exists()  # nothing was built first
