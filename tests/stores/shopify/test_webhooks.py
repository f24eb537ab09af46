"""`POST /webhooks/shopify`: deliveries signed in `X-Shopify-Hmac-Sha256` (the base64
HMAC-SHA256 of the raw body with the app's secret) and taken once by `X-Shopify-Webhook-Id`
(https://shopify.dev/docs/apps/build/webhooks/verify-deliveries). The bodies are hand-built
in the REST shapes the topics deliver (https://shopify.dev/docs/api/webhooks?reference=toml
#list-of-topics: products/update, inventory_levels/update, orders/create)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from hashcart.bootstrap import App, open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.ports import HandoffLine, StoreChange
from hashcart.store import schema as t
from hashcart.store.store_changes import StoredStoreChanges
from hashcart.stores.shopify import parse_webhook, verify_webhook
from hashcart.web.app import create_app

SECRET = "shopify_client_secret_for_tests"
DELIVERY = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"

# products/update: the REST Product (https://shopify.dev/docs/api/admin-rest/latest/
# resources/product#resource-object), trimmed to what hashcart reads and a little more.
PRODUCT_UPDATE = {
    "id": 788032119674292922,
    "admin_graphql_api_id": "gid://shopify/Product/788032119674292922",
    "title": "Example T-Shirt",
    "status": "active",
    "updated_at": "2026-12-06T03:58:00-05:00",
    "variants": [
        {
            "id": 642667041472713922,
            "admin_graphql_api_id": "gid://shopify/ProductVariant/642667041472713922",
            "price": "19.99",
            "inventory_item_id": 1070325019,
        },
        {"id": 757650484644203962, "price": "19.99", "inventory_item_id": 1070325020},
    ],
}
# inventory_levels/update: the REST InventoryLevel (https://shopify.dev/docs/api/admin-rest/
# latest/resources/inventorylevel#resource-object).
INVENTORY_UPDATE = {
    "inventory_item_id": 271878346596884015,
    "location_id": 24826418,
    "available": 6,
    "updated_at": "2026-12-06T03:58:00-05:00",
    "admin_graphql_api_id": "gid://shopify/InventoryLevel/24826418?inventory_item_id=1",
}
# orders/create: the REST Order (https://shopify.dev/docs/api/admin-rest/latest/resources/
# order#resource-object) with the handoff's cart attribute kept as a note attribute.
ORDER_CREATE = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "name": "#9999",
    "created_at": "2026-12-06T04:01:00-05:00",
    "currency": "EUR",
    "financial_status": "paid",
    "total_price": "403.00",
    "note_attributes": [{"name": "hashcart_handoff", "value": "handoff-0001"}],
    "line_items": [
        {"id": 866550311766439020, "variant_id": 808950810, "quantity": 1, "price": "199.00"},
        {"id": 141249953214522974, "variant_id": None, "quantity": 1, "price": "5.00"},
    ],
}


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(
    client: TestClient,
    document: dict[str, Any],
    *,
    topic: str = "products/update",
    delivery: str = DELIVERY,
    hmac_header: str | None = "sign",
) -> Any:
    body = json.dumps(document).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery,
        "X-Shopify-Shop-Domain": "hashcart-test.myshopify.com",
        "X-Shopify-API-Version": "2025-10",
    }
    if hmac_header is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature(body) if hmac_header == "sign" else hmac_header
    return client.post("/webhooks/shopify", content=body, headers=headers)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file brought to the current schema, copied for each test: migrating a
    fresh database for each would cost seconds a test."""
    path = tmp_path_factory.mktemp("shopify-webhooks") / "migrated.db"
    open_app(Settings(database_url=f"sqlite:///{path}")).engine.dispose()
    return path


def _app(database_url: str, migrated: Path, **settings: Any) -> App:
    settings.setdefault("shopify_webhook_secret", SECRET)
    if database_url.startswith("sqlite:///"):
        shutil.copyfile(migrated, database_url.removeprefix("sqlite:///"))
    clock = FixedClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    return open_app(Settings(database_url=database_url, **settings), clock)


@pytest.fixture
def app(tmp_path: Path, migrated: Path) -> App:
    return _app(f"sqlite:///{tmp_path / 'hashcart.db'}", migrated)


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        yield client


def _kept(app: App) -> tuple[int, int]:
    """(store changes, webhook deliveries) in the database."""
    with app.engine.connect() as connection:
        changes = connection.scalar(select(func.count()).select_from(t.store_changes))
        deliveries = connection.scalar(select(func.count()).select_from(t.webhook_deliveries))
    return int(changes or 0), int(deliveries or 0)


@pytest.mark.parametrize(
    "hmac_header",
    [
        None,
        "",
        "not base64!",
        signature(json.dumps(PRODUCT_UPDATE).encode(), secret="another_app_s_secret"),
        signature(b'{"id": 1}'),
    ],
    ids=["missing", "empty", "garbage", "other-secret", "other-body"],
)
def test_a_delivery_without_the_right_signature_is_refused_and_nothing_is_kept(
    app: App, client: TestClient, hmac_header: str | None
) -> None:
    answer = post(client, PRODUCT_UPDATE, hmac_header=hmac_header)

    assert answer.status_code == 401
    assert _kept(app) == (0, 0)


def test_a_signed_delivery_is_kept_once_and_its_replay_changes_nothing(
    database_url: str, migrated: Path
) -> None:
    app = _app(database_url, migrated)
    with TestClient(create_app(app), base_url="http://127.0.0.1") as client:
        first = post(client, PRODUCT_UPDATE)
        again = post(client, PRODUCT_UPDATE)

    assert (first.status_code, first.json()["detail"]) == (200, "products/update: taken")
    assert (again.status_code, again.json()["detail"]) == (200, "a repeat: nothing changed")
    assert _kept(app) == (1, 1)
    (change,) = StoredStoreChanges(app.engine, app.clock).waiting("shopify")
    assert change == StoreChange(
        store="shopify",
        delivery_id=DELIVERY,
        topic="products/update",
        product_ids=("gid://shopify/Product/788032119674292922",),
        variant_ids=(
            "gid://shopify/ProductVariant/642667041472713922",
            "gid://shopify/ProductVariant/757650484644203962",
        ),
    )


def test_the_same_delivery_recorded_twice_is_one_change_and_a_taken_one_waits_no_more(
    database_url: str, migrated: Path
) -> None:
    """Two copies of one delivery can pass the repeat check at once: the record itself is
    once by (store, delivery id), a database fact."""
    app = _app(database_url, migrated)
    changes = StoredStoreChanges(app.engine, app.clock)
    change = parse_webhook("orders/create", DELIVERY, json.dumps(ORDER_CREATE).encode())
    assert change is not None

    changes.record(change)
    changes.record(change)

    assert changes.waiting("shopify") == [change]
    changes.mark_taken("shopify", [DELIVERY])
    assert changes.waiting("shopify") == []


def test_another_delivery_of_the_same_product_is_kept_beside_the_first(
    app: App, client: TestClient
) -> None:
    post(client, PRODUCT_UPDATE)
    post(client, PRODUCT_UPDATE, delivery="c2d1f0a4-0000-4000-8000-000000000002")
    assert _kept(app) == (2, 2)


def test_the_app_s_own_sink_gets_the_change_instead(app: App) -> None:
    taken: list[StoreChange] = []
    with TestClient(create_app(app, store_changes=taken.append)) as client:
        answer = post(client, INVENTORY_UPDATE, topic="inventory_levels/update")

    assert answer.status_code == 200
    assert taken == [
        StoreChange(
            "shopify",
            DELIVERY,
            "inventory_levels/update",
            inventory_item_ids=("gid://shopify/InventoryItem/271878346596884015",),
        )
    ]
    assert _kept(app) == (0, 1)


def test_a_sink_that_fails_leaves_the_delivery_to_be_sent_again(app: App) -> None:
    def broken(change: StoreChange) -> None:
        raise RuntimeError("the sync's database is away")

    with TestClient(create_app(app, store_changes=broken), raise_server_exceptions=False) as c:
        assert post(c, PRODUCT_UPDATE).status_code == 500
    with TestClient(create_app(app)) as client:
        assert post(client, PRODUCT_UPDATE).json()["detail"] == "products/update: taken"
    assert _kept(app) == (1, 1)


def test_an_order_placed_at_the_shop_comes_back_with_its_handoff(
    app: App, client: TestClient
) -> None:
    assert post(client, ORDER_CREATE, topic="orders/create").status_code == 200

    (change,) = StoredStoreChanges(app.engine, app.clock).waiting("shopify")
    order = change.order
    assert order is not None
    assert order.reference == "gid://shopify/Order/820982911946154508"
    assert order.handoff_reference == "handoff-0001"
    assert (order.state, order.total, order.currency) == ("PAID", Decimal("403.00"), "EUR")
    assert order.lines == (HandoffLine("gid://shopify/ProductVariant/808950810", 1),)
    assert order.placed_at == datetime(2026, 12, 6, 9, 1, tzinfo=UTC)


def test_a_topic_hashcart_does_not_read_is_taken_and_left_alone(
    app: App, client: TestClient
) -> None:
    answer = post(client, {"id": 1}, topic="customers/create")
    assert (answer.status_code, answer.json()["detail"]) == (200, "customers/create: nothing to do")
    assert _kept(app) == (0, 1)


@pytest.mark.parametrize(
    ("topic", "document"),
    [
        ("products/update", {"title": "no id"}),
        ("inventory_levels/update", {"available": 3}),
        ("orders/create", {"name": "#1"}),
        ("orders/create", {"id": 5, "total_price": "lots"}),
    ],
)
def test_a_signed_body_that_is_not_its_topic_s_shape_is_refused_and_not_kept(
    app: App, client: TestClient, topic: str, document: dict[str, Any]
) -> None:
    assert post(client, document, topic=topic).status_code == 400
    assert _kept(app) == (0, 0)


def test_a_delivery_without_its_id_is_refused(app: App, client: TestClient) -> None:
    assert post(client, PRODUCT_UPDATE, delivery="").status_code == 400
    assert _kept(app) == (0, 0)


def test_without_a_webhook_secret_there_is_no_endpoint(tmp_path: Path, migrated: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'h.db'}", migrated, shopify_webhook_secret=None)
    with TestClient(create_app(app)) as client:
        assert post(client, PRODUCT_UPDATE).status_code == 404
    assert _kept(app) == (0, 0)


@given(body=st.binary(max_size=300), flip=st.integers(0, 299))
def test_a_signature_verifies_its_own_body_and_no_changed_one(body: bytes, flip: int) -> None:
    signed = signature(body)
    assert verify_webhook(body, signed, SECRET)
    assert not verify_webhook(body, signed, SECRET + "x")
    if body:
        changed = bytearray(body)
        changed[flip % len(body)] ^= 0x01
        assert not verify_webhook(bytes(changed), signed, SECRET)
