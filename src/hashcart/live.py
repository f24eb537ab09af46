"""The live networks, wired: the live sink with what feeds it, the listeners, and the
listeners plus the dispatcher beside the web app (`BackgroundServices`, `hashcart serve`).

This is composition, at the root's layer: the parts come from each registered network's
adapter (networks/registry), the store (short-link resolutions) and the outbox (the
dispatcher); the use case itself, LiveIngest, lives with the use cases (services/live_ingest)
and the listeners depend only on its port (ports.LiveSink)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from hashcart.domain.products import ShopHosts
from hashcart.listeners.runner import run_listeners
from hashcart.metrics import metrics
from hashcart.networks.registry import fetchers, listeners, senders
from hashcart.networks.shortlinks import SHOP_HOSTS_REFRESH, ShortLinkResolver, shortener_hosts
from hashcart.ports import Listener, Sender
from hashcart.services.ingest import IngestStats
from hashcart.services.live_ingest import LiveHost, LiveIngest
from hashcart.store.resolved_links import StoredResolutions

__all__ = ["BackgroundServices", "fetchers", "listeners", "live_ingest", "senders"]

log = logging.getLogger(__name__)

# How long stopping waits for a thread before giving up on it (it is a daemon).
STOP_TIMEOUT_SECONDS = 30.0


def live_ingest(app: LiveHost) -> LiveIngest:
    """The sink for live payloads, with parent fetchers and the short-link resolver; the
    parents that stored triggers still wait for are fetched with its first payload."""
    wiring: dict[str, Any] = {
        "fetchers": fetchers(app),
        "resolve_links": link_resolver(app),
        "extra_hosts": app.settings.shortener_hosts,
    }
    sink: LiveIngest
    if app.settings.bus_url:  # the listeners and webhooks publish, the workers act
        from hashcart.bus.client import BusSettings
        from hashcart.live_bus import BusIngest

        sink = BusIngest(app, BusSettings.of(app.settings), **wiring)
    else:
        sink = LiveIngest(app, **wiring)
    if app.settings.metrics_port:
        sink.on_counted = _measure_ingest
    sink.recall_waiting_parents()
    return sink


def _measure_ingest(done: IngestStats, seconds: float) -> None:
    measure = metrics()
    measure.counted(done.posts, done.triggers, done.actions.lines_added, done.dead_letters)
    measure.batch_seconds.observe(seconds)


class ShopUrls:
    """Whether a URL is on one of the shop's hosts (read again every SHOP_HOSTS_REFRESH,
    since catalog imports and the console change them)."""

    def __init__(self, app: LiveHost) -> None:
        self.app = app
        self._hosts: ShopHosts | None = None
        self._read_at: datetime | None = None

    def __call__(self, url: str) -> bool:
        now = self.app.clock.now()
        if (
            self._hosts is None
            or self._read_at is None
            or now - self._read_at >= SHOP_HOSTS_REFRESH
        ):
            self._hosts = self.app.shop().hosts
            self._read_at = now
        return self._hosts.matches_url(url)


def link_resolver(app: LiveHost) -> ShortLinkResolver | None:
    """The live ingest's short-link resolver, or None when no shortener host is set."""
    hosts = shortener_hosts(app.effective_settings().shortener_hosts)
    if not hosts:
        return None
    return ShortLinkResolver(
        StoredResolutions(app.engine, app.clock), hosts, is_shop_url=ShopUrls(app)
    )


class BackgroundServices:
    """The configured listeners and the dispatcher, each in a daemon thread, started and
    stopped together (`hashcart serve`)."""

    def __init__(
        self,
        app: LiveHost,
        *,
        listen: bool = True,
        dispatch: bool = True,
        listeners: Sequence[Listener] | None = None,
    ) -> None:
        self.app = app
        self.listen = listen
        self.dispatch = dispatch
        # Given listeners replace the configured ones (tests); None: from the settings.
        self._given = None if listeners is None else list(listeners)
        self.listeners: list[Listener] = []
        self.senders: dict[str, Sender] = {}
        self._threads: list[threading.Thread] = []
        self._dispatch_stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listen_stop: asyncio.Event | None = None
        self._loop_ready = threading.Event()

    @property
    def listener_names(self) -> list[str]:
        return [listener.name for listener in self.listeners]

    def describe(self) -> list[str]:
        """What runs, one line each, for the command's banner."""
        lines: list[str] = []
        if self.listen:
            names = ", ".join(self.listener_names) or "none configured (settings: listeners)"
            lines.append(f"  listeners:        {names}")
        if self.dispatch:
            networks = ", ".join(sorted(self.senders))
            lines.append(
                f"  dispatcher:       sending for {networks}"
                if networks
                else "  dispatcher:       idle: no network sender or SMTP server configured"
            )
        return lines

    def start(self) -> None:
        """Build what the settings configure and start it. It is built here, in the caller's
        thread, so a setting that cannot work fails the command at once."""
        from hashcart.outbox.dispatcher import DispatchRun, build_senders, run_dispatcher

        if self.listen:
            self.listeners = (
                self._given
                if self._given is not None
                else listeners(self.app, live_ingest(self.app))
            )
        if self.listeners:
            self._start_thread("hashcart-listeners", self._listen_forever)
            self._loop_ready.wait(timeout=STOP_TIMEOUT_SECONDS)
        if self.dispatch:
            settings = self.app.effective_settings()
            self.senders = build_senders(self.app, settings)

            def measured(run: DispatchRun) -> None:
                metrics().dispatched(run.sent, run.failed)

            def dispatch() -> None:
                run_dispatcher(
                    self.app,
                    self._dispatch_stop,
                    self.senders,
                    built_from=settings,
                    on_run=measured if self.app.settings.metrics_port else None,
                )

            self._start_thread("hashcart-dispatcher", dispatch)

    @property
    def running(self) -> list[str]:
        """The names of its threads still alive (hashcart-listeners, hashcart-dispatcher)."""
        return [thread.name for thread in self._threads if thread.is_alive()]

    def stop(self) -> None:
        """Ask both loops to end, and wait for them (each finishes what it is sending)."""
        self._dispatch_stop.set()
        if self._loop is not None and self._listen_stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._listen_stop.set)
        for thread in self._threads:
            thread.join(timeout=STOP_TIMEOUT_SECONDS)
            if thread.is_alive():
                log.warning("%s did not stop in %.0f s", thread.name, STOP_TIMEOUT_SECONDS)

    def _start_thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _listen_forever(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._listen_stop = asyncio.Event()
            self._loop_ready.set()
            await run_listeners(self.listeners, self._listen_stop)

        try:
            asyncio.run(main())
        except Exception:
            log.exception("the listeners' loop ended with an error")
        finally:
            self._loop_ready.set()
