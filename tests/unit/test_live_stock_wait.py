"""The store's live stock is read while a reservation's transaction holds its locks
(services/store_stock.LiveStock), so a store that hangs must not hold them for its whole HTTP
timeout: the reservation waits at most `wait` and goes on with the last sync's count, and the
late answer still fills the cache for the next reservation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from hashcart.clock import FixedClock
from hashcart.services.store_stock import LiveStock


class _HangingStore:
    """Answers read_variant only once `answer` is set (a store stuck on the network)."""

    name = "vendure"

    def __init__(self) -> None:
        self.answer = threading.Event()
        self.answered = threading.Event()

    def read_variant(self, variant_id: str) -> Any:
        self.answer.wait(timeout=30)
        self.answered.set()
        return type("Variant", (), {"enabled": True, "stock": 4})()


def test_a_hanging_store_is_waited_for_briefly_and_its_late_answer_is_kept() -> None:
    store = _HangingStore()
    clock = FixedClock(datetime(2026, 12, 6, 8, tzinfo=UTC))
    reader = LiveStock(store, clock, timedelta(seconds=30), wait=0.05)  # type: ignore[arg-type]
    assert reader("vendure:7") is None  # not answered within the wait: the sync's count stands
    store.answer.set()
    assert store.answered.wait(timeout=10)
    reader._asking.shutdown(wait=True)  # the late answer has been cached
    assert reader("vendure:7") == 4
