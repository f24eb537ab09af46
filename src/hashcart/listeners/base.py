"""What a stream listener is: something that runs until told to stop, reconnecting itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

# How a listener waits between reconnects: `wait(seconds, stop)`. Tests pass their own, which
# records the delay and returns at once, so no test waits for real time.
Wait = Callable[[float, asyncio.Event], Awaitable[None]]


async def wait_or_stop(seconds: float, stop: asyncio.Event) -> None:
    """Wait `seconds`, or less when `stop` is set meanwhile (the default between reconnects)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class Listener(Protocol):
    # Names the listener in logs and its cursor in `stream_cursors` (x_stream, jetstream…).
    name: str

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, reconnecting with backoff after every failure; hand
        each payload to the sink (`await asyncio.to_thread(sink.ingest, …)`) and save the
        cursor only after the sink returned."""
        ...
