"""Shopify's webhooks (`POST /webhooks/shopify`): verified, taken once by delivery, and made
into a StoreChange for the sync.

Each delivery is signed in `X-Shopify-Hmac-Sha256`: the base64 HMAC-SHA256 of the raw body
with the app's client secret (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries);
a delivery sent again keeps its `X-Shopify-Webhook-Id`, which is how a repeat is known
(same page, "Ignore duplicate deliveries"). The topic is in `X-Shopify-Topic`; the bodies are
the REST resources (https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hashcart.errors import HashcartError
from hashcart.ports import DeliveryLog, StoreChange, StoreChangeSink
from hashcart.stores.shopify import ids
from hashcart.stores.shopify.orders import NotAnOrder, order_of_webhook

SOURCE = "shopify"
# Shopify's webhook bodies are a few kilobytes; a product with many variants some hundreds.
MAX_BODY_BYTES = 2 * 1024 * 1024
# The topics hashcart subscribes to; any other verified delivery is taken and left alone.
TOPICS = ("products/update", "inventory_levels/update", "orders/create")
# A delivery id as Shopify writes them (a UUID); anything else is refused before it is kept.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9-]{1,100}")


class NotAChange(HashcartError, ValueError):
    """A verified body that does not hold what its topic says."""


@dataclass(frozen=True)
class Outcome:
    status: int
    detail: str


def verify_webhook(body: bytes, hmac_header: str, secret: str) -> bool:
    """Whether `hmac_header` is the body's signature with `secret` (compared in constant
    time, on the decoded bytes)."""
    if not secret or not hmac_header:
        return False
    try:
        given = base64.b64decode(hmac_header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


def parse_webhook(topic: str, delivery_id: str, body: bytes) -> StoreChange | None:
    """What the delivery says changed; None for a topic hashcart does not read."""
    if topic not in TOPICS:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        raise NotAChange(f"a {topic} body that is not JSON") from None
    if not isinstance(document, dict):
        raise NotAChange(f"a {topic} body that is not an object")
    if topic == "products/update":
        return _product_change(delivery_id, document)
    if topic == "inventory_levels/update":
        item = ids.gid("InventoryItem", document.get("inventory_item_id"))
        if item is None:
            raise NotAChange("an inventory_levels/update body without inventory_item_id")
        return StoreChange(SOURCE, delivery_id, topic, inventory_item_ids=(item,))
    try:
        order = order_of_webhook(document)
    except NotAnOrder as refused:
        raise NotAChange(str(refused)) from None
    return StoreChange(SOURCE, delivery_id, topic, order=order)


def _product_change(delivery_id: str, document: Mapping[str, Any]) -> StoreChange:
    product = ids.gid("Product", document.get("admin_graphql_api_id")) or ids.gid(
        "Product", document.get("id")
    )
    if product is None:
        raise NotAChange("a products/update body without the product's id")
    variants = tuple(
        gid
        for variant in document.get("variants") or ()
        if isinstance(variant, Mapping)
        and (
            gid := ids.gid("ProductVariant", variant.get("admin_graphql_api_id"))
            or ids.gid("ProductVariant", variant.get("id"))
        )
    )
    return StoreChange(
        SOURCE, delivery_id, "products/update", product_ids=(product,), variant_ids=variants
    )


def receive(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    deliveries: DeliveryLog,
    sink: StoreChangeSink,
) -> Outcome:
    """Verify, then hand the change to `sink` once per delivery id. A bad or missing
    signature is a 401 and nothing is kept; a repeat is a 200 that changes nothing; the
    delivery is marked taken only after the sink took it, so a sink that fails (a 500:
    Shopify sends it again) loses nothing."""
    if not verify_webhook(body, headers.get("x-shopify-hmac-sha256", ""), secret):
        return Outcome(401, "refused: the signature does not match")
    delivery_id = headers.get("x-shopify-webhook-id", "")
    topic = headers.get("x-shopify-topic", "")
    if not _DELIVERY_ID.fullmatch(delivery_id):
        return Outcome(400, "refused: no X-Shopify-Webhook-Id")
    if deliveries.was_delivered(SOURCE, delivery_id):
        return Outcome(200, "a repeat: nothing changed")
    try:
        change = parse_webhook(topic, delivery_id, body)
    except NotAChange as refused:
        return Outcome(400, f"refused: {refused}")
    if change is not None:
        sink(change)
    deliveries.mark_delivered(SOURCE, delivery_id)
    return Outcome(200, f"{topic[:60]}: taken" if change else f"{topic[:60]}: nothing to do")
