"""`POST /webhooks/mastodon`: the receiver for a Mastodon server's admin webhook.

The merchant adds a webhook in Mastodon's Administration > Webhooks pointing here, with the
events `status.created` (and `status.updated`), and copies its secret into
`mastodon_webhook_secret`. Nothing is read or stored before the signature checks out.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from hashcart.networks.mastodon import webhook
from hashcart.web.context import hashcart_of
from hashcart.web.live import live_sink
from hashcart.web.webhook_body import capped_body

router = APIRouter()

# A status event is a few kB; the engine refuses lines over 1 MiB anyway.
MAX_BODY_BYTES = 1024 * 1024


@router.post("/webhooks/mastodon", include_in_schema=False)
def mastodon_webhook(
    request: Request, body: Annotated[bytes, Depends(capped_body(MAX_BODY_BYTES))]
) -> JSONResponse:
    secret = hashcart_of(request).effective_settings().mastodon_webhook_secret
    if secret is None or not secret.get_secret_value():
        return JSONResponse(
            {
                "error": "the Mastodon webhook is not configured: set mastodon_webhook_secret "
                "(HASHCART_MASTODON_WEBHOOK_SECRET) to the webhook's secret"
            },
            status_code=503,
        )
    if not webhook.is_signed(
        secret.get_secret_value(), body, request.headers.get(webhook.SIGNATURE_HEADER)
    ):
        return JSONResponse(
            {"error": f"missing or wrong {webhook.SIGNATURE_HEADER} signature"}, status_code=401
        )
    taken = webhook.take(live_sink(request), body)
    if taken.duplicate:
        return JSONResponse({"status": "duplicate"})
    return JSONResponse(
        {"status": "accepted", "posts": taken.posts, "dead_letters": taken.dead_letters}
    )
