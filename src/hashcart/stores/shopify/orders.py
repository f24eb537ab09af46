"""Orders placed at the shop, as the Admin API's `orders` query answers them and as the
`orders/create` webhook delivers them, made into the store port's StoreOrder.

A handoff's cart carries hashcart's reference as a cart attribute (`HANDOFF_ATTRIBUTE`); the
order placed from it keeps it as a custom attribute (GraphQL `customAttributes`, webhook
`note_attributes`: https://shopify.dev/docs/api/admin-graphql/latest/objects/Order#field-
customAttributes), which is how an order finds the handoff it finished. Shopify's cart id is
not on the order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hashcart.errors import HashcartError
from hashcart.ports import HandoffLine, StoreOrder
from hashcart.stores.shopify import ids

HANDOFF_ATTRIBUTE = "hashcart_handoff"


class NotAnOrder(HashcartError, ValueError):
    """A body or node that does not hold an order."""


def order_of_node(node: Mapping[str, Any]) -> StoreOrder:
    """An order of the Admin `orders` query (fields of queries.ORDERS)."""
    money = ((node.get("totalPriceSet") or {}).get("shopMoney")) or {}
    lines = tuple(
        HandoffLine(str(variant["id"]), int(line["quantity"]))
        for line in (node.get("lineItems") or {}).get("nodes") or ()
        if isinstance(variant := line.get("variant"), Mapping) and variant.get("id")
    )
    return StoreOrder(
        reference=_text(node.get("id")),
        handoff_reference=_handoff(node.get("customAttributes"), "key"),
        state=_text(node.get("displayFinancialStatus") or "PENDING"),
        total=_amount(money.get("amount")),
        currency=_text(money.get("currencyCode")),
        placed_at=ids.timestamp(node.get("createdAt")),
        lines=lines,
    )


def order_of_webhook(body: Mapping[str, Any]) -> StoreOrder:
    """An `orders/create` body (the REST Order shape, https://shopify.dev/docs/api/webhooks
    ?reference=toml#list-of-topics-orders/create): the same order as order_of_node reads."""
    reference = ids.gid("Order", body.get("admin_graphql_api_id")) or ids.gid(
        "Order", body.get("id")
    )
    if reference is None:
        raise NotAnOrder("an orders/create body without the order's id")
    lines = []
    for line in body.get("line_items") or ():
        variant = ids.gid("ProductVariant", line.get("variant_id"))
        quantity = line.get("quantity")
        if variant is not None and isinstance(quantity, int) and quantity > 0:
            lines.append(HandoffLine(variant, quantity))
    return StoreOrder(
        reference=reference,
        handoff_reference=_handoff(body.get("note_attributes"), "name"),
        state=_text(body.get("financial_status") or "pending").upper(),
        total=_amount(body.get("total_price")),
        currency=_text(body.get("currency")),
        placed_at=ids.timestamp(body.get("created_at")),
        lines=tuple(lines),
    )


def _handoff(attributes: object, key: str) -> str | None:
    if not isinstance(attributes, Iterable) or isinstance(attributes, str | bytes):
        return None
    for attribute in attributes:
        if isinstance(attribute, Mapping) and attribute.get(key) == HANDOFF_ATTRIBUTE:
            value = attribute.get("value")
            return str(value)[:200] if value else None
    return None


def _amount(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise NotAnOrder(f"an order total that is no amount: {str(value)[:40]!r}") from None


def _text(value: object) -> str:
    return "" if value is None else str(value)[:200]
