"""What Shopify's webhooks announce reaches the catalog at the next sync (issue 16): a
verified `inventory_levels/update` or `products/update` delivery is kept (store_changes), and
the next sync, scheduled or `hashcart store sync`, reads those variants again instead of
waiting for a full listing. A stock change moves no variant's `updatedAt`, so the sync's
listing of changed variants (`updated_at:>'...'`) alone would miss it; the stand-in keeps
`updatedAt` as it was to show that. Bodies as in test_webhooks (Shopify's documented REST
shapes, https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.services.store_sync import sync_catalog, sync_if_due
from hashcart.store import schema as t
from hashcart.stores.shopify import ShopifyStore
from hashcart.web.app import create_app
from tests.peers.shopify.standin import StandIn
from tests.stores.shopify.conftest import Served, Sleeper, make_store
from tests.stores.shopify.test_webhooks import SECRET, post

VARIANT = "gid://shopify/ProductVariant/7"


def _app(path: Path) -> App:
    clock = FixedClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    settings = Settings(database_url=f"sqlite:///{path / 'h.db'}", shopify_webhook_secret=SECRET)
    return open_app(settings, clock)


def _row(app: App) -> tuple[Decimal, int | None]:
    with app.engine.connect() as connection:
        row = connection.execute(
            select(t.products.c.price_amount, t.products.c.stock).where(
                t.products.c.product_id == f"shopify:{VARIANT}"
            )
        ).one()
    return Decimal(row.price_amount), row.stock


def _synced_shop(
    tmp_path: Path, shop: StandIn, served: Served, http: httpx.Client, sleeper: Sleeper
) -> tuple[App, ShopifyStore]:
    """A shop whose catalog was fully synced an hour ago, then changed at Shopify."""
    app = _app(tmp_path)
    store = make_store(served, http, sleeper)
    shop.add_variant(7, 70, "Harbour Tee", price="20.00", quantity=9)
    sync_catalog(app.unit_of_work, store, app.clock, changes=app.store_changes())
    assert _row(app) == (Decimal("20.00"), 9)
    shop.variants[0]["price"] = "24.00"
    shop.variants[0]["inventoryQuantity"] = 3  # updatedAt left as it was
    assert isinstance(app.clock, FixedClock)
    app.clock.advance(timedelta(hours=1))
    shop.seen.clear()
    return app, store


def test_a_stock_webhook_is_applied_by_the_next_sync_without_a_full_listing(
    tmp_path: Path,
    shop: StandIn,
    shopify_served: Served,
    http: httpx.Client,
    sleeper: Sleeper,
) -> None:
    app, store = _synced_shop(tmp_path, shop, shopify_served, http, sleeper)
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        answer = post(
            client,
            {"inventory_item_id": 70, "location_id": 1, "available": 3},
            topic="inventory_levels/update",
        )
    assert answer.status_code == 200

    record = sync_catalog(app.unit_of_work, store, app.clock, changes=app.store_changes())

    assert not record.full
    assert _row(app) == (Decimal("24.00"), 3)
    listings = [seen.variables for seen in shop.seen if seen.operation == "Variants"]
    assert [listing["query"] for listing in listings] == ["updated_at:>'2026-12-06T09:00:00Z'"]
    assert shop.seen[0].operation == "InventoryItemVariants"
    assert app.store_changes().waiting("shopify") == []


def test_the_scheduled_sync_applies_a_product_webhook_and_takes_it_once(
    tmp_path: Path,
    shop: StandIn,
    shopify_served: Served,
    http: httpx.Client,
    sleeper: Sleeper,
) -> None:
    app, store = _synced_shop(tmp_path, shop, shopify_served, http, sleeper)
    product = {"id": 70, "variants": [{"id": 7, "price": "24.00", "inventory_item_id": 70}]}
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        assert post(client, product).status_code == 200

    record = sync_if_due(app.unit_of_work, store, app.clock, 15, app.store_changes())

    assert record is not None and not record.full
    assert _row(app) == (Decimal("24.00"), 3)
    assert [seen.variables["id"] for seen in shop.seen if seen.operation == "Variant"] == [VARIANT]
    shop.seen.clear()
    assert isinstance(app.clock, FixedClock)
    app.clock.advance(timedelta(hours=1))
    sync_if_due(app.unit_of_work, store, app.clock, 15, app.store_changes())
    assert [seen.operation for seen in shop.seen] == ["Variants", "Orders"]  # taken already


def test_a_sync_that_fails_leaves_the_change_waiting(
    tmp_path: Path,
    shop: StandIn,
    shopify_served: Served,
    http: httpx.Client,
    sleeper: Sleeper,
) -> None:
    app, store = _synced_shop(tmp_path, shop, shopify_served, http, sleeper)
    product = {"id": 70, "variants": [{"id": 7}]}
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        assert post(client, product).status_code == 200
    shop.too_many_next(10)

    assert sync_if_due(app.unit_of_work, store, app.clock, 15, app.store_changes()) is not None

    assert _row(app) == (Decimal("20.00"), 9)
    assert [change.topic for change in app.store_changes().waiting("shopify")] == [
        "products/update"
    ]
