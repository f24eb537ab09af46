"""A piece of work run on a beat in a daemon thread (`hashcart serve`'s payment sweep, its live
sales' settle step): started and stopped with the server; a beat that fails is logged and the
next one tries again."""

from __future__ import annotations

import logging
import threading

__all__ = ["Beat"]

log = logging.getLogger(__name__)


class Beat:
    """Calls `beat()` every `every` seconds (the first at once when `first_at_once`) until
    stopped. Subclasses give `beat`, `name` (the thread's) and `failure` (the log line)."""

    name = "hashcart-beat"
    failure = "a beat failed; the next runs in %.0f s"

    def __init__(self, every: float, *, first_at_once: bool = True) -> None:
        self.every = every
        self.first_at_once = first_at_once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        raise NotImplementedError

    def pause(self) -> float:
        """Seconds until the next beat (`every`; a subclass may beat sooner while busy)."""
        return self.every

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        if not self.first_at_once and self._stop.wait(self.every):
            return
        while not self._stop.is_set():
            try:
                self.beat()
            except Exception:
                log.exception(self.failure, self.every)
            self._stop.wait(self.pause())
