"""`/webhooks/x`: X's webhook (Account Activity API and X Activity API deliveries).

GET answers X's challenge (CRC), for tokens shaped like X's only; POST takes a delivery: its
signature is checked on the raw body before anything else (401 and nothing kept when it
fails), a delivery seen before is dropped by its event id (table `webhook_deliveries`,
source "x"), and the body goes to the live sink. A delivery is marked seen only after the
sink committed it, so one that failed half-way is taken whole when X delivers it again. The
handlers are plain `def`s: FastAPI runs them in its thread pool, where the sink's
synchronous, serialised ingest belongs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request

from hashcart.config import Settings
from hashcart.networks.formats import Format
from hashcart.networks.x.webhook import (
    MAX_CRC_TOKEN,
    crc_response_token,
    is_crc_token,
    verify_signature,
)
from hashcart.store.webhook_deliveries import mark_delivered, was_delivered
from hashcart.web.context import hashcart_of
from hashcart.web.live import live_sink
from hashcart.web.webhook_body import capped_body

router = APIRouter()

PATH = "/webhooks/x"
SOURCE = "x-webhook"
DELIVERY_SOURCE = "x"
# X's deliveries are a few events of a few kB each; anything far larger is not one.
MAX_BODY_BYTES = 4 * 1024 * 1024
# `webhook_deliveries.event_id` holds at most this many characters.
MAX_EVENT_ID = 300
# X keys the CRC and the documented signature header with the consumer secret only
# (docs.x.com/x-api/webhooks/quickstart): without it neither can be answered or checked.
NO_SECRET = (
    "X webhook secret not configured: set x_consumer_secret (the app's API Key Secret, "
    "its OAuth 1.0a consumer secret); X signs the CRC and every delivery with it, "
    "and x_client_secret cannot stand in for it"
)
BAD_CRC_TOKEN = (
    f"crc_token is not shaped like X's (at most {MAX_CRC_TOKEN} letters, digits "
    "and - _ + / =): refused, since its answer could sign a forged delivery"
)


def _secrets(settings: Settings) -> tuple[str | None, str | None]:
    """(consumer secret, client secret); an empty one counts as not set."""
    consumer, client = settings.x_consumer_secret, settings.x_client_secret
    return (
        (consumer.get_secret_value() or None) if consumer is not None else None,
        (client.get_secret_value() or None) if client is not None else None,
    )


@router.get(PATH, include_in_schema=False)
def crc_challenge(request: Request, crc_token: str | None = None) -> dict[str, str]:
    if not crc_token:
        raise HTTPException(400, "crc_token is missing")
    if not is_crc_token(crc_token):
        raise HTTPException(400, BAD_CRC_TOKEN)
    consumer, _ = _secrets(hashcart_of(request).effective_settings())
    if consumer is None:
        raise HTTPException(503, NO_SECRET)
    return {"response_token": crc_response_token(crc_token, consumer)}


@router.post(PATH, include_in_schema=False)
def delivery(
    request: Request,
    body: Annotated[bytes, Depends(capped_body(MAX_BODY_BYTES))],
    later: BackgroundTasks,
) -> dict[str, Any]:
    app = hashcart_of(request)
    consumer, client = _secrets(app.effective_settings())
    if consumer is None:
        raise HTTPException(503, NO_SECRET)
    if not verify_signature(body, request.headers, consumer, client):
        raise HTTPException(401, "signature missing or wrong")
    sink = live_sink(request)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        # Signed by X yet unreadable: kept as a dead letter with the engine's reason.
        sink.ingest(SOURCE, Format.AUTO, [body])
        raise HTTPException(400, "the delivery is not JSON") from None
    if not isinstance(payload, dict):
        # Every X delivery is one JSON object; anything else is kept, not acted on.
        sink.ingest(SOURCE, Format.AUTO, [body])
        raise HTTPException(400, "the delivery is not a JSON object")
    event_id = delivery_id(payload, body)
    if was_delivered(app.engine, DELIVERY_SOURCE, event_id):
        return {"ok": True, "duplicate": True}
    # Parents nobody streamed are fetched after the answer: X wants it within 10 seconds.
    sink.ingest(SOURCE, Format.AUTO, [body], fetch_parents=False)
    later.add_task(sink.fetch_parents)
    mark_delivered(app.engine, DELIVERY_SOURCE, event_id, app.clock.now())
    return {"ok": True}


def delivery_id(payload: Any, body: bytes) -> str:
    """The delivery's event id, as X would repeat it on a redelivery.

    X Activity API: `data.event_uuid`. Account Activity envelopes carry no event id: the
    key is the subscribed user, the event kinds and the ids of the events in them, e.g.
    `aaa:2244994945:tweet_create_events:1456012973835788293`. Anything else, or events
    without ids, falls back to a digest of the body (a redelivery repeats the same bytes).
    """
    if isinstance(payload, dict):
        data = payload.get("data")
        if isinstance(data, dict) and isinstance(data.get("event_uuid"), str | int):
            found = f"xaa:{data['event_uuid']}"
            if len(found) <= MAX_EVENT_ID:
                return found
        for_user = payload.get("for_user_id")
        if isinstance(for_user, str | int):
            key = _account_activity_key(str(for_user), payload)
            if key is not None:
                return key
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _account_activity_key(for_user: str, payload: dict[str, Any]) -> str | None:
    parts = []
    for kind, events in payload.items():
        if not kind.endswith("_events"):
            continue
        if not isinstance(events, list) or not events:
            return None
        ids = [_event_id(event) for event in events]
        if any(found is None for found in ids):
            return None
        parts.append(f"{kind}:{','.join(str(found) for found in ids)}")
    if not parts:
        return None
    key = f"aaa:{for_user}:{';'.join(parts)}"
    if len(key) > MAX_EVENT_ID:
        digest = hashlib.sha256(key.encode()).hexdigest()
        key = f"aaa:{for_user[:40]}:sha256:{digest}"
    return key


def _event_id(event: object) -> str | None:
    """An Account Activity event's own id: a tweet's `id_str`, a deletion's `status.id`,
    a favourite's or DM's `id`."""
    if not isinstance(event, dict):
        return None
    for key in ("id_str", "id"):
        value = event.get(key)
        if isinstance(value, str | int) and str(value):
            return str(value)
    status = event.get("status")
    if isinstance(status, dict):
        value = status.get("id_str") or status.get("id")
        if isinstance(value, str | int):
            return str(value)
    return None
