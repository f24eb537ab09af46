"""The built-in shop as a CommerceStore (issue 16): its catalog tables are the store, so the
use cases never ask which store is behind them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hashcart.ports import HandoffLine, StoreRefused
from hashcart.store.own_store import BuiltinStore
from tests.web.conftest import WebShop


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[WebShop]:
    web_shop = WebShop(f"sqlite:///{tmp_path / 'hashcart.db'}")
    yield web_shop
    web_shop.close()


def test_the_builtin_store_is_the_catalog_paged_in_id_order(shop: WebShop) -> None:
    store = shop.app.commerce_store()
    assert isinstance(store, BuiltinStore) and store.name == "builtin"
    assert shop.app.external_store() is None
    store.PAGE_SIZE = 3  # type: ignore[misc]
    first = store.list_variants(None, None)
    assert [v.variant_id for v in first.variants] == ["beans", "grinder", "kettle"]
    assert first.next_cursor == "kettle"
    rest = store.list_variants(first.next_cursor, None)
    assert [v.variant_id for v in rest.variants] == ["mug"] and rest.next_cursor is None
    mug = store.read_variant("mug")
    assert mug is not None and (mug.price, mug.currency) == (Decimal("18.00"), "USD")
    assert store.read_variant("no-such-product") is None
    grinder = first.variants[1]
    assert not grinder.enabled  # discontinued in the catalog: withdrawn


def test_the_builtin_handoff_is_the_shops_own_checkout(shop: WebShop) -> None:
    store = shop.app.commerce_store()
    handoff = store.hand_off([HandoffLine("mug", 1)], "sam@example.com", "ref-1")
    assert handoff.checkout_url == "http://127.0.0.1:8000/checkout"
    assert handoff.reference == "ref-1"
    with pytest.raises(StoreRefused):
        store.hand_off([], None, "ref-2")
