"""Listeners run together and are restarted when they break; `hashcart serve`'s background
services (listeners and dispatcher in daemon threads) start and stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from hashcart.backoff import Backoff
from hashcart.listeners.runner import run_listeners
from hashcart.live import BackgroundServices
from hashcart.services.mail import Email, queue_email
from tests.harness import Shop
from tests.polling import wait_until
from tests.smtp_support import SMTPServer

QUICK = Backoff(first=0.01, cap=0.01, jitter=False)
DEADLINE_SECONDS = 20


class FailsFirst:
    """Drops with an error the first time, then listens until told to stop."""

    name = "fails_first"

    def __init__(self) -> None:
        self.starts = 0
        self.listening = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.starts += 1
        if self.starts == 1:
            raise ConnectionResetError("the stream dropped")
        self.listening.set()
        await stop.wait()


class Steady:
    name = "steady"

    def __init__(self) -> None:
        self.starts = 0
        self.stopped = threading.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.starts += 1
        await stop.wait()
        self.stopped.set()


class AlwaysFails:
    name = "always_fails"

    def __init__(self) -> None:
        self.failed = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.failed.set()
        raise RuntimeError("a bug")


def test_a_listener_that_breaks_is_started_again_and_the_others_keep_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky, steady = FailsFirst(), Steady()

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(run_listeners([flaky, steady], stop, restart_backoff=QUICK))
        await asyncio.wait_for(flaky.listening.wait(), DEADLINE_SECONDS)
        stop.set()
        await asyncio.wait_for(running, DEADLINE_SECONDS)

    with caplog.at_level(logging.ERROR, logger="hashcart.listeners.runner"):
        asyncio.run(scenario())

    assert (flaky.starts, steady.starts) == (2, 1)
    assert steady.stopped.is_set()
    [record] = caplog.records
    assert record.getMessage() == "listener fails_first failed; starting it again in 0.0 s"
    assert record.exc_info is not None and "the stream dropped" in str(record.exc_info[1])


def test_stop_ends_a_listener_s_backoff_at_once() -> None:
    broken = AlwaysFails()

    async def scenario() -> None:
        stop = asyncio.Event()
        slow = Backoff(first=3600, cap=3600, jitter=False)
        running = asyncio.create_task(run_listeners([broken], stop, restart_backoff=slow))
        await asyncio.wait_for(broken.failed.wait(), DEADLINE_SECONDS)
        stop.set()
        # Returns although an hour's backoff had begun.
        await asyncio.wait_for(running, DEADLINE_SECONDS)

    asyncio.run(scenario())


def test_background_services_send_mail_and_run_listeners_until_stopped(
    tmp_path: Path, smtp_server: SMTPServer
) -> None:
    shop = Shop(
        f"sqlite:///{tmp_path / 'bg.db'}", smtp_host=smtp_server.host, smtp_port=smtp_server.port
    )
    with shop.app.unit_of_work() as uow:
        queue_email(
            uow.repository,
            Email("sam@example.com", "Hello", "Hello Sam", "order_confirmed", "bg-1"),
            shop.clock.now(),
        )
    steady = Steady()
    services = BackgroundServices(shop.app, listeners=[steady])

    services.start()
    try:
        assert services.describe() == [
            "  listeners:        steady",
            "  dispatcher:       sending for email",
        ]
        wait_until(lambda: len(smtp_server.messages) == 1)
        assert sorted(services.running) == ["hashcart-dispatcher", "hashcart-listeners"]
    finally:
        services.stop()

    assert services.running == []
    assert steady.stopped.is_set()
    assert smtp_server.messages[0]["To"] == "sam@example.com"
    shop.app.engine.dispose()


def test_with_nothing_configured_only_an_idle_dispatcher_runs(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'idle.db'}")
    services = BackgroundServices(shop.app)

    services.start()
    try:
        assert services.describe() == [
            "  listeners:        none configured (settings: listeners)",
            "  dispatcher:       idle: no network sender or SMTP server configured",
        ]
        assert services.running == ["hashcart-dispatcher"]
    finally:
        services.stop()
    assert services.running == []


def test_turned_off_nothing_runs(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'off.db'}")
    services = BackgroundServices(shop.app, listen=False, dispatch=False, listeners=[Steady()])

    services.start()
    services.stop()

    assert services.describe() == []
    assert services.running == []
