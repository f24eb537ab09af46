"""A small client for the shop's own Mastodon server (REST, sync httpx).

hashcart acts as one account on one server: the shop's, with its user token. Every call has
a timeout and every failure is one of two typed exceptions: `MastodonUnreachable` (no answer:
network, timeout, an answer too large to be one) or `MastodonApiError` (the server answered
with an error: its status, Mastodon's own `error` text and the rate-limit headers, never the
token). The streams themselves are read by `stream.py`; this module serves its catch-up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx
import msgspec

from hashcart.domain.text_lengths import MASTODON_DEFAULT_MAX_CHARACTERS
from hashcart.errors import NetworkApiError
from hashcart.networks.rate_limits import retry_after

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A stock server's status limit (entities/Instance.md's example), and the most we believe of
# a server's own: forks raise it to a few thousand, no server means a million.
DEFAULT_MAX_CHARACTERS = MASTODON_DEFAULT_MAX_CHARACTERS
MAX_PLAUSIBLE_CHARACTERS = 100_000
# An API answer larger than this is not one we asked for (a status is a few kB, a page of
# 80 notifications well under 1 MiB): refused rather than read into memory.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# Page sizes the server allows at most (docs.joinmastodon.org: notifications max 80 since
# 4.1, tag timelines max 40).
NOTIFICATIONS_PAGE = 80
TAG_TIMELINE_PAGE = 40
# The notification types whose status can be a shopper's trigger: an @mention (a reply to the
# shop's post mentions it) and a quote of one of the shop's posts (Mastodon 4.5).
TRIGGER_NOTIFICATION_TYPES = ("mention", "quote")
# The answer headers kept on an error: when to call again. Nothing else (no echo).
_KEPT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after")
# How much of the server's error text is kept: it ends up in logs and the console.
_MAX_ERROR = 300
# Status ids: Mastodon's are numeric strings, other servers' (Pleroma, Akkoma) flake ids
# are alphanumeric; anything else never reaches a URL path.
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

Visibility = Literal["public", "unlisted", "private", "direct"]


def is_status_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def id_order(value: str) -> tuple[int, int, str]:
    """A sort key that orders ids by age: numeric ids as integers (Mastodon's snowflake-
    like ids are not all the same length), others by length then text (flake ids)."""
    if value.isdigit():
        return (0, int(value), "")
    return (1, len(value), value)


def is_newer(candidate: str, than: str | None) -> bool:
    return than is None or id_order(candidate) > id_order(than)


class MastodonError(NetworkApiError):
    """Any failed call to the Mastodon server."""


class MastodonUnreachable(MastodonError):
    """The server did not answer usefully (refused, reset, timeout): worth trying later."""


class MastodonApiError(MastodonError):
    """The server answered with an error status."""

    def __init__(self, status: int, error: str = "", headers: Mapping[str, str] | None = None):
        self.status = status
        # Mastodon's own words (`{"error": "..."}`), e.g. "The access token is invalid".
        self.error = error
        # Lower-case names: what `rate_limits.retry_after` reads.
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"Mastodon answered {status}" + (f" ({error})" if error else ""))

    @property
    def said(self) -> str:
        return self.error or f"HTTP {self.status}"

    def retry_at(self, now: datetime) -> datetime | None:
        """When the server says to call again (Retry-After, or an exhausted limit's
        `X-RateLimit-Reset`, an ISO time on Mastodon), or None when it does not say."""
        return retry_after(self.headers, now)

    @classmethod
    def of(cls, response: httpx.Response, body: bytes) -> MastodonApiError:
        kept = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
        return cls(response.status_code, _error_text(body), kept)


class _ErrorBody(msgspec.Struct):
    error: str = ""


def _error_text(body: bytes) -> str:
    try:
        error = msgspec.json.decode(body, type=_ErrorBody).error
    except (msgspec.DecodeError, UnicodeDecodeError):
        return ""
    return " ".join(error.split())[:_MAX_ERROR]


@dataclass(frozen=True)
class Item:
    """One entity of a list answer: its id and its JSON exactly as the server sent it."""

    id: str
    raw: bytes


class _HasId(msgspec.Struct):
    id: str


class _Urls(msgspec.Struct):
    streaming: str | None = None


class _Statuses(msgspec.Struct):
    # Any JSON: a server that sends a string or a float here gets the default, not an error.
    max_characters: Any = None


class _Configuration(msgspec.Struct):
    urls: _Urls | None = None
    statuses: _Statuses | None = None


class _Instance(msgspec.Struct):
    configuration: _Configuration | None = None


class _LookedUp(msgspec.Struct):
    uri: str | None = None
    suspended: Any = None


# A WebFinger address as Mastodon writes `acct`: a username, and its server when remote.
_ACCT = re.compile(r"[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9.-]{1,253})?")


class _Relationship(msgspec.Struct):
    id: str
    followed_by: bool | None = None


_LIST = msgspec.json.Decoder(list[msgspec.Raw])


class _Context(msgspec.Struct):
    descendants: list[msgspec.Raw] = msgspec.field(default_factory=list)


_CONTEXT = msgspec.json.Decoder(_Context)
_ID_ONLY = msgspec.json.Decoder(_HasId)


def base_url_of(url: str) -> str:
    """The server's base URL from the settings, checked: http(s), a host, no query."""
    cleaned = url.strip().rstrip("/")
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(f"mastodon_url must be the server's https:// address, not {url!r}")
    return cleaned


class MastodonApi:
    """The calls hashcart makes as the shop's account on its Mastodon server."""

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url_of(base_url)
        self._token = access_token
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "hashcart"},
            follow_redirects=False,
        )

    @property
    def access_token(self) -> str:
        """For the streaming connection, which `stream.py` opens with its own async client."""
        return self._token

    def close(self) -> None:
        self._client.close()

    # --- statuses ------------------------------------------------------------------------

    def status(self, status_id: str) -> bytes | None:
        """`GET /api/v1/statuses/:id`: the Status JSON, or None when the server says it does
        not exist for us (404; Mastodon answers 404 for statuses we may not see too)."""
        if not is_status_id(status_id):
            return None
        try:
            return self._call("GET", f"/api/v1/statuses/{quote(status_id, safe='')}")
        except MastodonApiError as error:
            if error.status in (404, 410):
                return None
            raise

    def post_status(
        self,
        text: str,
        *,
        visibility: Visibility,
        idempotency_key: str,
        in_reply_to_id: str | None = None,
    ) -> str:
        """`POST /api/v1/statuses`; returns the new status's id.

        `Idempotency-Key`: the server keeps each key an hour and answers a repeat with the
        status the first request made, so a retry after a lost answer never posts twice.
        """
        fields: dict[str, str] = {"status": text, "visibility": visibility}
        if in_reply_to_id:
            fields["in_reply_to_id"] = in_reply_to_id
        body = self._call(
            "POST",
            "/api/v1/statuses",
            json=fields,
            headers={"Idempotency-Key": idempotency_key},
        )
        try:
            return _ID_ONLY.decode(body).id
        except (msgspec.DecodeError, UnicodeDecodeError):
            # Posted, but the answer is unreadable: a retry with the same key is harmless.
            raise MastodonUnreachable("Mastodon's answer to the post had no status id") from None

    def replies_to(self, status_id: str) -> list[bytes]:
        """`GET /api/v1/statuses/:id/context`: the statuses that answer it (descendants),
        as Status JSON; none when the status is gone."""
        if not is_status_id(status_id):
            return []
        try:
            body = self._call("GET", f"/api/v1/statuses/{quote(status_id, safe='')}/context")
        except MastodonApiError as error:
            if error.status in (404, 410):
                return []
            raise
        try:
            return [bytes(raw) for raw in _CONTEXT.decode(body).descendants]
        except (msgspec.DecodeError, UnicodeDecodeError) as error:
            raise MastodonUnreachable(f"Mastodon's context answer is unreadable: {error}") from None

    def follows_the_shop(self, account_id: str) -> bool | None:
        """`GET /api/v1/accounts/relationships?id[]=`: whether the account (its id on the
        shop's server) follows the shop's account, the relationship's `followed_by`
        (methods/accounts.md, entities/Relationship.md); None when the server does not say."""
        if not is_status_id(account_id):
            return None
        params = [("id[]", account_id)]
        body = self._call("GET", "/api/v1/accounts/relationships", params=params)
        try:
            relationships = msgspec.json.decode(body, type=list[_Relationship])
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        for relationship in relationships:
            if relationship.id == account_id:
                return relationship.followed_by
        return None

    def account_gone(self, acct: str, uri: str) -> bool | None:
        """Whether the account `acct` (as the shop's server writes it) is gone:
        `GET /api/v1/accounts/lookup?acct=` answers 404 "Username or address does not map to
        an account" for a deleted one, and an Account with `suspended: true` for a suspended
        one (methods/accounts.md#lookup, entities/Account.md#suspended). False when the
        server shows it live; None when it cannot tell (an odd `acct`, an unreadable answer,
        or an account whose `uri` is not `uri`: someone else now holds the name)."""
        if not _ACCT.fullmatch(acct):
            return None
        try:
            body = self._call("GET", "/api/v1/accounts/lookup", params=[("acct", acct)])
        except MastodonApiError as error:
            if error.status in (404, 410):
                return True
            raise
        try:
            account = msgspec.json.decode(body, type=_LookedUp)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        if account.uri is not None and account.uri != uri:
            return None
        return account.suspended is True

    def own_account_id(self) -> str:
        """`GET /api/v1/accounts/verify_credentials`: the shop account's id on its server."""
        body = self._call("GET", "/api/v1/accounts/verify_credentials")
        try:
            return _ID_ONLY.decode(body).id
        except (msgspec.DecodeError, UnicodeDecodeError):
            raise MastodonUnreachable("Mastodon did not say who the shop's account is") from None

    # --- catching up ---------------------------------------------------------------------

    def mention_notifications(
        self, min_id: str | None, limit: int = NOTIFICATIONS_PAGE
    ) -> list[Item]:
        """`GET /api/v1/notifications`, the notifications whose status may be a trigger: with
        `min_id`, the page right after it (oldest first page, paging forward); without, the
        newest `limit`.

        docs.joinmastodon.org methods/notifications.md: `types[]` mention and quote (a quote
        of one of the shop's posts, Mastodon 4.5, entities/Notification.md), and
        `include_filtered=true` (4.3): without it the server leaves out what the shop
        account's notification policy filtered (by default private mentions from accounts
        the shop does not follow, entities/NotificationPolicy.md), and a shopper's `direct`
        `#cart` would be lost. Servers before 4.3 / 4.5 ignore what they do not know."""
        params: list[tuple[str, str]] = [
            *(("types[]", kind) for kind in TRIGGER_NOTIFICATION_TYPES),
            ("include_filtered", "true"),
            ("limit", str(limit)),
        ]
        if min_id is not None:
            params.append(("min_id", min_id))
        return self._items(self._call("GET", "/api/v1/notifications", params=params))

    def tag_timeline(
        self, tag: str, min_id: str | None, limit: int = TAG_TIMELINE_PAGE
    ) -> list[Item]:
        """`GET /api/v1/timelines/tag/:tag`, paged like `mention_notifications`."""
        params: list[tuple[str, str]] = [("limit", str(limit))]
        if min_id is not None:
            params.append(("min_id", min_id))
        path = f"/api/v1/timelines/tag/{quote(tag, safe='')}"
        return self._items(self._call("GET", path, params=params))

    def streaming_url(self) -> str | None:
        """Where the streaming server is (`GET /api/v2/instance`,
        `configuration.urls.streaming`), as an http(s) base for server-sent events; None
        when the server does not say."""
        body = self._call("GET", "/api/v2/instance")
        try:
            instance = msgspec.json.decode(body, type=_Instance)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        urls = instance.configuration.urls if instance.configuration else None
        if urls is None or not urls.streaming:
            return None
        try:
            return sse_base(urls.streaming)
        except ValueError:
            return None

    def max_characters(self) -> int:
        """The longest status the server takes (`GET /api/v2/instance`,
        `configuration.statuses.max_characters`, Mastodon 4.0+: content/en/entities/
        Instance.md). The documented default (500) when the server does not answer, or
        answers something that is not a plausible limit (missing, not an integer, <= 0 or
        above MAX_PLAUSIBLE_CHARACTERS): a wrong large limit would have every long message
        refused, a wrong small one cut for nothing."""
        try:
            body = self._call("GET", "/api/v2/instance")
            instance = msgspec.json.decode(body, type=_Instance)
        except (MastodonError, msgspec.DecodeError, UnicodeDecodeError) as error:
            log.info(
                "Mastodon instance unreadable, statuses limited to %d: %s",
                DEFAULT_MAX_CHARACTERS,
                error,
                extra={"network": "mastodon"},
            )
            return DEFAULT_MAX_CHARACTERS
        statuses = instance.configuration.statuses if instance.configuration else None
        value = statuses.max_characters if statuses is not None else None
        if type(value) is not int or not 0 < value <= MAX_PLAUSIBLE_CHARACTERS:
            return DEFAULT_MAX_CHARACTERS
        return value

    # --- plumbing ------------------------------------------------------------------------

    def _items(self, body: bytes) -> list[Item]:
        try:
            raws = _LIST.decode(body)
            return [Item(_ID_ONLY.decode(raw).id, bytes(raw)) for raw in raws]
        except (msgspec.DecodeError, UnicodeDecodeError) as error:
            raise MastodonUnreachable(f"Mastodon's list answer is unreadable: {error}") from None

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        json: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        request = self._client.build_request(
            method,
            path,
            params=tuple(params or ()),
            json=json,
            headers={"Authorization": f"Bearer {self._token}", **(headers or {})},
        )
        try:
            response = self._client.send(request, stream=True)
            try:
                body = _read_capped(response)
            finally:
                response.close()
        except httpx.HTTPError as error:
            raise MastodonUnreachable(f"Mastodon did not answer: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise MastodonApiError.of(response, body)
        return body


def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise MastodonUnreachable(f"Mastodon's answer is larger than {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def sse_base(streaming: str) -> str:
    """The streaming server's address as Mastodon advertises it (`wss://streaming.host`) made
    an http(s) base: its server-sent-event endpoints live on the same host and port."""
    streaming = streaming.strip().rstrip("/")
    if streaming.startswith("wss://"):
        return "https://" + streaming.removeprefix("wss://")
    if streaming.startswith("ws://"):
        return "http://" + streaming.removeprefix("ws://")
    return base_url_of(streaming)
