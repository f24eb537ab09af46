"""Sending the outbox's Mastodon messages as the shop's account: `POST /api/v1/statuses`.

A reply answers the trigger status (`in_reply_to_id`); a private message is a status with
visibility `direct`, which reaches exactly the accounts it mentions (the composed text starts
with the shopper's `@acct`). But the shopper's own notification policy (Mastodon 4.3) files
private mentions from accounts they do not follow away as filtered: such a message is still
sent, and `Sent.may_be_unseen` says so for the console; once one may have gone unseen
(`OutboxItem.earlier_unseen`), the next to a shopper who still does not follow the shop fails
for good, and the dispatcher sends it by email instead (outbox/fallback).

Each message carries an `Idempotency-Key` derived from its outbox dedupe key: Mastodon
answers a repeated key with the status the first request made, so a retry after a lost answer
(timeout, crash) never posts twice. Mastodon keeps keys for
only an hour, so a retry (an earlier attempt failed, or a crash left its end unknown) first
looks among the trigger's replies for one the shop already posted with the same text, and
reports that one as sent: a retry from the console a day later cannot post twice either.

Mastodon announces no account's deletion (no webhook or stream event), but a deleted
account's statuses go with it: when the trigger to answer is gone, the sender asks whether
its author still exists (api.account_gone: 404, or `suspended: true`). If not, the message
fails for good with `account_gone`, and the dispatcher emails the shopper and forgets the
account (its link, tokens and stored posts; the orders stay).
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime

import msgspec

from hashcart.networks.mastodon.api import (
    MastodonApi,
    MastodonApiError,
    MastodonError,
    MastodonUnreachable,
    Visibility,
)
from hashcart.networks.mastodon.html_text import html_to_text
from hashcart.ports import OutboxItem, SendFailed, Sent

log = logging.getLogger(__name__)

# Answers that may go through if asked again later; other 4xx answers will not.
_TEMPORARY = frozenset({408, 425, 429})
_quiet = {"network": "mastodon"}
# Why a private message may go unseen: the console shows it on the sent row, and it is the
# reason given (console and email) when a later one goes by email instead.
PRIVATE_MESSAGE_FILTERED = (
    "Mastodon files private mentions from accounts their recipient does not follow among "
    "filtered notifications, and this shopper does not follow the shop's account"
)


ACCOUNT_GONE = "the shopper's Mastodon account is gone (deleted or suspended on its server)"
# The greeting a composed reply or private message starts with: `@acct ` (domain/messages).
_GREETED = re.compile(r"@(\S+) ")


def idempotency_key(dedupe_key: str) -> str:
    """The same key for every attempt at one message, and nothing of the message in it."""
    return hashlib.sha256(f"hashcart:{dedupe_key}".encode()).hexdigest()


class MastodonSender:
    network = "mastodon"

    def __init__(self, api: MastodonApi) -> None:
        self.api = api
        self._own_id: str | None = None  # the shop account's id, asked once

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        if item.channel == "email":
            raise SendFailed("an email is not a Mastodon message", permanent=True)
        try:
            if item.in_reply_to and (item.attempts > 0 or item.attempt_started_at is not None):
                earlier = self._earlier_reply(item)
                if earlier is not None:
                    log.info(
                        "Mastodon reply for outbox %s was sent before: %s",
                        item.id,
                        earlier,
                        extra={
                            "network": "mastodon",
                            "outbox_id": item.id,
                            "post_id": item.in_reply_to,
                        },
                    )
                    return Sent(remote_id=earlier)
            unseen = self._may_be_unseen(item) if item.channel == "private" else None
            if unseen is not None and item.earlier_unseen:
                # The dispatcher emails it instead (see `MastodonSender` above).
                raise SendFailed(unseen, permanent=True)
            visibility = self._visibility(item)
            status_id = self.api.post_status(
                item.text,
                visibility=visibility,
                idempotency_key=idempotency_key(item.dedupe_key),
                in_reply_to_id=item.in_reply_to or None,
            )
        except MastodonError as error:
            raise _failure(error, now) from None
        return Sent(remote_id=status_id, may_be_unseen=unseen)

    def _may_be_unseen(self, item: OutboxItem) -> str | None:
        """Why the shopper may never see this private message, or None when nothing says so.

        entities/NotificationPolicy.md (Mastodon 4.3): the recipient's `for_private_mentions`
        filters private mentions (by default), except from "accounts the user follows" and in
        "replies to private mentions initiated by the user". Their policy is theirs to read,
        not ours; what the shop's account can ask is whether they follow it (the
        relationship's `followed_by`) and whether the trigger was their own private mention.
        When it cannot tell (no trigger, a lookup the server refuses), it says nothing."""
        if not item.in_reply_to:
            return None
        trigger = self.api.status(item.in_reply_to)
        if trigger is None:
            self._fail_if_account_gone(item)
            return None
        try:
            author = msgspec.json.decode(trigger, type=_Trigger)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        if author.visibility == "direct":
            return None  # our answer replies to their own private mention: always allowed
        try:
            follows = self.api.follows_the_shop(author.account.id)
        except MastodonApiError as error:
            log.info("Mastodon relationship lookup refused: %s", error, extra=_quiet)
            return None
        return PRIVATE_MESSAGE_FILTERED if follows is False else None

    def _fail_if_account_gone(self, item: OutboxItem) -> None:
        """Raise SendFailed(account_gone) when the server says the recipient's account is
        deleted or suspended. The outbox keeps the account's URI, not its id on the shop's
        server, so it is looked up by the `@acct` the message greets (notify composes every
        reply and private message to start with it); a lookup that cannot tell says nothing."""
        greeted = _GREETED.match(item.text)
        if greeted is None:
            return
        try:
            gone = self.api.account_gone(greeted.group(1), item.account_id)
        except MastodonError as error:
            log.info("Mastodon account lookup failed: %s", error, extra=_quiet)
            return
        if gone:
            raise SendFailed(ACCOUNT_GONE, permanent=True, account_gone=True)

    def _earlier_reply(self, item: OutboxItem) -> str | None:
        """The id of a reply the shop already posted to the trigger with this text, if any."""
        if self._own_id is None:
            self._own_id = self.api.own_account_id()
        wanted = _words(item.text)
        for raw in self.api.replies_to(item.in_reply_to):
            try:
                reply = msgspec.json.decode(raw, type=_Reply)
            except (msgspec.DecodeError, UnicodeDecodeError):
                continue
            if (
                reply.account.id == self._own_id
                and reply.in_reply_to_id == item.in_reply_to
                and _words(html_to_text(reply.content)) == wanted
            ):
                return reply.id
        return None

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
            self._fail_if_account_gone(item)
            raise SendFailed(
                "the Mastodon post to answer is gone (deleted, or not visible to the shop)",
                permanent=True,
            )
        return "direct" if _trigger_visibility(trigger) in ("private", "direct") else "unlisted"


class _Author(msgspec.Struct):
    id: str = ""


class _Trigger(msgspec.Struct):
    visibility: str = "public"
    account: _Author = msgspec.field(default_factory=_Author)


class _Reply(msgspec.Struct):
    id: str
    account: _Author = msgspec.field(default_factory=_Author)
    in_reply_to_id: str | None = None
    content: str = ""


def _words(text: str) -> str:
    """Text compared as its words: the server's HTML rendering changes spacing and breaks."""
    return " ".join(text.split())


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
        log.warning("Mastodon post failed, will retry: %s", error, extra={"network": "mastodon"})
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
