"""The merchant's Shopify shop as hashcart's CommerceStore: catalog and stock read through
the Admin GraphQL API, carts handed over through the Storefront API's `cartCreate`, orders
read back through the Admin API's `orders`."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from hashcart.config import Settings
from hashcart.ports import (
    Handoff,
    HandoffLine,
    StoreOrder,
    StorePage,
    StoreRefused,
    StoreUnreachable,
    StoreVariant,
)
from hashcart.stores.registry import StoreNotConfigured
from hashcart.stores.shopify import catalog, ids, orders, queries
from hashcart.stores.shopify.graphql import DEFAULT_ATTEMPTS, Endpoint, GraphQL, Sleep

# Variants a page: Shopify's most is 250; 100 keeps one page's cost well inside a bucket.
PAGE_SIZE = 100
# Orders a page of orders_since (each with up to 100 lines).
ORDERS_PAGE_SIZE = 50
# cartCreate's warnings that mean the cart holds less than was asked
# (https://shopify.dev/docs/api/storefront/latest/enums/CartWarningCode).
STOCK_WARNINGS = frozenset({"MERCHANDISE_NOT_ENOUGH_STOCK", "MERCHANDISE_OUT_OF_STOCK"})
# Pages orders_since reads at most in one call; the sync asks again from the last one.
MAX_ORDER_PAGES = 20


class ShopifyNotConfigured(StoreNotConfigured):
    """The settings lack what the Shopify store needs; the message names the setting."""


class ShopifyStore:
    """CommerceStore on one Shopify shop. `http` and `sleep` are injectable: tests give a
    client for their stand-in and a sleeper that moves their clock."""

    name = "shopify"
    label = "Shopify"

    def __init__(
        self,
        shop_domain: str,
        admin_token: str,
        storefront_token: str | None,
        api_version: str,
        *,
        api_base: str = "",
        http: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        attempts: int = DEFAULT_ATTEMPTS,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.shop_domain = shop_domain
        base = (api_base or f"https://{shop_domain}").rstrip("/")
        client = http or httpx.Client(follow_redirects=False)
        self.admin = GraphQL(
            Endpoint(
                f"{base}/admin/api/{api_version}/graphql.json",
                {"X-Shopify-Access-Token": admin_token},
            ),
            client,
            sleep,
            attempts,
        )
        self.storefront = (
            GraphQL(
                Endpoint(
                    f"{base}/api/{api_version}/graphql.json",
                    {"X-Shopify-Storefront-Access-Token": storefront_token},
                ),
                client,
                sleep,
                attempts,
            )
            if storefront_token
            else None
        )
        self.page_size = page_size

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http: httpx.Client | None = None, sleep: Sleep = time.sleep
    ) -> ShopifyStore:
        """The shop the settings name; ShopifyNotConfigured names what is missing."""
        token = settings.shopify_admin_token
        if not settings.shopify_shop_domain:
            raise ShopifyNotConfigured("shopify_shop_domain is not set (example.myshopify.com)")
        if token is None or not token.get_secret_value():
            raise ShopifyNotConfigured("shopify_admin_token is not set")
        storefront = settings.shopify_storefront_token
        return cls(
            settings.shopify_shop_domain,
            token.get_secret_value(),
            storefront.get_secret_value() if storefront else None,
            settings.shopify_api_version,
            api_base=settings.shopify_api_base,
            http=http,
            sleep=sleep,
        )

    # --- the catalog and its stock -------------------------------------------------------

    def list_variants(self, cursor: str | None, changed_since: datetime | None) -> StorePage:
        search = f"updated_at:>'{_utc(changed_since)}'" if changed_since else None
        data = self.admin.run(
            queries.VARIANTS, {"first": self.page_size, "after": cursor, "query": search}
        )
        connection = data.get("productVariants") or {}
        page = connection.get("pageInfo") or {}
        next_cursor = page.get("endCursor") if page.get("hasNextPage") else None
        return StorePage(
            self._variants(connection.get("nodes") or (), data),
            str(next_cursor) if next_cursor else None,
        )

    def read_variant(self, variant_id: str) -> StoreVariant | None:
        wanted = ids.gid("ProductVariant", variant_id)
        if wanted is None:
            return None
        data = self.admin.run(queries.VARIANT, {"id": wanted})
        node = data.get("productVariant")
        return self._variants((node,), data)[0] if isinstance(node, Mapping) else None

    def variants_of_inventory_items(self, item_ids: Sequence[str]) -> tuple[StoreVariant, ...]:
        """The variants whose stock an `inventory_levels/update` webhook says changed."""
        wanted = [gid for item in item_ids if (gid := ids.gid("InventoryItem", item))]
        if not wanted:
            return ()
        data = self.admin.run(queries.INVENTORY_ITEM_VARIANTS, {"ids": wanted})
        nodes = [
            node["variant"]
            for node in data.get("nodes") or ()
            if isinstance(node, Mapping) and isinstance(node.get("variant"), Mapping)
        ]
        return self._variants(nodes, data)

    def _variants(self, nodes: Sequence[Any], data: Mapping[str, Any]) -> tuple[StoreVariant, ...]:
        currency = str((data.get("shop") or {}).get("currencyCode") or "")
        return tuple(catalog.variant_of(node, currency, self.shop_domain) for node in nodes)

    # --- handing a cart over -------------------------------------------------------------

    def hand_off(
        self, lines: Sequence[HandoffLine], shopper_email: str | None, reference: str
    ) -> Handoff:
        """A Storefront cart with the lines (and the shopper's email, which checkout fills
        in), carrying `reference` as a cart attribute the order keeps. A cart is no order:
        asking twice makes two carts, and only the one the shopper pays becomes an order.
        `userErrors` are refused in Shopify's words, and so are the stock warnings: since
        2024-10 a line short of stock is cut down and only warned about
        (https://shopify.dev/changelog/cart-warnings-in-storefront-api-cart), and the shopper
        must not pay for less than hashcart handed over without being told."""
        if self.storefront is None:
            raise StoreRefused("shopify_storefront_token is not set: no cart can be handed over")
        merchandise = []
        for line in lines:
            variant = ids.gid("ProductVariant", line.variant_id)
            if variant is None:
                raise StoreRefused(f"{line.variant_id[:80]!r} is no Shopify variant")
            merchandise.append({"merchandiseId": variant, "quantity": line.quantity})
        cart_input: dict[str, Any] = {
            "lines": merchandise,
            "attributes": [{"key": orders.HANDOFF_ATTRIBUTE, "value": reference}],
        }
        if shopper_email:
            cart_input["buyerIdentity"] = {"email": shopper_email}
        data = self.storefront.run(queries.CART_CREATE, {"input": cart_input})
        created = data.get("cartCreate") or {}
        problems = [
            str(error.get("message"))
            for error in created.get("userErrors") or ()
            if isinstance(error, Mapping)
        ] + [
            str(warning.get("message"))
            for warning in created.get("warnings") or ()
            if isinstance(warning, Mapping) and warning.get("code") in STOCK_WARNINGS
        ]
        if problems:
            raise StoreRefused("; ".join(problems)[:500])
        cart = created.get("cart") or {}
        checkout_url = cart.get("checkoutUrl")
        if not isinstance(checkout_url, str) or not checkout_url.startswith("https://"):
            raise StoreUnreachable("Shopify's cartCreate answered without a checkout URL")
        return Handoff(checkout_url=checkout_url, reference=reference)

    # --- orders placed at the shop -------------------------------------------------------

    def orders_since(self, since: datetime | None) -> Sequence[StoreOrder]:
        search = f"created_at:>'{_utc(since)}'" if since else None
        found: list[StoreOrder] = []
        cursor: str | None = None
        for _ in range(MAX_ORDER_PAGES):
            data = self.admin.run(
                queries.ORDERS, {"first": ORDERS_PAGE_SIZE, "after": cursor, "query": search}
            )
            connection = data.get("orders") or {}
            found.extend(orders.order_of_node(node) for node in connection.get("nodes") or ())
            page = connection.get("pageInfo") or {}
            cursor = page.get("endCursor") if page.get("hasNextPage") else None
            if not cursor:
                break
        return found


def _utc(moment: datetime) -> str:
    """Shopify's search syntax takes an ISO 8601 time in quotes
    (https://shopify.dev/docs/api/usage/search-syntax)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
