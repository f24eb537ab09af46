"""Mastodon payloads into `Post` events.

One line is one of:
- a Status entity (REST responses; an SSE `update` frame's `data:` is this too);
- a Notification entity (`{"id", "type", "account", "status"}`);
- a streaming message `{"stream": [...], "event": ..., "payload": "<JSON as a string>"}`
  (WebSocket framing; `delete` carries a bare status id, `filters_changed` no payload);
- an admin webhook body `{"event": "status.created", "created_at": ..., "object": {...}}`.

`content` is HTML: the post's text, its links and its hashtag links all live there;
`html_text` reads it.
"""

from __future__ import annotations

import msgspec

from hashcart.domain.posts import DecodeError, Event, Network, NotAPost, Post, PostDeleted
from hashcart.networks._json import decode_line, parse_iso_datetime, unique
from hashcart.networks.mastodon.html_text import content_links, html_to_text, read_content

__all__ = ["content_links", "decode", "html_to_text"]

_MASTODON = Network.MASTODON


# --- payload shapes ---------------------------------------------------------------------


class _Struct(msgspec.Struct, forbid_unknown_fields=False):
    """Base of every payload shape here: unknown fields are skipped, not rejected."""


class _Account(_Struct):
    id: str | None = None
    username: str | None = None
    acct: str | None = None
    uri: str | None = None
    url: str | None = None


class _Tag(_Struct):
    name: str | None = None


class _Card(_Struct):
    url: str | None = None


class _Status(_Struct):
    id: str | None = None
    uri: str | None = None
    created_at: str | None = None
    edited_at: str | None = None
    account: _Account | None = None
    content: str | None = None
    text: str | None = None  # the source text, in delete-and-redraft responses
    in_reply_to_id: str | None = None
    reblog: _Status | None = None
    tags: list[_Tag] | None = None
    card: _Card | None = None
    quote: _Quote | None = None
    quote_id: str | None = None  # Fedibird / Akkoma style quotes


class _Quote(_Status):
    """`quote` in any of its forms.

    Mastodon 4.4+: a Quote `{"state", "quoted_status": Status | null}` or, one level
    down, a ShallowQuote `{"state", "quoted_status_id"}`; older forks put the quoted
    Status itself there (hence the Status fields inherited here).
    """

    state: str | None = None
    quoted_status: _Status | None = None
    quoted_status_id: str | None = None


class _Notification(_Struct):
    type: str | None = None
    status: _Status | None = None


class _Line(_Status):
    """Any top-level Mastodon line: Status, Notification, stream message or webhook."""

    event: str | None = None
    stream: list[str] | str | None = None
    payload: str | None = None
    # The webhook's object, decoded only for status events (an account or a report
    # reuses Status field names with other shapes). Raw cannot be in a union: absent is b"".
    object: msgspec.Raw = msgspec.Raw()
    type: str | None = None  # Notification
    status: _Status | None = None  # Notification


_LINE_DECODER = msgspec.json.Decoder(_Line)
_STATUS_DECODER = msgspec.json.Decoder(_Status)
_NOTIFICATION_DECODER = msgspec.json.Decoder(_Notification)

# Notification types whose status addresses us: an @mention, or a quote of our post.
_POST_NOTIFICATIONS = frozenset({"mention", "quote"})


def _quoted(status: _Status) -> tuple[str | None, _Status | None]:
    """The quoted status's id and, when the payload embeds it, the status itself."""
    quote = status.quote
    if quote is not None:
        if quote.quoted_status is not None:
            return quote.quoted_status.id, quote.quoted_status
        if quote.quoted_status_id:
            return quote.quoted_status_id, None
        if quote.id and quote.account is not None:
            return quote.id, quote
    return status.quote_id or None, None


def _post(status: _Status, is_edit: bool) -> Post:
    post_id = status.id
    if not post_id:
        raise DecodeError("status has no id")
    account = status.account
    if account is None:
        raise DecodeError(f"status {post_id} has no account")
    if not account.uri:
        raise DecodeError(f"status {post_id}: account has no uri (a server before Mastodon 4.2?)")
    if status.created_at is None:
        raise DecodeError(f"status {post_id} has no created_at")
    created_at = parse_iso_datetime(status.created_at)
    if created_at is None:
        raise DecodeError(f"status {post_id}: unreadable created_at {status.created_at[:40]!r}")
    quote_of_id, _ = _quoted(status)
    if status.content is not None:
        text, links = read_content(status.content, hide_quote_inline=status.quote is not None)
    else:
        text, links = status.text or "", ()
    if status.card is not None and status.card.url:
        links = (*links, status.card.url)
    return Post(
        network=_MASTODON,
        post_id=post_id,
        author_id=account.uri,
        author_handle=account.acct or account.username or "",
        text=text,
        created_at=created_at,
        tags=None if status.tags is None else tuple(t.name for t in status.tags if t.name),
        urls=unique(list(links)),
        reply_to_id=status.in_reply_to_id or None,
        quote_of_id=quote_of_id,
        is_repost=status.reblog is not None,
        # Mastodon keeps a status's id across edits (entities/Status.md `edited_at`), so an
        # edit is told apart by what the engine stored, not skipped here.
        edited_in_place=is_edit or status.edited_at is not None,
    )


def _embedded(status: _Status, out: list[Event], depth: int) -> None:
    """The reblogged and the quoted status, as Posts of their own after their carrier."""
    if depth > 3:  # quotes of quotes: Mastodon itself nests at most a level or two
        return
    _, quoted = _quoted(status)
    for inner in (status.reblog, quoted):
        if inner is None:
            continue
        try:
            out.append(_post(inner, is_edit=False))
        except DecodeError:
            continue  # context only; the carrying status stands on its own
        _embedded(inner, out, depth + 1)


def _status_events(status: _Status, is_edit: bool = False) -> list[Event]:
    out: list[Event] = [_post(status, is_edit)]
    _embedded(status, out, 0)
    return out


def _notification_events(notification: _Notification) -> list[Event]:
    kind = notification.type or "unknown"
    if kind in _POST_NOTIFICATIONS and notification.status is not None:
        return _status_events(notification.status)
    return [NotAPost(network=_MASTODON, kind=f"notification.{kind}")]


def _stream_events(event: str, payload: str | None) -> list[Event]:
    if event in ("update", "status.update"):
        if payload is None:
            raise DecodeError(f"{event} message without payload")
        status = decode_line(_STATUS_DECODER, payload.encode(), "a Mastodon status payload")
        return _status_events(status, is_edit=event == "status.update")
    if event == "delete":
        if not payload:
            raise DecodeError("delete message without a status id")
        return [PostDeleted(network=_MASTODON, post_id=payload)]
    if event == "notification":
        if payload is None:
            raise DecodeError("notification message without payload")
        notification = decode_line(
            _NOTIFICATION_DECODER, payload.encode(), "a Mastodon notification payload"
        )
        return _notification_events(notification)
    return [NotAPost(network=_MASTODON, kind=event)]


def _webhook_events(event: str, obj: bytes) -> list[Event]:
    if event in ("status.created", "status.updated"):
        status = decode_line(_STATUS_DECODER, obj, "a Mastodon webhook status")
        return _status_events(status, is_edit=event == "status.updated")
    return [NotAPost(network=_MASTODON, kind=event)]


def decode(line: bytes) -> list[Event]:
    """One line of Mastodon JSON (status, notification, stream message, webhook) as events."""
    obj = decode_line(_LINE_DECODER, line, "a Mastodon status, notification or event")
    if obj.event is not None:
        webhook_object = bytes(obj.object)
        if webhook_object:
            return _webhook_events(obj.event, webhook_object)
        return _stream_events(obj.event, obj.payload)
    if obj.type is not None:
        return _notification_events(_Notification(type=obj.type, status=obj.status))
    if obj.account is not None or obj.content is not None:
        return _status_events(obj)
    raise DecodeError("not a Mastodon status, notification, streaming message or webhook")
