"""Running the listeners together, each supervised.

A listener reconnects itself; what it cannot survive (a bug, an error it did not expect) is
logged here and the listener started again after a backoff, so one broken network never
silences the others. The listeners and the dispatcher beside the web app
(`BackgroundServices`, `hashcart serve`) are wired in hashcart/live.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from hashcart.backoff import Backoff
from hashcart.listeners.base import Listener

log = logging.getLogger(__name__)

RESTART_BACKOFF = Backoff(first=1.0, cap=60.0)
# A listener that ran this long before failing starts its restart count afresh.
HEALTHY_SECONDS = 300.0


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
