"""Sending the shop's messages on X: replies (`POST /2/tweets`) and direct messages.

X has no idempotency key, so "never twice" rests on two things. The dispatcher records an
attempt before calling us; when an earlier attempt's end is unknown (`attempt_started_at`
set: a crash mid-send), we first look through the shop's own recent posts for a reply to
the same post with the same text, and report that one as sent instead of posting again.
And X refuses a post whose text repeats a recent one (403 "duplicate content"): that
refusal is also reconciled, and counts as sent only when the earlier reply is found.

X's 2026 rule lets a self-serve app reply only where the post's author summoned it (by
mentioning the account or quoting it); a reply refused for that fails for good with a
reason the console shows, and the dispatcher emails the shopper instead.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from hashcart.networks.rate_limits import retry_after
from hashcart.networks.x.api import XApi, XApiError, XNotConfigured, XUnreachable, is_post_id
from hashcart.networks.x.shop_token import ShopToken
from hashcart.ports import OutboxItem, SendFailed, Sent

log = logging.getLogger(__name__)

REPLY_RESTRICTED = "X lets apps reply only where the author mentioned the shop (its 2026 rule)"
TOKEN_REJECTED = "X token rejected"
# How far before an attempt's recorded start its post may carry a timestamp (clock skew).
RECONCILE_SLACK = timedelta(minutes=1)
# Without a recorded start (a duplicate refusal on a first attempt), how far back to look.
DUPLICATE_LOOKBACK = timedelta(days=1)
# Words of X's reply-restriction refusal, loosely ("not allowed … mentioned or otherwise
# engaged …", "summoned"); checked only after "duplicate", whose text also says "not allowed".
_RESTRICTION_WORDS = ("summon", "mention", "engage", "not allowed", "not permitted")
_URL = re.compile(r"https?://\S+")


class XSender:
    """The outbox's sender for network "x"."""

    network = "x"

    def __init__(
        self, api: XApi, shop_user_id: str | None = None, token: ShopToken | None = None
    ) -> None:
        self.api = api
        # The shop's X account id, for reading its own timeline; asked of X when not set.
        self._shop_user_id = shop_user_id
        # Refreshes the shop's user token when X says it expired (access tokens last 2 h).
        self.token = token
        if token is not None:
            api.user_token = token.access_token() or api.user_token

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        try:
            return self._send(item, now)
        except SendFailed as failed:
            if failed.reason != TOKEN_REJECTED or self.token is None:
                raise
            fresh = self.token.refresh()
            if fresh is None:
                raise
            self.api.user_token = fresh
            # The attempt we just made was refused, so nothing was posted: send anew.
            return self._send(item, now)

    def _send(self, item: OutboxItem, now: datetime) -> Sent:
        if item.channel == "reply":
            return self._reply(item, now)
        if item.channel == "private":
            return self._direct_message(item, now)
        raise SendFailed(f"X does not carry {item.channel} messages", permanent=True)

    # --- replies -----------------------------------------------------------------------

    def _reply(self, item: OutboxItem, now: datetime) -> Sent:
        if not is_post_id(item.in_reply_to):
            raise SendFailed(f"not an X post id: {item.in_reply_to[:40]!r}", permanent=True)
        if item.attempt_started_at is not None:
            found = self._earlier_reply(item, item.attempt_started_at - RECONCILE_SLACK, now)
            if found is not None:
                log.info(
                    "X reply for outbox %s was sent before a crash: %s",
                    item.id,
                    found,
                    extra={"network": "x", "outbox_id": item.id, "post_id": item.in_reply_to},
                )
                return Sent(found)
        try:
            return Sent(self.api.create_post(item.text, in_reply_to=item.in_reply_to))
        except XApiError as error:
            if error.status == 403 and _is_duplicate(error):
                return self._reconcile_duplicate(item, now, error)
            raise _failure(error, now, replying=True) from None
        except (XUnreachable, XNotConfigured) as error:
            raise _unanswered(error) from None

    def _reconcile_duplicate(self, item: OutboxItem, now: datetime, error: XApiError) -> Sent:
        since = (item.attempt_started_at or now - DUPLICATE_LOOKBACK) - RECONCILE_SLACK
        found = self._earlier_reply(item, since, now)
        if found is not None:
            return Sent(found)
        raise SendFailed(f"X refused the reply as a duplicate: {error.said}", permanent=True)

    def _earlier_reply(self, item: OutboxItem, since: datetime, now: datetime) -> str | None:
        """The id of a reply the shop already posted to `item.in_reply_to` with the same
        text, since `since`; None when there is none. SendFailed (temporary) when X cannot
        be asked now: posting blind could post twice."""
        try:
            posts = self.api.user_posts(self._shop_id(), since)
        except XApiError as error:
            raise _failure(error, now, replying=False) from None
        except (XUnreachable, XNotConfigured) as error:
            raise _unanswered(error) from None
        wanted = _comparable(item.text)
        for post in posts:
            if _replies_to(post, item.in_reply_to) and _comparable(post.get("text")) == wanted:
                found = post.get("id")
                if isinstance(found, str) and found:
                    return found
        return None

    def _shop_id(self) -> str:
        if self._shop_user_id is None:
            self._shop_user_id = self.api.me()
        return self._shop_user_id

    # --- direct messages ---------------------------------------------------------------

    def _direct_message(self, item: OutboxItem, now: datetime) -> Sent:
        if not is_post_id(item.account_id):
            raise SendFailed(f"not an X account id: {item.account_id[:40]!r}", permanent=True)
        try:
            return Sent(self.api.send_dm(item.account_id, item.text))
        except XApiError as error:
            raise _failure(error, now, replying=False) from None
        except (XUnreachable, XNotConfigured) as error:
            raise _unanswered(error) from None


def _is_duplicate(error: XApiError) -> bool:
    return "duplicate" in f"{error.title} {error.detail}".lower()


def _is_reply_restriction(error: XApiError) -> bool:
    said = f"{error.title} {error.detail}".lower()
    return "duplicate" not in said and any(word in said for word in _RESTRICTION_WORDS)


def _failure(error: XApiError, now: datetime, *, replying: bool) -> SendFailed:
    """X's error answer as the dispatcher's verdict: retry (and when) or give up (and why)."""
    if error.status == 429:
        return SendFailed(
            "X rate limit reached", permanent=False, retry_at=retry_after(error.headers, now)
        )
    if error.status >= 500:
        return SendFailed(f"X server error {error.status}", permanent=False)
    if error.status == 401:
        return SendFailed(TOKEN_REJECTED, permanent=True)
    if replying and error.status == 403 and _is_reply_restriction(error):
        return SendFailed(REPLY_RESTRICTED, permanent=True)
    return SendFailed(f"X refused it: {error.said}", permanent=True)


def _unanswered(error: XUnreachable | XNotConfigured) -> SendFailed:
    if isinstance(error, XNotConfigured):
        return SendFailed(str(error), permanent=True)
    return SendFailed(f"X did not answer: {error}", permanent=False)


def _replies_to(post: dict[str, Any], post_id: str) -> bool:
    references = post.get("referenced_tweets") or post.get("referenced_posts") or ()
    return any(
        isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id") == post_id
        for ref in references
    )


def _comparable(text: object) -> str:
    """Text as X would show it back, for comparing: X escapes `&<>`, wraps links in t.co
    and may touch whitespace, so links become one placeholder and whitespace one space."""
    if not isinstance(text, str):
        return ""
    text = html.unescape(text)
    return " ".join(_URL.sub("<link>", text).split())
