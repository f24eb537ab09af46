"""Bluesky tests: the real network on loopback (session-wide), and waiting on conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from cryptography.fernet import Fernet

DEADLINE_SECONDS = 30
TOKEN_KEY = Fernet.generate_key().decode()


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (polling, with a deadline) until `condition()` holds; the checks run in a thread
    as they read the database."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)  # polling a condition with a deadline, not waiting for time
