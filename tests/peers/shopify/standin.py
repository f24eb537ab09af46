"""A Shopify shop's GraphQL endpoints on loopback, for the Shopify store's tests: no Shopify
runs locally, so this answers in the documented shapes, and each hand-built answer names
the page it follows.

- Admin API `POST /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token`
  (https://shopify.dev/docs/api/admin-graphql#authentication; a wrong token is a 401 whose
  `errors` is one string, https://shopify.dev/docs/api/admin-graphql#status-and-error-codes).
- Storefront API `POST /api/<version>/graphql.json` with `X-Shopify-Storefront-Access-Token`
  (https://shopify.dev/docs/api/storefront#authentication).

It does not parse GraphQL: it answers by the document's operation name (`query Variants`,
`mutation Handoff`, ...) from its own catalog, orders and carts, and records every request.
Tests script throttled answers (`throttle_next`) and 429s (`too_many_next`) ahead."""

from __future__ import annotations

import base64
import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SHOP = "hashcart-test.myshopify.com"
ADMIN_TOKEN = "shpat_standin_admin"
STOREFRONT_TOKEN = "standin_storefront_token"
API_VERSION = "2025-10"
CURRENCY = "EUR"
_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")
_SINCE = re.compile(r"(updated_at|created_at):>'([^']+)'")


@dataclass(frozen=True)
class Seen:
    """One request the stand-in answered: which API, which operation, with what."""

    api: str  # "admin" | "storefront"
    operation: str
    variables: dict[str, Any]


def cost(requested: int, available: float, restore_rate: float = 50.0) -> dict[str, Any]:
    """`extensions.cost` as the Admin API adds it to every answer
    (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits)."""
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": None if available < requested else requested,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": restore_rate,
            },
        }
    }


def throttled(requested: int, available: float, restore_rate: float) -> dict[str, Any]:
    """A throttled answer: HTTP 200, no data, one `THROTTLED` error and the cost extension
    saying what is missing (https://shopify.dev/docs/api/usage/limits#rate-limiting-methods;
    the same shape a shop sent in https://community.shopify.com/t/throttled/254776)."""
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": cost(requested, available, restore_rate),
    }


@dataclass
class StandIn:
    variants: list[dict[str, Any]] = field(default_factory=list)
    levels: dict[str, list[int]] = field(default_factory=dict)  # variant id -> available
    orders: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    carts: list[dict[str, Any]] = field(default_factory=list)  # the CartInput of each cart
    script: deque[Response] = field(default_factory=deque)
    cart_errors: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        for kept in (self.variants, self.orders, self.seen, self.carts, self.cart_errors):
            kept.clear()
        self.levels.clear()
        self.script.clear()

    # --- what the shop holds -----------------------------------------------------------

    def add_variant(
        self,
        number: int,
        product: int,
        product_title: str,
        *,
        title: str = "Default Title",
        price: str = "10.00",
        quantity: int = 5,
        tracked: bool = True,
        options: dict[str, str] | None = None,
        status: str = "ACTIVE",
        updated_at: str = "2026-12-01T10:00:00Z",
        handle: str | None = None,
    ) -> str:
        """A ProductVariant node with the fields hashcart asks for
        (https://shopify.dev/docs/api/admin-graphql/latest/objects/ProductVariant)."""
        variant_id = f"gid://shopify/ProductVariant/{number}"
        handle = handle or product_title.lower().replace(" ", "-")
        selected = [{"name": k, "value": v} for k, v in (options or {}).items()] or [
            {"name": "Title", "value": "Default Title"}
        ]
        self.variants.append(
            {
                "id": variant_id,
                "title": title,
                "sku": f"SKU-{number}",
                "price": price,
                "updatedAt": updated_at,
                "inventoryQuantity": quantity,
                "selectedOptions": selected,
                "inventoryItem": {
                    "id": f"gid://shopify/InventoryItem/{number}0",
                    "tracked": tracked,
                },
                "product": {
                    "id": f"gid://shopify/Product/{product}",
                    "title": product_title,
                    "handle": handle,
                    "status": status,
                    "onlineStoreUrl": None
                    if status != "ACTIVE"
                    else f"https://shop.example/products/{handle}",
                    "description": f"{product_title}, as the shop describes it.",
                    "featuredMedia": None,
                },
            }
        )
        return variant_id

    def add_order(
        self, number: int, created_at: str, handoff: str | None, lines: list[tuple[str, int]]
    ) -> None:
        """An Order node (https://shopify.dev/docs/api/admin-graphql/latest/objects/Order)."""
        attributes = [{"key": "hashcart_handoff", "value": handoff}] if handoff else []
        self.orders.append(
            {
                "id": f"gid://shopify/Order/{number}",
                "name": f"#{1000 + number}",
                "createdAt": created_at,
                "displayFinancialStatus": "PAID",
                "totalPriceSet": {"shopMoney": {"amount": "42.50", "currencyCode": CURRENCY}},
                "customAttributes": attributes,
                "lineItems": {"nodes": [{"quantity": q, "variant": {"id": v}} for v, q in lines]},
            }
        )

    # --- scripted answers ----------------------------------------------------------------

    def throttle_next(
        self, times: int, requested: int = 752, available: float = 666, restore_rate: float = 50.0
    ) -> None:
        for _ in range(times):
            self.script.append(JSONResponse(throttled(requested, available, restore_rate)))

    def too_many_next(self, times: int, retry_after: str = "2.0") -> None:
        """HTTP 429 with `Retry-After` in seconds
        (https://shopify.dev/docs/api/usage/limits#rate-limiting-methods: "429 Too Many
        Requests" and the Retry-After header)."""
        for _ in range(times):
            self.script.append(
                JSONResponse(
                    {
                        "errors": "Exceeded 2 calls per second for api client. Reduce request "
                        "rates to resume uninterrupted service."
                    },
                    status_code=429,
                    headers={"Retry-After": retry_after},
                )
            )

    # --- the app -------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/admin/api/{version}/graphql.json", self._admin, methods=["POST"]),
                Route("/api/{version}/graphql.json", self._storefront, methods=["POST"]),
            ]
        )

    async def _admin(self, request: Request) -> Response:
        if request.headers.get("x-shopify-access-token") != ADMIN_TOKEN:
            return JSONResponse(
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or "
                    "wrong password)"
                },
                status_code=401,
            )
        operation, variables = await self._read(request, "admin")
        if self.script:
            return self.script.popleft()
        answer = {
            "Variants": self._variants,
            "Variant": self._variant,
            "InventoryItemVariants": self._inventory_items,
            "Orders": self._orders,
        }[operation](variables)
        return JSONResponse({"data": answer, "extensions": cost(10, 1990)})

    async def _storefront(self, request: Request) -> Response:
        if request.headers.get("x-shopify-storefront-access-token") != STOREFRONT_TOKEN:
            return JSONResponse({"errors": "Unauthorized"}, status_code=401)
        operation, variables = await self._read(request, "storefront")
        if self.script:
            return self.script.popleft()
        assert operation == "Handoff", operation
        return JSONResponse({"data": {"cartCreate": self._cart_create(variables["input"])}})

    async def _read(self, request: Request, api: str) -> tuple[str, dict[str, Any]]:
        body = await request.json()
        found = _OPERATION.match(body["query"])
        operation = found.group(1) if found else ""
        variables = body.get("variables") or {}
        self.seen.append(Seen(api, operation, variables))
        return operation, variables

    # --- answers -------------------------------------------------------------------------

    def _variants(self, variables: dict[str, Any]) -> dict[str, Any]:
        """One page of `productVariants` (https://shopify.dev/docs/api/admin-graphql/latest/
        queries/productVariants) with `pageInfo` as cursor paging documents it
        (https://shopify.dev/docs/api/usage/pagination-graphql)."""
        matching = _since(self.variants, variables.get("query"), "updatedAt")
        nodes, page = _page(matching, variables["first"], variables.get("after"))
        return {
            "shop": {"currencyCode": CURRENCY},
            "productVariants": {"nodes": nodes, "pageInfo": page},
        }

    def _with_levels(self, node: dict[str, Any]) -> dict[str, Any]:
        levels = self.levels.get(node["id"], [node["inventoryQuantity"]])
        item = dict(node["inventoryItem"])
        item["inventoryLevels"] = {
            "nodes": [
                {"quantities": [{"name": "available", "quantity": available}]}
                for available in levels
            ]
        }
        return {**node, "inventoryItem": item}

    def _variant(self, variables: dict[str, Any]) -> dict[str, Any]:
        """`productVariant(id:)`: null for an id the shop does not have
        (https://shopify.dev/docs/api/admin-graphql/latest/queries/productVariant)."""
        found = next((v for v in self.variants if v["id"] == variables["id"]), None)
        return {
            "shop": {"currencyCode": CURRENCY},
            "productVariant": None if found is None else self._with_levels(found),
        }

    def _inventory_items(self, variables: dict[str, Any]) -> dict[str, Any]:
        """`nodes(ids:)` with InventoryItem's `variant`
        (https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryItem)."""
        by_item = {v["inventoryItem"]["id"]: v for v in self.variants}
        return {
            "shop": {"currencyCode": CURRENCY},
            "nodes": [{"variant": by_item[i]} if i in by_item else None for i in variables["ids"]],
        }

    def _orders(self, variables: dict[str, Any]) -> dict[str, Any]:
        """`orders` (https://shopify.dev/docs/api/admin-graphql/latest/queries/orders)."""
        matching = _since(self.orders, variables.get("query"), "createdAt")
        nodes, page = _page(matching, variables["first"], variables.get("after"))
        return {"orders": {"nodes": nodes, "pageInfo": page}}

    def _cart_create(self, cart_input: dict[str, Any]) -> dict[str, Any]:
        """`cartCreate`'s CartCreatePayload (https://shopify.dev/docs/api/storefront/latest/
        mutations/cartCreate): the cart and its `checkoutUrl`, or `userErrors` (CartUserError:
        field, message, code, https://shopify.dev/docs/api/storefront/latest/objects/
        CartUserError) and no cart."""
        self.carts.append(cart_input)
        known = {v["id"] for v in self.variants}
        errors = list(self.cart_errors)
        for index, line in enumerate(cart_input.get("lines") or ()):
            if line["merchandiseId"] not in known:
                errors.append(
                    {
                        "field": ["input", "lines", str(index), "merchandiseId"],
                        "message": "The merchandise with id "
                        f"{line['merchandiseId']} does not exist.",
                        "code": "INVALID",
                    }
                )
        if errors:
            return {"cart": None, "userErrors": errors, "warnings": []}
        warnings = self._stock_warnings(cart_input.get("lines") or ())
        token = secrets.token_hex(8)
        return {
            "cart": {
                "id": f"gid://shopify/Cart/{token}?key={token[:4]}",
                "checkoutUrl": f"https://{SHOP}/cart/c/{token}?key={token[:4]}",
            },
            "userErrors": [],
            "warnings": warnings,
        }

    def _stock_warnings(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A line asking for more than a tracked variant holds is cut down and warned about,
        not refused (https://shopify.dev/docs/storefronts/headless/building-with-the-
        storefront-api/cart/cart-warnings; CartWarning: code, message, target)."""
        by_id = {v["id"]: v for v in self.variants}
        warnings = []
        for line in lines:
            variant = by_id[line["merchandiseId"]]
            held = variant["inventoryQuantity"]
            if variant["inventoryItem"]["tracked"] and line["quantity"] > held:
                warnings.append(
                    {
                        "code": "MERCHANDISE_NOT_ENOUGH_STOCK"
                        if held > 0
                        else "MERCHANDISE_OUT_OF_STOCK",
                        "message": f"Only {max(held, 0)} items were added to your cart due "
                        "to availability.",
                        "target": "gid://shopify/CartLine/1",
                    }
                )
        return warnings


def _since(
    nodes: list[dict[str, Any]], search: str | None, field_name: str
) -> list[dict[str, Any]]:
    """Shopify's search syntax `updated_at:>'<time>'` (https://shopify.dev/docs/api/usage/
    search-syntax): strictly after."""
    found = _SINCE.search(search or "")
    if not found:
        return nodes
    since = datetime.fromisoformat(found.group(2).replace("Z", "+00:00"))
    return [
        node
        for node in nodes
        if datetime.fromisoformat(node[field_name].replace("Z", "+00:00")) > since
    ]


def _page(
    nodes: list[dict[str, Any]], first: int, after: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Opaque cursors (here the position, base64), `hasNextPage` and `endCursor`."""
    start = int(base64.b64decode(after).decode()) if after else 0
    chosen = nodes[start : start + first]
    end = start + len(chosen)
    return chosen, {
        "hasNextPage": end < len(nodes),
        "endCursor": base64.b64encode(str(end).encode()).decode() if chosen else None,
    }
