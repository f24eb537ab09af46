"""The Shopify store reads the catalog and stock through the Admin GraphQL API, against the
loopback stand-in (tests/peers/shopify, answering as
https://shopify.dev/docs/api/admin-graphql/latest/queries/productVariants and
https://shopify.dev/docs/api/usage/pagination-graphql document)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx

from hashcart.ports import StoreVariant
from hashcart.stores.shopify import ShopifyStore
from tests.peers.shopify.standin import CURRENCY, StandIn
from tests.stores.shopify.conftest import Served, Sleeper, make_store


def _listing(store: ShopifyStore, since: datetime | None = None) -> tuple[list[StoreVariant], int]:
    """Every page, as the sync reads them: (variants, pages)."""
    variants: list[StoreVariant] = []
    cursor, pages = None, 0
    while True:
        page = store.list_variants(cursor, since)
        variants.extend(page.variants)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return variants, pages


def test_a_full_listing_pages_through_three_pages_with_the_cursor_shopify_gave(
    shopify_served: Served, shop: StandIn, http: httpx.Client, sleeper: Sleeper
) -> None:
    for number in range(1, 6):
        shop.add_variant(number, 100 + number, f"Mug {number}", price=f"{number}.50")
    store = make_store(shopify_served, http, sleeper, page_size=2)

    variants, pages = _listing(store)

    assert pages == 3
    assert [v.variant_id for v in variants] == [
        f"gid://shopify/ProductVariant/{n}" for n in range(1, 6)
    ]
    asked = [seen.variables for seen in shop.seen]
    assert [a["first"] for a in asked] == [2, 2, 2]
    assert asked[0]["after"] is None and asked[1]["after"] and asked[2]["after"]
    assert asked[1]["after"] != asked[2]["after"]
    assert all(a["query"] is None for a in asked)
    assert variants[2].price == Decimal("3.50") and variants[2].currency == CURRENCY


def test_a_variant_carries_price_stock_options_and_its_product_page(
    store: ShopifyStore, shop: StandIn
) -> None:
    shop.add_variant(
        7,
        70,
        "Trail Tee",
        title="Red / M",
        price="24.00",
        quantity=3,
        options={"Color": "Red", "Size": "M"},
    )
    shop.add_variant(8, 80, "Gift Card", quantity=0, tracked=False)
    shop.add_variant(9, 90, "Old Cap", status="DRAFT", quantity=-2)

    tee, card, cap = store.list_variants(None, None).variants

    assert tee.title == "Trail Tee - Red / M"
    assert tee.product_id == "gid://shopify/Product/70"
    assert (tee.price, tee.stock, tee.sku) == (Decimal("24.00"), 3, "SKU-7")
    assert tee.options == {"color": "Red", "size": "M"}
    assert tee.url == "https://shop.example/products/trail-tee?variant=7"
    assert tee.enabled and tee.updated_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert card.stock is None, "Shopify does not track it: no count to reserve against"
    assert card.title == "Gift Card" and card.options == {}
    assert card.url == "https://shop.example/products/gift-card"
    assert not cap.enabled and cap.stock == 0, "a draft is not sellable; stock never below 0"
    assert cap.url == "https://hashcart-test.myshopify.com/products/old-cap"


def test_changes_since_a_time_ask_shopify_for_variants_updated_after_it(
    store: ShopifyStore, shop: StandIn
) -> None:
    shop.add_variant(1, 10, "Mug", updated_at="2026-12-01T09:00:00Z")
    shop.add_variant(2, 20, "Bowl", updated_at="2026-12-05T09:00:00Z")
    shop.add_variant(3, 30, "Plate", updated_at="2026-12-06T03:00:00Z")

    page = store.list_variants(None, datetime(2026, 12, 5, 12, 0, tzinfo=UTC))

    assert [v.title for v in page.variants] == ["Plate"]
    assert shop.seen[0].variables["query"] == "updated_at:>'2026-12-05T12:00:00Z'"
    assert page.next_cursor is None


def test_reading_one_variant_sums_what_is_available_at_each_location(
    store: ShopifyStore, shop: StandIn
) -> None:
    variant_id = shop.add_variant(4, 40, "Kettle", price="39.90", quantity=1)
    shop.levels[variant_id] = [2, 5, 0]

    live = store.read_variant(variant_id)

    assert live is not None and live.stock == 7 and live.price == Decimal("39.90")
    assert shop.seen[0].operation == "Variant"
    assert store.read_variant("gid://shopify/ProductVariant/999") is None
    assert store.read_variant("4") is not None, "the bare number of a product URL works too"
    assert store.read_variant("not-a-variant") is None


def test_an_inventory_webhook_s_items_are_read_back_as_their_variants(
    store: ShopifyStore, shop: StandIn
) -> None:
    shop.add_variant(5, 50, "Pan")
    shop.add_variant(6, 60, "Pot")

    variants = store.variants_of_inventory_items(["60", "gid://shopify/InventoryItem/999"])

    assert [v.title for v in variants] == ["Pot"]
    assert shop.seen[0].variables["ids"] == [
        "gid://shopify/InventoryItem/60",
        "gid://shopify/InventoryItem/999",
    ]
