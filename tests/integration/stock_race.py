"""Contenders for the last units of one product, run as threads and as processes: each opens
its own engine, waits at the shared barrier, and tries to hold one unit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hashcart.store.database import make_engine
from hashcart.store.stock import OutOfStock, reserve

PRODUCT = "mug"


def contend(url: str, holder: str, now: datetime, barrier: Any, results: Any) -> None:
    """Hold one unit of PRODUCT for `holder`; put (holder, True/False, error) on `results`."""
    engine = make_engine(url)
    try:
        with engine.connect():  # connected before the start, so all start together
            pass
        barrier.wait(timeout=120)
        try:
            with engine.begin() as connection:
                reserve(
                    connection,
                    holder,
                    {PRODUCT: 1},
                    reason="race",
                    now=now,
                    until=now + timedelta(minutes=15),
                )
        except OutOfStock:
            results.put((holder, False, None))
        else:
            results.put((holder, True, None))
    except BaseException as error:  # reported to the test, with its type
        results.put((holder, False, repr(error)))
    finally:
        engine.dispose()
