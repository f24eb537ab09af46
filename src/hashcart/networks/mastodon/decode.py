"""Mastodon payloads into `Post` events.

One line is one of:
- a Status entity (REST responses; an SSE `update` frame's `data:` is this too);
- a Notification entity (`{"id", "type", "account", "status"}`);
- a streaming message `{"stream": [...], "event": ..., "payload": "<JSON as a string>"}`
  (WebSocket framing; `delete` carries a bare status id, `filters_changed` no payload);
- an admin webhook body `{"event": "status.created", "created_at": ..., "object": {...}}`.

`content` is HTML: the post's text, its links and its hashtag links all live there;
`html_to_text` and `content_links` read it with the stdlib HTML parser.
"""

from __future__ import annotations

from html.parser import HTMLParser

import msgspec

from hashcart.domain.posts import DecodeError, Event, Network, NotAPost, Post, PostDeleted
from hashcart.networks._json import decode_line, parse_iso_datetime, unique

_MASTODON = Network.MASTODON


# --- content HTML -----------------------------------------------------------------------

# Links with these classes point at profiles and tag timelines, not at what was shared.
_SKIPPED_LINK_CLASSES = frozenset({"mention", "hashtag"})


class _ContentReader(HTMLParser):
    """Collects the plain text and the outbound links of a status's `content`."""

    def __init__(self, hide_quote_inline: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hide_quote_inline = hide_quote_inline
        self._hidden_tag: str | None = None  # the `quote-inline` element being left out
        self._hidden_depth = 0  # its nesting, counting only elements of the same name
        self._paragraph_pending = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=tag in _VOID_TAGS)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], self_closing: bool) -> None:
        if self._hidden_tag is not None:
            if tag == self._hidden_tag and not self_closing:
                self._hidden_depth += 1
            return
        classes = _classes(attrs)
        if self._hide_quote_inline and "quote-inline" in classes:
            if not self_closing:
                self._hidden_tag, self._hidden_depth = tag, 1
            return
        if tag == "br":
            self.parts.append("\n")
            self._paragraph_pending = False
        elif tag == "p":
            self._paragraph_pending = bool(self.parts)
        elif tag == "a" and not (classes & _SKIPPED_LINK_CLASSES):
            href = next((value for name, value in attrs if name == "href"), None)
            if href and href[:8].lower().startswith(("http://", "https://")):
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden_tag is not None:
            if tag == self._hidden_tag:
                self._hidden_depth -= 1
                if self._hidden_depth == 0:
                    self._hidden_tag = None
                    self._paragraph_pending = bool(self.parts)
            return
        if tag == "p":
            self._paragraph_pending = bool(self.parts)

    def handle_data(self, data: str) -> None:
        if self._hidden_tag is not None:
            return
        if self._paragraph_pending:
            if not data.strip():
                return  # whitespace between paragraphs, e.g. "</p>\n<p>" from other servers
            self.parts.append("\n\n")
            self._paragraph_pending = False
        self.parts.append(data)


_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip


def _classes(attrs: list[tuple[str, str | None]]) -> frozenset[str]:
    for name, value in attrs:
        if name == "class" and value:
            return frozenset(value.split())
    return frozenset()


def _read_content(html: str, hide_quote_inline: bool) -> tuple[str, tuple[str, ...]]:
    reader = _ContentReader(hide_quote_inline)
    try:
        reader.feed(html)
        reader.close()
    except Exception as exc:  # html.parser can still assert on odd markup (`<![x[`)
        raise DecodeError(f"unreadable content HTML: {exc!r}"[:200]) from None
    return "".join(reader.parts).strip(), unique(reader.links)


def html_to_text(html: str, *, hide_quote_inline: bool = False) -> str:
    """The plain text of a status's HTML `content`.

    Tags are dropped, `<br>` becomes a newline and a new paragraph a blank line (the
    inverse of Mastodon's own formatter, so a local post reads as its author typed it),
    entities are unescaped. With `hide_quote_inline`, the `RE: <link>` paragraph that
    servers prepend to quote posts for old clients is left out, as Mastodon asks
    clients to do when a status has a `quote`. Raises DecodeError if the parser fails.
    """
    return _read_content(html, hide_quote_inline)[0]


def content_links(html: str, *, hide_quote_inline: bool = False) -> tuple[str, ...]:
    """The http(s) `href`s of `<a>` elements in `content`, without mention and hashtag links.

    Mentions (`class="u-url mention"`) point at profiles and hashtags
    (`class="mention hashtag"`) at tag timelines; neither is a link the author shared.
    """
    return _read_content(html, hide_quote_inline)[1]


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
        text, links = _read_content(status.content, hide_quote_inline=status.quote is not None)
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
        is_edit=is_edit or status.edited_at is not None,
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
