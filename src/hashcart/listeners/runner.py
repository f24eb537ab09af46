"""Running the listeners together, and the listeners plus the dispatcher beside the web app.

A listener reconnects itself; what it cannot survive (a bug, an error it did not expect) is
logged here and the listener started again after a backoff, so one broken network never
silences the others. `BackgroundServices` gives `hashcart serve` both loops in daemon
threads: an asyncio loop for the listeners, a plain thread for the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence

from hashcart.listeners.base import Listener
from hashcart.listeners.sink import LiveHost
from hashcart.networks.backoff import Backoff
from hashcart.outbox.senders import Sender

log = logging.getLogger(__name__)

RESTART_BACKOFF = Backoff(first=1.0, cap=60.0)
# A listener that ran this long before failing starts its restart count afresh.
HEALTHY_SECONDS = 300.0
# How long stopping waits for a thread before giving up on it (it is a daemon).
STOP_TIMEOUT_SECONDS = 30.0


async def run_listeners(
    listeners: Sequence[Listener],
    stop: asyncio.Event,
    *,
    restart_backoff: Backoff = RESTART_BACKOFF,
) -> None:
    """Run every listener until `stop` is set and all have ended. One that raises (or ends
    on its own while it should be listening) is logged and started again after a backoff."""
    await asyncio.gather(*(_supervise(one, stop, restart_backoff) for one in listeners))


async def _supervise(listener: Listener, stop: asyncio.Event, backoff: Backoff) -> None:
    loop = asyncio.get_running_loop()
    failures = 0
    while not stop.is_set():
        started = loop.time()
        try:
            await listener.run(stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            if loop.time() - started >= HEALTHY_SECONDS:
                failures = 0
            failures += 1
            delay = backoff.delay(failures)
            log.exception(
                "listener %s failed; starting it again in %.1f s",
                listener.name,
                delay,
                extra={"listener": listener.name},
            )
        else:
            if stop.is_set():
                return
            failures += 1
            delay = backoff.delay(failures)
            log.warning(
                "listener %s ended by itself; starting it again in %.1f s",
                listener.name,
                delay,
                extra={"listener": listener.name},
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)


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
        from hashcart.listeners import registry
        from hashcart.outbox.dispatcher import build_senders, run_dispatcher

        if self.listen:
            self.listeners = (
                self._given
                if self._given is not None
                else registry.listeners(self.app, registry.live_ingest(self.app))
            )
        if self.listeners:
            self._start_thread("hashcart-listeners", self._listen_forever)
            self._loop_ready.wait(timeout=STOP_TIMEOUT_SECONDS)
        if self.dispatch:
            settings = self.app.effective_settings()
            self.senders = build_senders(self.app, settings)

            def dispatch() -> None:
                run_dispatcher(self.app, self._dispatch_stop, self.senders, built_from=settings)

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
