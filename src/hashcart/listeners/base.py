"""What a stream listener is: something that runs until told to stop, reconnecting itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from hashcart.ports import Listener

__all__ = ["Listener", "Wait", "wait_or_stop"]

# How a listener waits between reconnects: `wait(seconds, stop)`. Tests pass their own, which
# records the delay and returns at once, so no test waits for real time.
Wait = Callable[[float, asyncio.Event], Awaitable[None]]


async def wait_or_stop(seconds: float, stop: asyncio.Event) -> None:
    """Wait `seconds`, or less when `stop` is set meanwhile (the default between reconnects)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
