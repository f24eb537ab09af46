"""A merchant's storefront on loopback, as small as a storefront can be: its checkout page
continues the order a handoff made at Vendure, by the session token in the link (Vendure's
bearer token method), and shows the order's lines as Vendure's Shop API states them. It
stands for the merchant's own site (Vendure ships none) in the browser test of the handoff."""

from __future__ import annotations

import html

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

_ACTIVE_ORDER = "{ activeOrder { code state lines { quantity productVariant { name } } } }"


def storefront(shop_api: str) -> Starlette:
    def checkout(request: Request) -> HTMLResponse:
        token = request.query_params.get("token", "")
        answer = httpx.post(
            shop_api,
            json={"query": _ACTIVE_ORDER},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        order = answer.json()["data"]["activeOrder"]
        if order is None:
            return HTMLResponse("<main><h1>No order</h1></main>", 404)
        lines = "".join(
            f"<li>{html.escape(line['productVariant']['name'])} × {int(line['quantity'])}</li>"
            for line in order["lines"]
        )
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><meta name='viewport' "
            "content='width=device-width'><title>Checkout</title></head><body><main>"
            f"<h1>Checkout: order {html.escape(order['code'])}</h1><ul>{lines}</ul>"
            "</main></body></html>"
        )

    return Starlette(routes=[Route("/checkout", checkout)])
