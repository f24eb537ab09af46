"""`/webhooks/stripe`: Stripe's events, for the payment records (payments/stripe_webhook).

Stripe is no social network, so this route stands before the networks' `/webhooks/{network}`.
Without `stripe_webhook_secret` there is no such endpoint (404): an unverifiable event is
never taken."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hashcart.payments import stripe_webhook
from hashcart.web.context import hashcart_of
from hashcart.web.webhook_body import read_capped

router = APIRouter()


@router.post("/webhooks/stripe", include_in_schema=False)
async def stripe_event(request: Request) -> JSONResponse:
    app = hashcart_of(request)
    secret = app.settings.stripe_webhook_secret
    if secret is None or not secret.get_secret_value():
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    body = await read_capped(request, stripe_webhook.MAX_BODY_BYTES)
    signature = request.headers.get("stripe-signature")

    def receive() -> stripe_webhook.Outcome:
        return stripe_webhook.receive(
            body,
            signature,
            secret.get_secret_value(),
            app.unit_of_work,
            app.clock,
            app.stripe_cards(),
        )

    outcome = await run_in_threadpool(receive)
    return JSONResponse({"detail": outcome.detail}, status_code=outcome.status)
