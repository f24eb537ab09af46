"""Handing a shopper's lines to the Shopify shop: a Storefront API cart
(https://shopify.dev/docs/api/storefront/latest/mutations/cartCreate) with the lines, the
shopper's email (`buyerIdentity.email`) and hashcart's reference as a cart attribute; its
`checkoutUrl` is where the shopper finishes. Orders placed come back through the Admin API's
`orders` (https://shopify.dev/docs/api/admin-graphql/latest/queries/orders) carrying that
attribute."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from hashcart.ports import HandoffLine, StoreRefused
from hashcart.stores.shopify import ShopifyStore
from tests.peers.shopify.standin import SHOP, StandIn
from tests.stores.shopify.conftest import Served, Sleeper


def test_a_handoff_returns_the_shop_s_checkout_url_for_a_cart_with_the_lines_and_email(
    store: ShopifyStore, shop: StandIn
) -> None:
    mug = shop.add_variant(1, 10, "Mug")
    tee = shop.add_variant(2, 20, "Tee")

    handoff = store.hand_off(
        [HandoffLine(mug, 2), HandoffLine("2", 1)], "sam@example.com", "handoff-0001"
    )

    assert handoff.checkout_url.startswith(f"https://{SHOP}/cart/c/")
    assert handoff.reference == "handoff-0001"
    (received,) = shop.carts
    assert received["lines"] == [
        {"merchandiseId": mug, "quantity": 2},
        {"merchandiseId": tee, "quantity": 1},
    ]
    assert received["buyerIdentity"] == {"email": "sam@example.com"}
    assert received["attributes"] == [{"key": "hashcart_handoff", "value": "handoff-0001"}]
    assert shop.seen[-1].api == "storefront"


def test_a_handoff_without_an_email_sends_no_buyer_identity(
    store: ShopifyStore, shop: StandIn
) -> None:
    mug = shop.add_variant(1, 10, "Mug")
    store.hand_off([HandoffLine(mug, 1)], None, "handoff-0002")
    assert "buyerIdentity" not in shop.carts[0]


def test_cart_create_user_errors_are_refused_in_shopify_s_words(
    store: ShopifyStore, shop: StandIn
) -> None:
    shop.add_variant(1, 10, "Mug")

    with pytest.raises(StoreRefused) as refused:
        store.hand_off([HandoffLine("gid://shopify/ProductVariant/404", 1)], None, "h-3")

    assert str(refused.value) == (
        "The merchandise with id gid://shopify/ProductVariant/404 does not exist."
    )


def test_a_line_shopify_cut_for_stock_is_refused_with_its_warning(
    store: ShopifyStore, shop: StandIn
) -> None:
    """Since 2024-10 stock shortfalls are cartCreate `warnings`, not `userErrors`: the cart
    is made with less in it, which hashcart does not pass on as a finished handoff."""
    mug = shop.add_variant(1, 10, "Mug", quantity=2)
    gift = shop.add_variant(2, 20, "Gift Card", quantity=0, tracked=False)

    with pytest.raises(StoreRefused, match="Only 2 items were added to your cart"):
        store.hand_off([HandoffLine(mug, 3), HandoffLine(gift, 5)], None, "h-6")
    assert store.hand_off([HandoffLine(mug, 2), HandoffLine(gift, 5)], None, "h-7")


def test_a_line_that_names_no_shopify_variant_is_refused_before_asking(
    store: ShopifyStore, shop: StandIn
) -> None:
    with pytest.raises(StoreRefused, match="no Shopify variant"):
        store.hand_off([HandoffLine("vendure:12", 1)], None, "h-4")
    assert shop.seen == []


def test_without_a_storefront_token_there_is_no_handoff(
    shopify_served: Served, http: httpx.Client, sleeper: Sleeper
) -> None:
    store = ShopifyStore(
        SHOP, "shpat_x", None, "2025-10", api_base=shopify_served.url, http=http, sleep=sleeper
    )
    with pytest.raises(StoreRefused, match="shopify_storefront_token"):
        store.hand_off([HandoffLine("1", 1)], None, "h-5")


def test_orders_since_a_time_come_back_with_the_handoff_they_finished(
    store: ShopifyStore, shop: StandIn
) -> None:
    mug = "gid://shopify/ProductVariant/1"
    shop.add_order(1, "2026-12-04T10:00:00Z", "handoff-old", [(mug, 1)])
    for number in range(2, 55):  # two pages of 50
        shop.add_order(number, "2026-12-06T01:00:00Z", f"handoff-{number}", [(mug, 2)])
    shop.add_order(55, "2026-12-06T02:00:00Z", None, [(mug, 1)])

    found = store.orders_since(datetime(2026, 12, 5, tzinfo=UTC))

    assert len(found) == 54 and len(shop.seen) == 2
    first = found[0]
    assert first.reference == "gid://shopify/Order/2"
    assert first.handoff_reference == "handoff-2"
    assert (first.state, first.total, first.currency) == ("PAID", Decimal("42.50"), "EUR")
    assert first.lines == (HandoffLine(mug, 2),)
    assert first.placed_at == datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
    assert found[-1].handoff_reference is None, "an order placed at the shop on its own"
    assert shop.seen[0].variables["query"] == "created_at:>'2026-12-05T00:00:00Z'"
