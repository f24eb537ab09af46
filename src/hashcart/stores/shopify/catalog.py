"""A ProductVariant as the Admin API answers it (https://shopify.dev/docs/api/admin-graphql/
latest/objects/ProductVariant) made into the store port's StoreVariant."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from hashcart.ports import StoreUnreachable, StoreVariant
from hashcart.stores.shopify import ids

# The one option of a product without variants: it names nothing a shopper picks.
DEFAULT_TITLE = "Default Title"


def variant_of(node: Mapping[str, Any], currency: str, shop_domain: str) -> StoreVariant:
    """The variant `node` (fields of queries.VARIANT_FIELDS). Stock is the store's sellable
    count where it tracks inventory (never below zero), None where it does not; the live
    query's inventory levels, when present, are the count."""
    try:
        product = node["product"]
        variant_id, product_id = str(node["id"]), str(product["id"])
        price = Decimal(str(node["price"]))
    except (KeyError, TypeError, InvalidOperation):
        raise StoreUnreachable("Shopify's answer had a variant without id or price") from None
    item = node.get("inventoryItem") or {}
    stock: int | None = None
    if item.get("tracked", True):
        levels = _available_at_levels(item)
        counted = levels if levels is not None else node.get("inventoryQuantity")
        stock = max(0, int(counted)) if isinstance(counted, int) else None
    options = {
        str(option["name"]).lower(): str(option["value"])
        for option in node.get("selectedOptions") or ()
        if option.get("value") != DEFAULT_TITLE
    }
    variant_title = str(node.get("title") or "")
    title = str(product.get("title") or "")
    if variant_title and variant_title != DEFAULT_TITLE:
        title = f"{title} - {variant_title}"
    media = product.get("featuredMedia") or {}
    image = ((media.get("preview") or {}).get("image") or {}).get("url")
    return StoreVariant(
        variant_id=variant_id,
        product_id=product_id,
        title=title,
        price=price,
        currency=currency,
        stock=stock,
        url=product_url(product, variant_id, shop_domain, several=bool(options)),
        sku=node.get("sku") or None,
        options=options,
        image_url=image if isinstance(image, str) else None,
        description=product.get("description") or None,
        updated_at=ids.timestamp(node.get("updatedAt")),
        enabled=product.get("status") == "ACTIVE",
    )


def product_url(
    product: Mapping[str, Any], variant_id: str, shop_domain: str, *, several: bool
) -> str:
    """The page shoppers post: the Online Store's URL (its own domain) where the product is
    published there, else `https://<shop>/products/<handle>`; `?variant=<n>` picks the
    variant where the product has several (the theme's own links do the same)."""
    online = product.get("onlineStoreUrl")
    base = (
        online
        if isinstance(online, str) and online.startswith("https://")
        else f"https://{shop_domain}/products/{quote(str(product.get('handle') or ''), safe='')}"
    )
    return f"{base}?variant={ids.number(variant_id)}" if several else base


def _available_at_levels(item: Mapping[str, Any]) -> int | None:
    levels = item.get("inventoryLevels")
    if not isinstance(levels, Mapping):
        return None
    total = 0
    for level in levels.get("nodes") or ():
        for quantity in level.get("quantities") or ():
            if quantity.get("name") == "available" and isinstance(quantity.get("quantity"), int):
                total += quantity["quantity"]
    return total
