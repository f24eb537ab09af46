"""Mastodon's admin webhooks: checking a delivery is Mastodon's, and taking it once.

Mastodon signs each delivery with the webhook's secret: `X-Hub-Signature: sha256=<hex
HMAC-SHA256 of the raw body>` (hex, unlike X's base64; mastodon/mastodon
app/workers/webhooks/delivery_worker.rb). Its Sidekiq worker retries a delivery it thinks
failed, so the same event can come again: each is remembered in `webhook_deliveries` once
the sink has ingested it, and a repeat is dropped. (The engine would drop a repeated post
anyway; this spares it the work and keeps repeats out of the stats.)

`status.created` fires only for the server's local statuses, so the webhook serves a shop
that runs its own server; the streaming listener covers the rest of the fediverse.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from hashcart.networks.base import Format, WebhookAnswer, WebhookRequest
from hashcart.ports import DeliveryLog, LiveSink

if TYPE_CHECKING:
    from hashcart.config import Settings

SIGNATURE_HEADER = "X-Hub-Signature"
SOURCE = "mastodon"
# Where the sink's dead letters say a payload came from.
INGEST_SOURCE = "mastodon-webhook"
_PREFIX = "sha256="
# A status event is a few kB; the engine refuses lines over 1 MiB anyway.
MAX_BODY_BYTES = 1024 * 1024
# webhook_deliveries.event_id is a String(300).
_MAX_KEY = 300


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value Mastodon sends for `body`."""
    return _PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_signed(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is Mastodon's signature of `body` (constant-time comparison)."""
    if not header:
        return False
    sent = header.strip().lower()  # hex: either case is the same digest
    if not sent.startswith(_PREFIX):
        return False
    return hmac.compare_digest(signature(secret, body).encode(), sent.encode())


class _Object(msgspec.Struct):
    id: str | int | None = None
    created_at: str | None = None
    edited_at: str | None = None


class _Envelope(msgspec.Struct):
    event: str | None = None
    object: _Object | None = None


def delivery_key(body: bytes) -> str:
    """What identifies one event however often it is delivered: for status events, the
    event, the status id and the version (`edited_at`, else `created_at`); for anything
    else, or a body that is not an envelope, the body's SHA-256 (Mastodon retries send
    the very same bytes)."""
    try:
        envelope = msgspec.json.decode(body, type=_Envelope)
    except (msgspec.DecodeError, UnicodeDecodeError):
        envelope = _Envelope()
    thing = envelope.object
    if envelope.event and envelope.event.startswith("status.") and thing and thing.id:
        key = f"{envelope.event}:{thing.id}:{thing.edited_at or thing.created_at or ''}"
        if len(key) <= _MAX_KEY:
            return key
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Taken:
    """What became of one signed delivery."""

    duplicate: bool
    posts: int = 0
    dead_letters: int = 0


def take(sink: LiveSink, deliveries: DeliveryLog, body: bytes) -> Taken:
    """Ingest a signed delivery unless it was taken before; remember it after the sink
    committed it (so a crash in between means Mastodon's retry is taken, not lost)."""
    key = delivery_key(body)
    if deliveries.was_delivered(SOURCE, key):
        return Taken(duplicate=True)
    stats = sink.ingest(INGEST_SOURCE, Format.MASTODON, [body])
    deliveries.mark_delivered(SOURCE, key)
    return Taken(duplicate=False, posts=stats.posts, dead_letters=stats.dead_letters)


class MastodonWebhook:
    """The receiver behind `/webhooks/mastodon`. The merchant adds a webhook in Mastodon's
    Administration > Webhooks pointing there, with the events `status.created` (and
    `status.updated`), and copies its secret into `mastodon_webhook_secret`. Nothing is read
    or stored before the signature checks out."""

    max_body_bytes = MAX_BODY_BYTES

    def challenge(self, request: WebhookRequest, settings: Settings) -> WebhookAnswer | None:
        return None  # Mastodon only POSTs

    def deliver(
        self,
        request: WebhookRequest,
        settings: Settings,
        sink: Callable[[], LiveSink],
        deliveries: DeliveryLog,
    ) -> WebhookAnswer:
        secret = settings.mastodon_webhook_secret
        if secret is None or not secret.get_secret_value():
            return WebhookAnswer(
                503,
                {
                    "error": "the Mastodon webhook is not configured: set "
                    "mastodon_webhook_secret (HASHCART_MASTODON_WEBHOOK_SECRET) to the "
                    "webhook's secret"
                },
            )
        if not is_signed(
            secret.get_secret_value(), request.body, request.headers.get(SIGNATURE_HEADER)
        ):
            return WebhookAnswer(401, {"error": f"missing or wrong {SIGNATURE_HEADER} signature"})
        taken = take(sink(), deliveries, request.body)
        if taken.duplicate:
            return WebhookAnswer(200, {"status": "duplicate"})
        return WebhookAnswer(
            200,
            {"status": "accepted", "posts": taken.posts, "dead_letters": taken.dead_letters},
        )
