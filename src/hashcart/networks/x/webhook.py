"""X webhooks: answering the CRC challenge and checking the signature of every delivery.

The Account Activity API, the X Activity API and stream webhooks share one scheme
(docs.x.com/x-api/webhooks/quickstart, "How to build the CRC response" and "Signature
verification"): `sha256=` + Base64 of HMAC-SHA256 keyed with the app's **consumer secret**
(OAuth 1.0a "API Key Secret"), over the `crc_token` for the challenge and over the raw body
for the `x-twitter-webhooks-signature` header of a delivery. The OAuth 2.0 client secret is
not part of that scheme.

Both use the same key and the same construction, so an answer to the challenge is exactly
the signature of a delivery whose body is the token. Two guards keep them apart:

- only tokens shaped like X's are answered (`is_crc_token`): short, and made of Base64,
  Base64url or hex characters, so never `{`, quotes or whitespace;
- a body that the challenge would answer for is never taken as a delivery
  (`verify_signature`): X's deliveries are JSON objects, which need a `{`.

`X-Twitter-Webhooks-Signature-OAuth2` (keyed with the OAuth 2.0 client secret) is not in
X's docs; it shows up only in third-party code. It is checked when sent and a client secret
is held, on top of the documented header, and never counts instead of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hashcart.networks.base import Format, WebhookAnswer, WebhookRequest
from hashcart.ports import DeliveryLog, LiveSink

if TYPE_CHECKING:
    from hashcart.config import Settings
    from hashcart.networks.x.authors import AuthorHandles

CONSUMER_SIGNATURE_HEADER = "x-twitter-webhooks-signature"
OAUTH2_SIGNATURE_HEADER = "x-twitter-webhooks-signature-oauth2"

# X's crc_token is a short opaque token. In the docs' example it is `challenge_string`
# (x-api/webhooks/quickstart.mdx); X's own sample code used a UUID
# (`9b4507b3-9040-4669-9ca3-6b94edb50553`, gist jcipriano/46c4b3f3…); X has been seen
# sending Base64 of a UUID, 48 characters (`M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0`).
# Base64 and Base64url letters (which cover hex and UUIDs) and padding, at most 64: room
# for 48 random bytes in Base64, far too little for any delivery.
MAX_CRC_TOKEN = 64
_CRC_TOKEN = re.compile(rf"[A-Za-z0-9+/_=-]{{1,{MAX_CRC_TOKEN}}}")


def is_crc_token(value: str) -> bool:
    """Whether `value` is shaped like X's `crc_token` (see `MAX_CRC_TOKEN`)."""
    return _CRC_TOKEN.fullmatch(value) is not None


def signature(message: bytes, secret: str) -> str:
    """`sha256=` + Base64(HMAC-SHA256(key=secret, msg=message)): X's one signature format."""
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def crc_response_token(crc_token: str, consumer_secret: str) -> str:
    """The `response_token` for `GET <webhook>?crc_token=…`, keyed with the consumer secret
    as X's docs say ("not your bearer token or access token", nor the OAuth 2.0 client
    secret). Refuses a token not shaped like X's: its answer could sign a delivery."""
    if not is_crc_token(crc_token):
        raise ValueError("not an X crc_token")
    return signature(crc_token.encode("ascii"), consumer_secret)


def _matches(body: bytes, given: str, secret: str) -> bool:
    expected = signature(body, secret).encode()
    return hmac.compare_digest(expected, given.strip().encode("utf-8", "replace"))


def _could_be_a_crc_answer(body: bytes) -> bool:
    return len(body) <= MAX_CRC_TOKEN and body.isascii() and is_crc_token(body.decode("ascii"))


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    consumer_secret: str | None,
    client_secret: str | None,
) -> bool:
    """Whether `body` (the raw request body, as received) was signed by X for this app.

    `headers` must look names up case-insensitively (Starlette's and httpx's headers do).
    True only when the documented `x-twitter-webhooks-signature` verifies with the consumer
    secret and, if an `X-Twitter-Webhooks-Signature-OAuth2` header came too and a client
    secret is held, that one verifies as well. Never for a body the CRC challenge would
    have signed.
    """
    if not consumer_secret or _could_be_a_crc_answer(body):
        return False
    documented = headers.get(CONSUMER_SIGNATURE_HEADER)
    if documented is None or not _matches(body, documented, consumer_secret):
        return False
    oauth2 = headers.get(OAUTH2_SIGNATURE_HEADER)
    return oauth2 is None or not client_secret or _matches(body, oauth2, client_secret)


# the receiver behind /webhooks/x ------------------------------------------------------------
#
# GET answers X's challenge (CRC), for tokens shaped like X's only; POST takes a delivery: its
# signature is checked on the raw body before anything else (401 and nothing kept when it
# fails), a delivery seen before is dropped by its event id (table `webhook_deliveries`,
# source "x"), and the body goes to the live sink. A delivery is marked seen only after the
# sink committed it, so one that failed half-way is taken whole when X delivers it again.

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


def _refused(status: int, detail: str) -> WebhookAnswer:
    # The shape FastAPI gives an HTTPException, as this route always answered.
    return WebhookAnswer(status, {"detail": detail})


class XWebhook:
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self) -> None:
        # Made at the first delivery: its module imports httpx, which commands that only
        # load the adapters (`hashcart ingest`) must not pay for (tests/integration/
        # test_cli_startup.py).
        self._authors: AuthorHandles | None = None

    def _with_author_named(self, payload: dict[str, Any], body: bytes, settings: Settings) -> bytes:
        """The body, with the author's handle added when an Activity API event leaves it
        out (see authors.py); as received otherwise, or when no bearer token can ask."""
        from hashcart.networks.x.api import XApi
        from hashcart.networks.x.authors import (
            LOOKUP_TIMEOUT,
            AuthorHandles,
            missing_author,
            with_author,
        )

        author = missing_author(payload)
        if author is None or settings.x_bearer_token is None:
            return body
        if self._authors is None:
            self._authors = AuthorHandles()
        handle = self._authors.handle(
            settings.x_api_url, author, lambda: XApi.from_settings(settings, timeout=LOOKUP_TIMEOUT)
        )
        if not handle:
            return body
        return json.dumps(with_author(payload, author, handle)).encode()

    def challenge(self, request: WebhookRequest, settings: Settings) -> WebhookAnswer:
        crc_token = request.query.get("crc_token")
        if not crc_token:
            return _refused(400, "crc_token is missing")
        if not is_crc_token(crc_token):
            return _refused(400, BAD_CRC_TOKEN)
        consumer, _ = _secrets(settings)
        if consumer is None:
            return _refused(503, NO_SECRET)
        return WebhookAnswer(200, {"response_token": crc_response_token(crc_token, consumer)})

    def deliver(
        self,
        request: WebhookRequest,
        settings: Settings,
        sink: Callable[[], LiveSink],
        deliveries: DeliveryLog,
    ) -> WebhookAnswer:
        body = request.body
        consumer, client = _secrets(settings)
        if consumer is None:
            return _refused(503, NO_SECRET)
        if not verify_signature(body, request.headers, consumer, client):
            return _refused(401, "signature missing or wrong")
        live = sink()
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            # Signed by X yet unreadable: kept as a dead letter with the engine's reason.
            live.ingest(SOURCE, Format.AUTO, [body])
            return _refused(400, "the delivery is not JSON")
        if not isinstance(payload, dict):
            # Every X delivery is one JSON object; anything else is kept, not acted on.
            live.ingest(SOURCE, Format.AUTO, [body])
            return _refused(400, "the delivery is not a JSON object")
        event_id = delivery_id(payload, body)
        if deliveries.was_delivered(DELIVERY_SOURCE, event_id):
            return WebhookAnswer(200, {"ok": True, "duplicate": True})
        body = self._with_author_named(payload, body, settings)
        # Parents nobody streamed are fetched after the answer: X wants it within 10 seconds.
        live.ingest(SOURCE, Format.AUTO, [body], fetch_parents=False)
        deliveries.mark_delivered(DELIVERY_SOURCE, event_id)
        return WebhookAnswer(200, {"ok": True}, after=live.fetch_parents)


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
