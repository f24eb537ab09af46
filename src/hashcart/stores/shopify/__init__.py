"""The merchant's Shopify shop (issue 16): `ShopifyStore` (ports.CommerceStore) and its
webhooks. One job a module: graphql (asking, throttling in throttle), queries (the
documents), catalog and orders (answers into the port's types), ids, webhooks."""

from __future__ import annotations

from hashcart.stores.shopify.store import ShopifyNotConfigured, ShopifyStore
from hashcart.stores.shopify.webhooks import parse_webhook, receive, verify_webhook

__all__ = ["ShopifyNotConfigured", "ShopifyStore", "parse_webhook", "receive", "verify_webhook"]
