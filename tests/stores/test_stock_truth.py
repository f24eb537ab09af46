"""Stock truth with the merchant's own store (issue 16), against the real Vendure: a
reservation (what a `#buy`, a live sale's won item and a checkout make) reads the variant's
live stock through the store first, so hashcart never holds more than the store reports even
when the catalog's count (the last sync's) says more; two shoppers racing for the store's
last unit get it once, on SQLite and PostgreSQL; and each sync reconciles the holds with the
store's count."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hashcart.clock import FixedClock
from hashcart.ports import OutOfStock
from hashcart.services.store_sync import sync_catalog
from tests.peers.vendure.fixture import VendurePeer
from tests.stores.test_vendure_store import store_settings
from tests.stores.vendure_catalog import make_product, update_variant
from tests.web.conftest import WebShop


@pytest.fixture
def shop(vendure: VendurePeer, database_url: str) -> Iterator[WebShop]:
    """On SQLite and PostgreSQL: the race is the database's to decide."""
    web_shop = WebShop(database_url, **store_settings(vendure))
    yield web_shop
    web_shop.close()


@pytest.fixture
def sqlite_shop(vendure: VendurePeer, tmp_path: Path) -> Iterator[WebShop]:
    web_shop = WebShop(f"sqlite:///{tmp_path / 'hashcart.db'}", **store_settings(vendure))
    yield web_shop
    web_shop.close()


def _level(shop: WebShop, product_id: str) -> tuple[int | None, int]:
    with shop.app.unit_of_work() as uow:
        level = uow.stock.level(product_id)
    assert level is not None
    return level.stock, level.reserved


def test_two_reservations_for_the_stores_last_unit_one_wins(
    vendure: VendurePeer, shop: WebShop
) -> None:
    made = make_product(vendure, "Last Lamp", {"one": 3})
    sync_catalog(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock)
    product_id = f"vendure:{made.variant_ids['one']}"
    assert _level(shop, product_id) == (3, 0)
    # Sold at the store meanwhile: one left there, while the catalog still says three.
    update_variant(vendure, made.variant_ids["one"], stockOnHand=1)

    start = threading.Barrier(2)
    outcomes: list[str] = []

    def reserve(holder: str) -> None:
        start.wait()
        now = shop.clock.now()
        try:
            with shop.app.unit_of_work() as uow:
                uow.stock.reserve(
                    holder, {product_id: 1}, reason="buy", now=now, until=now + timedelta(hours=1)
                )
            outcomes.append("held")
        except OutOfStock:
            outcomes.append("out")

    threads = [threading.Thread(target=reserve, args=(f"buy:{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["held", "out"]
    assert _level(shop, product_id) == (1, 1)  # the store's count, held once


def test_each_sync_reconciles_the_holds_with_the_stores_count(
    vendure: VendurePeer, sqlite_shop: WebShop
) -> None:
    shop = sqlite_shop
    made = make_product(vendure, "Trail Stove", {"one": 4})
    product_id = f"vendure:{made.variant_ids['one']}"
    sync_catalog(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock)
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        uow.stock.reserve("buy:a", {product_id: 2}, reason="buy", now=now, until=now)
        uow.stock.reserve(
            "buy:b", {product_id: 1}, reason="buy", now=now, until=now + timedelta(hours=1)
        )
    update_variant(vendure, made.variant_ids["one"], stockOnHand=2)
    clock: Any = shop.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(minutes=20))

    sync_catalog(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock)

    # The store's two; the hold whose time ran out is gone, the live one stands.
    assert _level(shop, product_id) == (2, 1)
    with shop.app.unit_of_work() as uow, pytest.raises(OutOfStock):
        uow.stock.reserve("buy:c", {product_id: 2}, reason="buy", now=clock.now(), until=now)
