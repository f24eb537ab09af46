"""`/webhooks/shopify`: the merchant's Shopify shop says products, stock or orders changed
(stores/shopify/webhooks). Verified deliveries go, once each, to the sink the app was built
with (`create_app(..., store_changes=...)`; by default kept in `store_changes` for the sync).

Shopify is no social network, so this route stands before the networks'
`/webhooks/{network}`. Without `shopify_webhook_secret` there is no such endpoint (404): an
unverifiable delivery is never taken."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hashcart.ports import StoreChangeSink
from hashcart.store.webhook_deliveries import StoredDeliveries
from hashcart.stores.shopify import webhooks
from hashcart.web.context import hashcart_of
from hashcart.web.webhook_body import read_capped

router = APIRouter()


@router.post("/webhooks/shopify", include_in_schema=False)
async def shopify_delivery(request: Request) -> JSONResponse:
    app = hashcart_of(request)
    secret = app.settings.shopify_webhook_secret
    if secret is None or not secret.get_secret_value():
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    body = await read_capped(request, webhooks.MAX_BODY_BYTES)
    sink: StoreChangeSink = request.app.state.store_changes
    headers = {name: request.headers.get(name, "") for name in _HEADERS}

    def receive() -> webhooks.Outcome:
        deliveries = StoredDeliveries(app.engine, app.clock)
        return webhooks.receive(body, headers, secret.get_secret_value(), deliveries, sink)

    outcome = await run_in_threadpool(receive)
    return JSONResponse({"detail": outcome.detail}, status_code=outcome.status)


_HEADERS = ("x-shopify-hmac-sha256", "x-shopify-webhook-id", "x-shopify-topic")
