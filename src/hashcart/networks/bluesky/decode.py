"""Bluesky Jetstream v1 events into `Post` events.

A line is `{"did", "time_us", "kind": "commit"|"identity"|"account", "commit": {...}}`.
Only `app.bsky.feed.post` commits are posts; likes, reposts, follows, profile
updates and identity/account events come back as `NotAPost`. The record is read
as a post only for that collection: other collections reuse field names (`text`,
`embed`) with other shapes, so their records are never parsed.

Tags and links live in the record's facets, not (reliably) in the text: a link's
display text is often shortened (`www.tumblr.com/tempo-tales/...`) while the
`#link` facet holds the full URI.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from hashcart.domain.posts import (
    AccountGone,
    DecodeError,
    Event,
    Network,
    NotAPost,
    Post,
    PostDeleted,
)
from hashcart.networks._json import decode_line, parse_iso_datetime, unique
from hashcart.networks.limits import EARLIEST_POST

_BLUESKY = Network.BLUESKY
_POST_COLLECTION = "app.bsky.feed.post"
_TAG_FEATURE = "app.bsky.richtext.facet#tag"
_LINK_FEATURE = "app.bsky.richtext.facet#link"
_EMBED_EXTERNAL = "app.bsky.embed.external"
_EMBED_RECORD = "app.bsky.embed.record"
_EMBED_RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"


class _Struct(msgspec.Struct, forbid_unknown_fields=False):
    """Base of every payload shape here: unknown fields are skipped, not rejected."""


class _Feature(_Struct):
    type: str | None = msgspec.field(default=None, name="$type")
    tag: str | None = None
    uri: str | None = None


class _Facet(_Struct):
    # `index` ({byteStart, byteEnd}: UTF-8 byte offsets into text) is deliberately not
    # read: the feature carries the tag or URI itself, and odd offsets must not fail a post.
    features: list[_Feature] | None = None


class _Ref(_Struct):
    uri: str | None = None


class _External(_Struct):
    uri: str | None = None


class _EmbeddedRecord(_Struct):
    """`embed.record`: a strong ref {uri, cid} for `embed.record`, or for
    `embed.recordWithMedia` an `embed.record` object whose own `record` is the ref."""

    uri: str | None = None
    record: _Ref | None = None


class _Media(_Struct):
    type: str | None = msgspec.field(default=None, name="$type")
    external: _External | None = None


class _Embed(_Struct):
    type: str | None = msgspec.field(default=None, name="$type")
    external: _External | None = None
    record: _EmbeddedRecord | None = None
    media: _Media | None = None


class _ReplyRef(_Struct):
    parent: _Ref | None = None
    root: _Ref | None = None


class _PostRecord(_Struct):
    text: str | None = None
    createdAt: str | None = None  # the lexicon's spelling
    facets: list[_Facet] | None = None
    tags: list[str] | None = None
    reply: _ReplyRef | None = None
    embed: _Embed | None = None


class _Commit(_Struct):
    operation: str | None = None
    collection: str | None = None
    rkey: str | None = None
    # Parsed only for posts. Raw cannot be part of a union: absent is b"", null b"null".
    record: msgspec.Raw = msgspec.Raw()


class _AccountStatus(_Struct):
    active: bool = True
    status: str | None = None


class _JetstreamEvent(_Struct):
    did: str | None = None
    time_us: int | None = None
    kind: str | None = None
    commit: _Commit | None = None
    account: _AccountStatus | None = None


# `#account` statuses after which the account's posts go: the repository is deleted, or the
# host took it down. Deactivated, suspended or desynchronized accounts may come back, so
# their events change nothing (com.atproto.sync.subscribeRepos `#account`: "active: false"
# with status takendown | suspended | deleted | deactivated | desynchronized | throttled;
# bluesky-social/atproto lexicons/com/atproto/sync/subscribeRepos.json; Jetstream passes
# them on as `kind: "account"`, bluesky-social/jetstream README).
_GONE_STATUSES = frozenset({"deleted", "takendown"})


_EVENT_DECODER = msgspec.json.Decoder(_JetstreamEvent)
_POST_RECORD_DECODER = msgspec.json.Decoder(_PostRecord)


def _tags_and_urls(record: _PostRecord) -> tuple[tuple[str, ...] | None, list[str]]:
    tags: list[str] = []
    urls: list[str] = []
    for facet in record.facets or ():
        for feature in facet.features or ():
            if feature.type == _TAG_FEATURE and feature.tag:
                tags.append(feature.tag)
            elif feature.type == _LINK_FEATURE and feature.uri:
                urls.append(feature.uri)
    tags.extend(tag for tag in record.tags or () if tag)
    embed = record.embed
    if embed is not None:
        if embed.type == _EMBED_EXTERNAL and embed.external and embed.external.uri:
            urls.append(embed.external.uri)
        elif embed.type == _EMBED_RECORD_WITH_MEDIA:
            media = embed.media
            if media and media.type == _EMBED_EXTERNAL and media.external and media.external.uri:
                urls.append(media.external.uri)
    has_tag_metadata = record.facets is not None or record.tags is not None
    return (unique(tags) if has_tag_metadata else None), urls


def _quote_of(embed: _Embed | None) -> str | None:
    if embed is None or embed.record is None:
        return None
    if embed.type == _EMBED_RECORD:
        return embed.record.uri or None
    if embed.type == _EMBED_RECORD_WITH_MEDIA and embed.record.record is not None:
        return embed.record.record.uri or None
    return None


def _from_time_us(time_us: int | None) -> datetime | None:
    if time_us is None:
        return None
    try:
        return datetime.fromtimestamp(time_us / 1_000_000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _created_at(claimed: str | None, seen: datetime | None) -> datetime | None:
    """When the post was made. `createdAt` is set by the author's client and may lie (year
    9999, year 1); the Jetstream's `time_us` is when the network saw the post. As Bluesky
    advises (docs.bsky.app/docs/advanced-guides/timestamps: "tricksters might lie about
    timestamps"; reject far-past and far-future ones; sort by min(createdAt, indexedAt)),
    the claim counts unless it is later than when the network saw the post, or impossible."""
    when = parse_iso_datetime(claimed) if claimed is not None else None
    if when is None or when < EARLIEST_POST:
        return seen
    if seen is not None and when > seen:
        return seen
    return when


def _post(event: _JetstreamEvent, did: str, uri: str, commit: _Commit) -> Post:
    raw = bytes(commit.record)
    if raw in (b"", b"null"):
        raise DecodeError(f"{commit.operation} of {uri} has no record")
    record = decode_line(_POST_RECORD_DECODER, raw, "a Bluesky post record")
    created_at = _created_at(record.createdAt, _from_time_us(event.time_us))
    if created_at is None:
        raise DecodeError(f"{uri} has neither a readable createdAt nor time_us")
    tags, urls = _tags_and_urls(record)
    reply = record.reply
    return Post(
        network=_BLUESKY,
        post_id=uri,
        author_id=did,
        author_handle="",  # Jetstream carries the DID only
        text=record.text or "",
        created_at=created_at,
        tags=tags,
        urls=unique(urls),
        reply_to_id=(reply.parent.uri or None) if reply and reply.parent else None,
        quote_of_id=_quote_of(record.embed),
        is_repost=False,  # reposts are their own collection
        is_edit=commit.operation == "update",
    )


def decode(line: bytes) -> list[Event]:
    """One Jetstream v1 event line as events."""
    event = decode_line(_EVENT_DECODER, line, "a Jetstream event")
    if not event.kind:
        raise DecodeError("Jetstream event has no kind")
    if not event.did:
        raise DecodeError("Jetstream event has no did")
    if event.kind == "account":
        account = event.account
        if account is not None and not account.active and account.status in _GONE_STATUSES:
            return [AccountGone(network=_BLUESKY, account_id=event.did, why=account.status)]
        return [NotAPost(network=_BLUESKY, kind=event.kind)]
    if event.kind != "commit":
        return [NotAPost(network=_BLUESKY, kind=event.kind)]
    commit = event.commit
    if commit is None or not commit.collection:
        raise DecodeError("commit event has no commit.collection")
    if commit.collection != _POST_COLLECTION:
        return [NotAPost(network=_BLUESKY, kind=commit.collection)]
    if not commit.rkey:
        raise DecodeError("post commit has no rkey")
    uri = f"at://{event.did}/{_POST_COLLECTION}/{commit.rkey}"
    if commit.operation == "delete":
        return [PostDeleted(network=_BLUESKY, post_id=uri)]
    if commit.operation in ("create", "update"):
        return [_post(event, event.did, uri, commit)]
    raise DecodeError(f"post commit has unknown operation {commit.operation!r}")
