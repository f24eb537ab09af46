"""hashcart with a merchant's own Vendure store (issue 16), against a real Vendure 3.7 on
loopback (tests/peers/vendure): the catalog sync, a change made in Vendure's admin picked up
by the next sync, a `#cart` reply on a post linking the store's product page, the cart handed
to Vendure as an order with the same lines, the shopper's checkout there, and the order back
in hashcart's funnel. One Vendure serves every test; each makes its own products."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.services.store_sync import hand_off_cart, poll_orders, sync_catalog
from hashcart.store import schema as t
from hashcart.views.funnel import funnel
from tests.cli_runner import run_cli
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.peers.vendure.fixture import ADMIN_PASSWORD, ADMIN_USERNAME, VendurePeer, unique
from tests.stores.vendure_catalog import (
    CHECKOUT_URL,
    check_out_as_shopper,
    make_product,
    update_variant,
)
from tests.web.cart_support import SHOPPER_DID, signed_in
from tests.web.conftest import WebShop

EMAIL = "sam@example.com"


def store_settings(vendure: VendurePeer) -> dict[str, Any]:
    return {
        "store": "vendure",
        "vendure_url": vendure.url,
        "vendure_admin_username": ADMIN_USERNAME,
        "vendure_admin_password": ADMIN_PASSWORD,
        "store_checkout_url": CHECKOUT_URL,
    }


@pytest.fixture
def shop(vendure: VendurePeer, tmp_path: Path) -> Iterator[WebShop]:
    """The web shop on a SQLite file, its store the test Vendure (the sync does not depend
    on the database: it writes through the same upserts as a catalog import)."""
    web_shop = WebShop(f"sqlite:///{tmp_path / 'hashcart.db'}", **store_settings(vendure))
    yield web_shop
    web_shop.close()


def catalog_row(shop: WebShop, product_id: str) -> Any:
    with shop.app.engine.connect() as connection:
        return connection.execute(
            select(t.products).where(t.products.c.product_id == product_id)
        ).one()


def sync(shop: WebShop, *, full: bool = False) -> Any:
    return sync_catalog(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock, full=full)


def test_a_sync_brings_the_stores_variants_into_the_catalog(
    vendure: VendurePeer, shop: WebShop
) -> None:
    made = make_product(vendure, "Trail Tee", {"s": 5, "m": 2})
    record = sync(shop)
    assert record.full and record.error is None and record.seen >= 2
    small = catalog_row(shop, f"vendure:{made.variant_ids['s']}")
    medium = catalog_row(shop, f"vendure:{made.variant_ids['m']}")
    # 12.50 with the channel's 20% tax: what the shopper pays at the store.
    assert (small.title, small.price_amount, small.currency) == (
        "Trail Tee S",
        Decimal("15.00"),
        "USD",
    )
    assert (small.stock, medium.stock) == (5, 2)
    assert small.availability == medium.availability == "in_stock"
    assert small.link == made.url("s")
    assert small.item_group_id == medium.item_group_id == f"vendure:{made.product_id}"
    assert (small.size, medium.size) == ("S", "M")
    # The shop's hosts are the store's: its product pages resolve to its variants.
    assert shop.app.shop().catalog.resolve(made.url("m")) == f"vendure:{made.variant_ids['m']}"


def test_a_price_and_stock_changed_in_vendures_admin_are_picked_up_by_the_next_sync(
    vendure: VendurePeer, shop: WebShop
) -> None:
    made = make_product(vendure, "Camp Mug", {"s": 4, "l": 9})
    sync(shop)
    update_variant(vendure, made.variant_ids["s"], price=2000, stockOnHand=1)
    update_variant(vendure, made.variant_ids["l"], enabled=False)
    record = sync(shop)
    assert not record.full  # the schedule's kind: no full listing owed yet
    changed = catalog_row(shop, f"vendure:{made.variant_ids['s']}")
    assert (changed.price_amount, changed.stock) == (Decimal("24.00"), 1)
    # Withdrawn at the store: unsellable here, and kept (carts and orders point at it).
    assert catalog_row(shop, f"vendure:{made.variant_ids['l']}").availability == "discontinued"


def test_store_sync_and_store_status_commands_report_the_sync(
    vendure: VendurePeer, tmp_path: Path
) -> None:
    make_product(vendure, "Flask", {"one": 3})
    env = {
        "HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        **{f"HASHCART_{key.upper()}": value for key, value in store_settings(vendure).items()},
    }
    synced = run_cli(["store", "sync", "--full"], env=env, cwd=tmp_path)
    assert synced.exit_code == 0, synced.stderr
    assert "synced Vendure:" in synced.stdout and "(full)" in synced.stdout
    status = run_cli(["store", "status", "--json"], env=env, cwd=tmp_path)
    assert status.exit_code == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["store"] == "vendure" and shown["last_sync"]["error"] is None
    assert shown["products"] == shown["last_sync"]["seen"] >= 1
    assert shown["last_sync"]["full"] is True


def test_store_sync_says_in_one_line_when_vendure_does_not_answer(tmp_path: Path) -> None:
    env = {
        "HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "HASHCART_STORE": "vendure",
        "HASHCART_VENDURE_URL": "http://127.0.0.1:9",  # the discard port: nothing listens
        "HASHCART_VENDURE_ADMIN_TOKEN": "token",
    }
    failed = run_cli(["store", "sync"], env=env, cwd=tmp_path)
    assert failed.exit_code == 1
    assert failed.stderr.startswith("hashcart: error: Vendure at http://127.0.0.1:9/admin-api")
    status = run_cli(["store", "status", "--json"], env=env, cwd=tmp_path)
    assert json.loads(status.stdout)["last_sync"]["errors_in_a_row"] == 1


def test_store_sync_with_the_builtin_store_is_a_usage_error(tmp_path: Path) -> None:
    env = {"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    refused = run_cli(["store", "sync"], env=env, cwd=tmp_path)
    assert refused.exit_code == 2
    assert "store is 'builtin'" in refused.stderr


def test_a_cart_reply_ends_as_a_vendure_order_counted_in_the_funnel(
    vendure: VendurePeer, shop: WebShop
) -> None:
    made = make_product(vendure, "Summit Hoodie", {"s": 6, "m": 6})
    sync(shop)
    browser = signed_in(shop, EMAIL)
    shop.link(EMAIL, shop_network(), SHOPPER_DID, "sam.bsky.social")
    # The brand posts the store's product page on Bluesky; the shopper replies `#cart x2 M`.
    link = made.url("m")
    brand_rkey, reply_rkey = unique("3brand"), unique("3reply")
    post = post_uri(SHOP_DID, brand_rkey)
    shop.ingest(
        [
            jetstream_post(SHOP_DID, brand_rkey, f"New hoodie {link}", links=(link,)),
            jetstream_post(SHOPPER_DID, reply_rkey, "#cart x2 M", reply_to=post, minutes=5),
        ]
    )
    product_id = f"vendure:{made.variant_ids['m']}"
    assert shop.cart(EMAIL) == [(product_id, 2)]

    # The cart page offers the store's checkout, and hands the lines over (303 there).
    page = browser.get("/cart")
    assert "Check out at Vendure" in page.text
    # Its form may lead to the store's checkout (a redirect after a form is form-action's).
    assert "form-action 'self' https://store.example;" in (
        page.headers["content-security-policy"] + ";"
    )
    answer = browser.submit("/cart/handoff")
    assert answer.status_code == 303
    where = answer.headers["location"]
    assert where.startswith("https://store.example/checkout?token=")
    token = where.split("token=", 1)[1].split("&", 1)[0]

    # At Vendure: the shopper's order with the same line and quantity, as a guest of theirs.
    shopper = vendure.shopper(token)
    order = shopper.call(
        "{ activeOrder { code customer { emailAddress } lines { quantity "
        "productVariant { id } } } }"
    )["activeOrder"]
    assert [(line["productVariant"]["id"], line["quantity"]) for line in order["lines"]] == [
        (made.variant_ids["m"], 2)
    ]
    assert order["customer"]["emailAddress"] == EMAIL
    assert where.endswith(f"&order={order['code']}")

    # The shopper pays there; the order is authorised at the store.
    paid = check_out_as_shopper(shopper)
    assert paid["state"] == "PaymentAuthorized"

    # Polling brings it back, once, and the funnel counts it and its revenue for the post.
    assert poll_orders(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock) == 1
    assert poll_orders(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock) == 0
    with shop.app.engine.connect() as connection:
        row = next(
            row
            for row in funnel(connection, shop.clock.now()).rows
            if (row.network, row.post_id) == ("bluesky", post)
        )
        stored = connection.execute(
            select(t.orders).where(t.orders.c.payment_reference == order["code"])
        ).one()
    assert (row.orders, row.units) == (1, 2)
    assert row.revenue == {"USD": Decimal("30.00")}
    assert (stored.status, stored.payment_gateway, stored.email) == ("placed", "vendure", EMAIL)
    assert stored.total_amount == Decimal(paid["totalWithTax"]) / 100  # type: ignore[arg-type]
    # Bought: the handed-off line left the cart.
    assert shop.cart(EMAIL) == []


def test_a_handoff_refused_by_vendure_keeps_the_cart_and_says_why(
    vendure: VendurePeer, shop: WebShop
) -> None:
    made = make_product(vendure, "Rare Stove", {"one": 1})
    sync(shop)
    signed_in(shop, EMAIL)
    product_id = f"vendure:{made.variant_ids['one']}"
    with shop.app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(EMAIL)
    assert customer_id is not None
    with shop.app.engine.begin() as connection:
        connection.execute(
            t.cart_lines.insert().values(
                customer_id=customer_id,
                product_id=product_id,
                quantity=3,
                network="web",
                post_id="",
                created_at=shop.clock.now(),
            )
        )
    # Three of a variant with one in stock: Vendure answers InsufficientStockError (HTTP 200).
    from hashcart.ports import StoreRefused

    with pytest.raises(StoreRefused, match="InsufficientStockError"):
        hand_off_cart(
            shop.app.unit_of_work, shop.app.commerce_store(), shop.clock, customer_id, EMAIL
        )
    assert shop.cart(EMAIL) == [(product_id, 3)]


def shop_network() -> Any:
    from hashcart.domain.posts import Network

    return Network.BLUESKY
