"""`POST /webhooks/mastodon`: the receiver for a Mastodon server's admin webhook.

The merchant adds a webhook in Mastodon's Administration > Webhooks pointing here, with the
events `status.created` (and `status.updated`), and copies its secret into
`mastodon_webhook_secret`. Nothing is read or stored before the signature checks out.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from hashcart.networks.mastodon import webhook
from hashcart.web.context import hashcart_of
from hashcart.web.live import live_sink

router = APIRouter()

# A status event is a few kB; the engine refuses lines over 1 MiB anyway.
MAX_BODY_BYTES = 1024 * 1024


async def _raw_body(request: Request) -> bytes:
    """The body exactly as sent (the signature covers these bytes), refused past the cap
    without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"a webhook body is at most {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(413, f"a webhook body is at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/webhooks/mastodon", include_in_schema=False)
def mastodon_webhook(request: Request, body: Annotated[bytes, Depends(_raw_body)]) -> JSONResponse:
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
