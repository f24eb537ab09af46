"""A process's settle passes go before its ingest batches (issue 13: a live sale's winners
told within a second past their window under a burst).

`hashcart listen` (and the live-sale bench's ingest processes) run the settle timer in a
thread beside the live sink's ingest, and Python runs one thread at a time: while a burst's
batches kept the interpreter busy, a settle pass that held the winners got about half of it,
so their replies waited for the ingest backlog. While a pass decides and commits its winners,
the sink's next call waits (`wait_turn`), so the pass has the process to itself; the call
that is running finishes first (a batch is never cut), and the pass's waitlisted claims
are written after ingest resumes. The pass never waits for the sink (it skips the items a
batch holds), so neither can wait for the other in a circle.

The sink's batches still settle what is due in their own transactions (at most every
`claim_step`): with the timer alone settling, a 60 s burst on three processes left half its
claims provisional (docs/benchmarks.md, s27-settle)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SettleFirst"]


class SettleFirst:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._passes = 0  # settle passes running now (one timer: 0 or 1)
        self._waiting = 0  # ingest calls waiting for them

    @contextmanager
    def settling(self) -> Iterator[None]:
        """Around a settle pass's winners: ingest calls wait until it ends."""
        with self._changed:
            self._passes += 1
        try:
            yield
        finally:
            with self._changed:
                self._passes -= 1
                self._changed.notify_all()

    def wait_turn(self) -> None:
        """Before an ingest call: wait while a settle pass runs."""
        with self._changed:
            if not self._passes:
                return
            self._waiting += 1
            self._changed.notify_all()
            try:
                self._changed.wait_for(lambda: not self._passes)
            finally:
                self._waiting -= 1

    def wait_for_a_waiting_call(self, timeout: float) -> bool:
        """Whether an ingest call came to wait within `timeout` seconds (for tests and
        the bench's checks: the moment is told, not guessed)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._waiting > 0, timeout)
