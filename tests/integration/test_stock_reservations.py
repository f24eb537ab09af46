"""Stock holds on real databases: never below zero, all or nothing, expired holds stop
counting, a retried holder holds once, a sale takes the units out of stock; and many
writers at once (threads, and on PostgreSQL processes too) racing for the last units get
exactly those units, never more."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hashcart.domain.stock import Shortage
from hashcart.store import schema as t
from hashcart.store import stock
from hashcart.store.stock import OutOfStock
from tests.harness import Shop
from tests.integration.stock_race import PRODUCT, contend

HOLD = timedelta(minutes=15)


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    made = Shop(database_url)
    yield made
    made.app.engine.dispose()


def _set_stock(shop: Shop, product_id: str, units: int | None) -> None:
    with shop.app.engine.begin() as connection:
        stock.set_stock(connection, product_id, units)


def _reserve(shop: Shop, holder: str, wanted: dict[str, int], after: timedelta = HOLD * 0) -> None:
    now = shop.clock.now() + after
    with shop.app.engine.begin() as connection:
        stock.reserve(connection, holder, wanted, reason="test", now=now, until=now + HOLD)


def _level(shop: Shop, product_id: str) -> stock.StockLevel:
    with shop.app.engine.connect() as connection:
        level = stock.stock_level(connection, product_id)
    assert level is not None
    return level


def _held(shop: Shop, product_id: str) -> int:
    """Units in live hold rows, counted from the rows themselves (not the counter)."""
    with shop.app.engine.connect() as connection:
        total = connection.scalar(
            select(func.coalesce(func.sum(t.reservations.c.quantity), 0)).where(
                t.reservations.c.product_id == product_id, t.reservations.c.status == "held"
            )
        )
    return int(total or 0)


def test_a_hold_takes_units_and_the_rest_stay_free(shop: Shop) -> None:
    _set_stock(shop, "mug", 5)

    _reserve(shop, "checkout:a", {"mug": 2})

    assert _level(shop, "mug") == stock.StockLevel("mug", 5, 2)
    assert _level(shop, "mug").free == 3
    assert _held(shop, "mug") == 2


def test_more_than_is_left_is_refused_and_nothing_is_held(shop: Shop) -> None:
    _set_stock(shop, "mug", 2)
    _set_stock(shop, "beans", 10)

    with pytest.raises(OutOfStock) as refused:
        _reserve(shop, "checkout:a", {"beans": 4, "mug": 3})

    assert refused.value.shortages == (Shortage("mug", 3, 2),)
    # All or nothing: the beans the same call held went back with the rollback.
    assert _level(shop, "beans").reserved == 0 and _held(shop, "beans") == 0
    assert _level(shop, "mug").reserved == 0


def test_an_uncounted_product_is_never_short(shop: Shop) -> None:
    _reserve(shop, "checkout:a", {"mug": 1000})

    assert _level(shop, "mug").stock is None
    assert _held(shop, "mug") == 1000


def test_expired_holds_stop_counting(shop: Shop) -> None:
    _set_stock(shop, "mug", 3)
    _reserve(shop, "checkout:a", {"mug": 3})
    with pytest.raises(OutOfStock):
        _reserve(shop, "checkout:b", {"mug": 1}, after=HOLD - timedelta(seconds=1))

    _reserve(shop, "checkout:b", {"mug": 3}, after=HOLD)

    assert _level(shop, "mug") == stock.StockLevel("mug", 3, 3)
    with shop.app.engine.connect() as connection:
        statuses = dict(
            connection.execute(select(t.reservations.c.holder, t.reservations.c.status)).all()
        )
    assert statuses == {"checkout:a": "expired", "checkout:b": "held"}


def test_a_retried_holder_holds_once(shop: Shop) -> None:
    _set_stock(shop, "mug", 3)
    _reserve(shop, "checkout:a", {"mug": 2})

    _reserve(shop, "checkout:a", {"mug": 2})

    assert _level(shop, "mug").reserved == 2 and _held(shop, "mug") == 2


def test_a_holder_whose_hold_ended_holds_again_and_it_counts(shop: Shop) -> None:
    _set_stock(shop, "mug", 3)
    _reserve(shop, "checkout:a", {"mug": 2})

    _reserve(shop, "checkout:a", {"mug": 2}, after=HOLD)  # the first expired meanwhile

    assert _level(shop, "mug").reserved == 2 and _held(shop, "mug") == 2
    with shop.app.engine.connect() as connection:
        statuses = connection.scalars(
            select(t.reservations.c.status).order_by(t.reservations.c.id)
        ).all()
    assert statuses == ["expired", "held"]


def test_a_released_hold_gives_its_units_back(shop: Shop) -> None:
    _set_stock(shop, "mug", 3)
    _reserve(shop, "checkout:a", {"mug": 3})

    with shop.app.engine.begin() as connection:
        freed = stock.release(connection, "checkout:a", shop.clock.now())
        again = stock.release(connection, "checkout:a", shop.clock.now())

    assert (freed, again) == (3, 0)
    assert _level(shop, "mug") == stock.StockLevel("mug", 3, 0)


def test_a_converted_hold_leaves_stock_as_a_sale(shop: Shop) -> None:
    _set_stock(shop, "mug", 5)
    _reserve(shop, "checkout:a", {"mug": 2})

    with shop.app.engine.begin() as connection:
        stock.convert(
            connection, "checkout:a", "order:7", {"mug": 2}, reason="test", now=shop.clock.now()
        )
        assert stock.holds_of(connection, "checkout:a") == {}

    assert _level(shop, "mug") == stock.StockLevel("mug", 3, 0)
    with shop.app.engine.connect() as connection:
        [row] = connection.execute(select(t.reservations)).all()
    assert (row.holder, row.status, row.quantity) == ("order:7", "converted", 2)


def test_a_sale_whose_hold_expired_takes_free_units_or_is_refused(shop: Shop) -> None:
    _set_stock(shop, "mug", 2)
    _reserve(shop, "checkout:a", {"mug": 2})
    later = shop.clock.now() + HOLD
    _reserve(shop, "checkout:b", {"mug": 1}, after=HOLD)  # sweeps a's hold, takes 1

    with shop.app.engine.begin() as connection:
        stock.convert(connection, "checkout:a", "order:1", {"mug": 1}, reason="t", now=later)
    with pytest.raises(OutOfStock), shop.app.engine.begin() as connection:
        stock.convert(connection, "checkout:c", "order:2", {"mug": 1}, reason="t", now=later)

    assert _level(shop, "mug") == stock.StockLevel("mug", 1, 1)  # b's hold on the last one


# the race for the last units ---------------------------------------------------------------

LAST_UNITS = 3


def _race(shop: Shop, url: str, threads: int, processes: int) -> list[tuple[str, bool, Any]]:
    """`threads` + `processes` contenders, all released at once, for LAST_UNITS units."""
    _set_stock(shop, PRODUCT, LAST_UNITS)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(threads + processes)
    results: Any = context.Queue() if processes else queue.Queue()
    now = shop.clock.now()
    workers: list[Any] = [
        context.Process(target=contend, args=(url, f"process:{n}", now, barrier, results))
        for n in range(processes)
    ]
    workers += [
        threading.Thread(target=contend, args=(url, f"thread:{n}", now, barrier, results))
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def _assert_exactly_the_last_units_went(shop: Shop, outcomes: list[tuple[str, bool, Any]]) -> None:
    assert [error for _, _, error in outcomes if error] == []
    winners = [holder for holder, won, _ in outcomes if won]
    assert len(winners) == LAST_UNITS
    level = _level(shop, PRODUCT)
    assert level.reserved == _held(shop, PRODUCT) == LAST_UNITS
    assert level.reserved <= (level.stock or 0)
    with shop.app.engine.connect() as connection:
        holders = connection.scalars(
            select(t.reservations.c.holder).where(t.reservations.c.status == "held")
        ).all()
    assert sorted(holders) == sorted(winners)


@pytest.mark.postgres
def test_threads_and_processes_on_postgresql_get_exactly_the_last_units(
    postgres_server: str,
) -> None:
    from tests.databases import fresh_postgres_database

    url = fresh_postgres_database(postgres_server)
    shop = Shop(url)
    try:
        outcomes = _race(shop, url, threads=8, processes=4)
        _assert_exactly_the_last_units_went(shop, outcomes)
        assert {holder.split(":")[0] for holder, _, _ in outcomes} == {"thread", "process"}
    finally:
        shop.app.engine.dispose()


def test_threads_on_sqlite_get_exactly_the_last_units(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    shop = Shop(url)
    try:
        _assert_exactly_the_last_units_went(shop, _race(shop, url, threads=10, processes=0))
    finally:
        shop.app.engine.dispose()
