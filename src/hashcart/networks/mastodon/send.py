"""Sending the outbox's Mastodon messages as the shop's account: `POST /api/v1/statuses`.

A reply answers the trigger status (`in_reply_to_id`); a private message is a status with
visibility `direct`, which reaches exactly the accounts it mentions (the composed text starts
with the shopper's `@acct`). Each message carries an `Idempotency-Key` derived from its
outbox dedupe key: Mastodon answers a repeated key with the status the first request made,
so a retry after a lost answer (timeout, crash) never posts twice. Mastodon keeps keys for
an hour; the dispatcher's retries of one message fall well inside that.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

import msgspec

from hashcart.networks.mastodon.api import (
    MastodonApi,
    MastodonApiError,
    MastodonError,
    MastodonUnreachable,
    Visibility,
)
from hashcart.outbox.senders import OutboxItem, SendFailed, Sent

log = logging.getLogger(__name__)

# Answers that may go through if asked again later; other 4xx answers will not.
_TEMPORARY = frozenset({408, 425, 429})


def idempotency_key(dedupe_key: str) -> str:
    """The same key for every attempt at one message, and nothing of the message in it."""
    return hashlib.sha256(f"hashcart:{dedupe_key}".encode()).hexdigest()


class MastodonSender:
    network = "mastodon"

    def __init__(self, api: MastodonApi) -> None:
        self.api = api

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        if item.channel == "email":
            raise SendFailed("an email is not a Mastodon message", permanent=True)
        try:
            visibility = self._visibility(item)
            status_id = self.api.post_status(
                item.text,
                visibility=visibility,
                idempotency_key=idempotency_key(item.dedupe_key),
                in_reply_to_id=item.in_reply_to or None,
            )
        except MastodonError as error:
            raise _failure(error, now) from None
        return Sent(remote_id=status_id)

    def _visibility(self, item: OutboxItem) -> Visibility:
        """`direct` for private messages. A reply is `unlisted`: a cart confirmation is for
        the shopper and the thread, not for the server's public and hashtag timelines (it
        would flood them, and repeat the shop's tag under every `#cart`). But a reply never
        shows more than the trigger did: a followers-only or direct trigger is answered
        `direct`, so the confirmation does not reveal a post its author kept private."""
        if item.channel == "private":
            return "direct"
        if not item.in_reply_to:
            return "unlisted"
        trigger = self.api.status(item.in_reply_to)
        if trigger is None:
            raise SendFailed(
                "the Mastodon post to answer is gone (deleted, or not visible to the shop)",
                permanent=True,
            )
        return "direct" if _trigger_visibility(trigger) in ("private", "direct") else "unlisted"


class _Visible(msgspec.Struct):
    visibility: str = "public"


def _trigger_visibility(status: bytes) -> str:
    try:
        return msgspec.json.decode(status, type=_Visible).visibility
    except (msgspec.DecodeError, UnicodeDecodeError):
        return "private"  # unreadable: the careful answer


def _failure(error: MastodonError, now: datetime) -> SendFailed:
    """What the dispatcher should do after `error`: try again (when), or give up (why)."""
    if isinstance(error, MastodonUnreachable) or not isinstance(error, MastodonApiError):
        log.warning("Mastodon post failed, will retry: %s", error)
        return SendFailed(f"Mastodon did not answer: {error}", permanent=False)
    status = error.status
    if status in _TEMPORARY or status >= 500:
        return SendFailed(
            f"Mastodon answered {status}: {error.said}",
            permanent=False,
            retry_at=error.retry_at(now),
        )
    if status == 401:
        return SendFailed("Mastodon token rejected (mastodon_access_token)", permanent=True)
    if status == 403:
        return SendFailed(f"Mastodon refused the post: {error.said}", permanent=True)
    if status in (404, 410):
        return SendFailed(f"the Mastodon post to answer is gone: {error.said}", permanent=True)
    if status == 422:
        return SendFailed(f"Mastodon rejected the text: {error.said}", permanent=True)
    return SendFailed(f"Mastodon answered {status}: {error.said}", permanent=True)
