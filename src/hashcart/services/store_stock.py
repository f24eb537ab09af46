"""Stock truth with the merchant's own store (issue 16): the store's live sellable count of a
variant, read through the port when hashcart reserves stock (a `#buy`'s hold, a live sale's
won item, a checkout), behind a short cache so that a burst of claims asks the store once.

The count it gives becomes the catalog's count before the guarded hold (store/stock), so
hashcart never holds more than the store reports. A store that does not answer, or a
variant it does not count, leaves the catalog's count (the last sync's) as it is.

The read happens while the reservation's transaction is open, against ARCHITECTURE's rule that
nothing talks to a network inside one; it is bounded instead: the reservation waits at most
`wait` seconds for the store (the answer, when it comes, still fills the cache for the next
one), so a hanging store cannot hold the writers' locks for its whole HTTP timeout."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as WaitedTooLong
from datetime import datetime, timedelta

from hashcart.ports import Clock, CommerceStore, StoreRefused, StoreUnreachable, store_variant_id

log = logging.getLogger(__name__)


class LiveStock:
    """ports.LiveStockReader on one store: a catalog product id -> the store's sellable
    count now (None: not known), each variant asked at most once every `ttl`."""

    def __init__(
        self, store: CommerceStore, clock: Clock, ttl: timedelta, wait: float = 2.0
    ) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self.wait = wait
        self._asking = ThreadPoolExecutor(max_workers=2, thread_name_prefix="live-stock")
        self._seen: dict[str, tuple[datetime, int | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, product_id: str) -> int | None:
        variant_id = store_variant_id(self.store.name, product_id)
        if variant_id is None:
            return None
        now = self.clock.now()
        with self._lock:
            cached = self._seen.get(product_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        asked = self._asking.submit(self._ask, product_id, variant_id, now)
        try:
            return asked.result(timeout=self.wait)
        except WaitedTooLong:
            log.warning(
                "the store took over %ss to count %s: last sync's count", self.wait, product_id
            )
            return None

    def _ask(self, product_id: str, variant_id: str, now: datetime) -> int | None:
        try:
            variant = self.store.read_variant(variant_id)
        except (StoreUnreachable, StoreRefused) as error:
            log.warning("the live stock of %s was not read: %s", product_id, error)
            return None
        # A variant gone from the store, or withdrawn there, has nothing to sell.
        count = 0 if variant is None or not variant.enabled else variant.stock
        with self._lock:
            self._seen[product_id] = (now, count)
        return count
