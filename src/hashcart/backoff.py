"""How long to wait before trying again: one home for every listener's reconnects and the
dispatcher's retries. Jitter spreads many clients' retries so they do not come back at once."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# How a listener waits between reconnects: `wait(seconds, stop)`. Tests pass their own, which
# records the delay and returns at once, so no test waits for real time.
Wait = Callable[[float, asyncio.Event], Awaitable[None]]


async def wait_or_stop(seconds: float, stop: asyncio.Event) -> None:
    """Wait `seconds`, or less when `stop` is set meanwhile (the default between reconnects)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


@dataclass(frozen=True)
class Backoff:
    """`first` seconds after the first failure, times `factor` after each further one, never
    more than `cap`. With `jitter`, a delay is drawn uniformly from [delay/2, delay]
    ("equal jitter"): never zero, never more than the plain schedule."""

    first: float
    cap: float
    factor: float = 2.0
    # Added instead of multiplied (X's documented reconnects after TCP errors: +250 ms).
    linear: bool = False
    jitter: bool = True

    def plain_delay(self, failures: int) -> float:
        """The delay after `failures` failures in a row (1 = the first), without jitter."""
        if failures < 1:
            return 0.0
        if self.linear:
            return min(self.cap, self.first * failures)
        return min(self.cap, self.first * self.factor ** min(failures - 1, 64))

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        plain = self.plain_delay(failures)
        if not self.jitter or plain == 0.0:
            return plain
        draw = (rng or random).random()
        return plain / 2 + draw * plain / 2
