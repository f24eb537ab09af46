"""Waiting for a condition, never for time: poll it until it holds, or fail at a deadline.

The one helper every test that waits on another thread, process or server uses; the deadline
is generous (a loaded CI machine), the poll interval short (a condition usually holds at
once)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEADLINE_SECONDS = 30
POLL_SECONDS = 0.01


def wait_until(
    condition: Callable[[], bool],
    what: str = "the condition",
    deadline: float = DEADLINE_SECONDS,
    poll: float = POLL_SECONDS,
) -> None:
    """Poll `condition()` until it holds; AssertionError naming `what` at the deadline. A
    condition that asks a server (a connection and requests per call) passes a longer `poll`."""
    give_up = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(poll)  # polling a condition with a deadline, not waiting for time


async def until(
    condition: Callable[[], bool], what: str = "the condition", deadline: float = DEADLINE_SECONDS
) -> None:
    """`wait_until` inside an event loop: the checks run in a thread (they read the
    database), so the loop keeps serving whatever the test is waiting for."""
    give_up = time.monotonic() + deadline
    while not await asyncio.to_thread(condition):
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(POLL_SECONDS)
