"""X (Twitter) payloads into `Post` events: v1.1 tweets and envelopes, v2 stream lines.

v1.1 (`decode_v1`): a tweet object, an Account Activity API envelope
(`tweet_create_events`, `tweet_delete_events`, other `*_events`), or a classic
streaming notice (`delete`, `limit`, ...). v2 (`decode_v2`): a filtered-stream or
lookup line `{"data": tweet | [tweet], "includes": {...}}`, an `{"errors": [...]}`
line, or an X Activity API envelope `{"data": {"event_type", "payload", ...}}`.

Posts embedded in a payload (v1.1 `quoted_status`/`retweeted_status`, v2
`includes.tweets`) come back as Posts too, after the post that carries them, so a
parent arrives together with its reply. An embedded post too incomplete to be a
Post (no id, no author) is skipped: it is context, and the post that carries it
still decodes.
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

_X = Network.X


class _Struct(msgspec.Struct, forbid_unknown_fields=False):
    """Base of every payload shape here: unknown fields are skipped, not rejected."""


# --- shared helpers ---------------------------------------------------------------------

_MONTHS = {
    "Jan": "01", "Feb": "02", "Mar": "03", "Apr": "04", "May": "05", "Jun": "06",
    "Jul": "07", "Aug": "08", "Sep": "09", "Oct": "10", "Nov": "11", "Dec": "12",
}  # fmt: skip
# X snowflake ids carry their creation time: milliseconds since this epoch, shifted by 22.
_SNOWFLAKE_EPOCH_MS = 1288834974657


def _unescape(text: str) -> str:
    """X escapes exactly `&`, `<` and `>` in post text (`&amp;` in the fixtures); undo that."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _parse_v1_time(value: str) -> datetime | None:
    """`Wed Oct 10 20:19:24 +0000 2018` as aware UTC; None if it is not that shape.

    Rearranged into ISO 8601 for the C `fromisoformat` (which checks every digit),
    rather than strptime: this runs once per post on the hot path.
    """
    month = _MONTHS.get(value[4:7])
    if len(value) != 30 or month is None:
        return None
    iso = f"{value[26:30]}-{month}-{value[8:10]}T{value[11:19]}{value[20:25]}"
    try:
        when = datetime.fromisoformat(iso)
        return when if value[20:25] == "+0000" else when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _snowflake_time(post_id: str) -> datetime | None:
    """When a snowflake id was minted: the fallback when a payload omits `created_at`."""
    if not (post_id.isascii() and post_id.isdigit()) or len(post_id) > 20:
        return None
    ms = (int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _created_at(raw: str | None, post_id: str) -> datetime:
    """v1.1's `Wed Oct 10 ...` or v2's ISO 8601; from the id when the field was not sent."""
    if raw is not None:
        when = _parse_v1_time(raw) if raw[:1].isalpha() else parse_iso_datetime(raw)
        if when is None:
            raise DecodeError(f"post {post_id}: unreadable created_at {raw[:40]!r}")
    else:
        when = _snowflake_time(post_id)
        if when is None:
            raise DecodeError(f"post {post_id}: no created_at")
    return when


# --- v1.1 -------------------------------------------------------------------------------


class _Hashtag(_Struct):
    text: str | None = None


class _Unwound(_Struct):
    url: str | None = None


class _V1Url(_Struct):
    url: str | None = None
    expanded_url: str | None = None
    unwound: _Unwound | None = None  # enterprise "expanded and enhanced URLs" enrichment


class _V1Entities(_Struct):
    hashtags: list[_Hashtag] | None = None
    urls: list[_V1Url] | None = None


class _User(_Struct):
    id_str: str | None = None
    screen_name: str | None = None


class _ExtendedTweet(_Struct):
    full_text: str | None = None
    entities: _V1Entities | None = None


class _EditHistory(_Struct):
    initial_tweet_id: str | None = None
    edit_tweet_ids: list[str] | None = None


class _Tweet(_Struct):
    id_str: str | None = None
    created_at: str | None = None
    user: _User | None = None
    text: str | None = None
    full_text: str | None = None
    truncated: bool | None = None
    extended_tweet: _ExtendedTweet | None = None
    entities: _V1Entities | None = None
    in_reply_to_status_id_str: str | None = None
    quoted_status_id_str: str | None = None
    quoted_status: _Tweet | None = None
    retweeted_status: _Tweet | None = None
    edit_history: _EditHistory | None = None
    edit_history_tweet_ids: list[str] | None = None


class _DeletedStatus(_Struct):
    id: str | int | None = None
    id_str: str | None = None


class _DeleteEvent(_Struct):
    status: _DeletedStatus | None = None


class _V1Line(_Tweet):
    """A tweet, or one of the envelopes that carry tweets or deletions."""

    for_user_id: str | None = None
    tweet_create_events: list[_Tweet] | None = None
    tweet_delete_events: list[_DeleteEvent] | None = None
    delete: _DeleteEvent | None = None


_V1_DECODER = msgspec.json.Decoder(_V1Line)
_ANY_OBJECT = msgspec.json.Decoder(dict[str, object])

# Classic streaming API notices that are not tweets (statuses/filter, statuses/sample).
# The user-stream messages (`event`, `friends`, ...) died with user streams in 2018 and
# are left out: they would make a Mastodon line read as X pass as a harmless notice.
_V1_NOTICES = ("limit", "scrub_geo", "status_withheld", "user_withheld", "disconnect", "warning")


def _v1_tags_and_urls(entities: _V1Entities | None) -> tuple[tuple[str, ...] | None, list[str]]:
    if entities is None:
        return None, []
    tags = tuple(h.text for h in entities.hashtags or () if h.text)
    urls: list[str] = []
    for item in entities.urls or ():
        best = (item.unwound.url if item.unwound else None) or item.expanded_url or item.url
        if best:
            urls.append(best)
    return tags, urls


_MAX_SHOWN_URL = 2048


def _shows_well(url: str | None) -> bool:
    """A link X expanded, fit to stand in the text: http(s), printable, no spaces."""
    return (
        url is not None
        and url.startswith(("https://", "http://"))
        and len(url) <= _MAX_SHOWN_URL
        and url.isprintable()
        and not any(c.isspace() for c in url)
    )


def _expanded_links(text: str, urls: list[_V1Url] | list[_V2Url] | None) -> str:
    """`text` with each t.co link replaced by the link X expanded it to (entities.urls[]
    `url` -> `expanded_url`, developer.x.com/en/docs/twitter-api/data-dictionary/
    object-model/entities), as X's own apps show it: a shopper reads the shop's link."""
    for item in urls or ():
        short, expanded = item.url, item.expanded_url
        if short and expanded is not None and short != expanded and _shows_well(expanded):
            text = text.replace(short, expanded)
    return text


def _v1_is_edit(tweet: _Tweet, post_id: str) -> bool:
    history = tweet.edit_history
    if history is not None:
        if history.initial_tweet_id:
            return history.initial_tweet_id != post_id
        return _starts_elsewhere(history.edit_tweet_ids, post_id)
    return _starts_elsewhere(tweet.edit_history_tweet_ids, post_id)


def _starts_elsewhere(history: list[str] | None, post_id: str) -> bool:
    """An edit history whose first (original) id is not this post: this is a later version."""
    return history is not None and len(history) > 0 and history[0] != post_id


def _v1_post(tweet: _Tweet) -> Post:
    post_id = tweet.id_str
    if not post_id:
        raise DecodeError("tweet has no id_str")
    user = tweet.user
    if user is None or not user.id_str:
        raise DecodeError(f"tweet {post_id} has no user.id_str")
    extended = tweet.extended_tweet
    if tweet.truncated and extended is not None:
        text = extended.full_text or tweet.full_text or tweet.text or ""
        entities = extended.entities if extended.entities is not None else tweet.entities
    else:
        text = tweet.full_text or tweet.text or ""
        entities = tweet.entities
    tags, urls = _v1_tags_and_urls(entities)
    return Post(
        network=_X,
        post_id=post_id,
        author_id=user.id_str,
        author_handle=user.screen_name or "",
        text=_expanded_links(_unescape(text), entities.urls if entities else None),
        created_at=_created_at(tweet.created_at, post_id),
        tags=tags,
        urls=unique(urls),
        reply_to_id=tweet.in_reply_to_status_id_str or None,
        quote_of_id=tweet.quoted_status_id_str or None,
        is_repost=tweet.retweeted_status is not None,
        is_edit=_v1_is_edit(tweet, post_id),
    )


def _v1_embedded(tweet: _Tweet, out: list[Event]) -> None:
    for inner in (tweet.quoted_status, tweet.retweeted_status):
        if inner is None:
            continue
        try:
            out.append(_v1_post(inner))
        except DecodeError:
            continue  # context only; the carrying post stands on its own
        _v1_embedded(inner, out)


def _v1_tweet_events(tweet: _Tweet) -> list[Event]:
    out: list[Event] = [_v1_post(tweet)]
    _v1_embedded(tweet, out)
    return out


def _v1_deleted(status: _DeletedStatus | None) -> PostDeleted:
    post_id = None
    if status is not None:
        post_id = status.id_str or (str(status.id) if status.id is not None else None)
    if not post_id:
        raise DecodeError("delete event has no status id")
    return PostDeleted(network=_X, post_id=post_id)


def _v1_revoke(user_event: object) -> AccountGone | None:
    """An Account Activity `user_event.revoke`: the user took the app's access away
    (docs.x.com/x-api/account-activity/introduction, "user_event"; `source.user_id`)."""
    if not isinstance(user_event, dict):
        return None
    revoke = user_event.get("revoke")
    source = revoke.get("source") if isinstance(revoke, dict) else None
    user_id = source.get("user_id") if isinstance(source, dict) else None
    if not isinstance(user_id, str) or not user_id:
        if revoke is not None:
            raise DecodeError("user_event.revoke has no source.user_id")
        return None
    return AccountGone(network=_X, account_id=user_id, why="revoked")


def _v1_other(line: bytes) -> list[Event]:
    """Lines that are neither tweets nor tweet envelopes (the cold path)."""
    obj: dict[str, object] = decode_line(_ANY_OBJECT, line, "an X v1.1 object")
    keys = list(obj)
    revoked = _v1_revoke(obj.get("user_event"))
    if revoked is not None:
        return [revoked]
    if "for_user_id" in keys:
        kind = next((k for k in keys if k.endswith(("_events", "_event"))), "account_activity")
        return [NotAPost(network=_X, kind=kind)]
    for key in keys:
        if key in _V1_NOTICES:
            return [NotAPost(network=_X, kind=key)]
    raise DecodeError("not an X v1.1 tweet, Account Activity envelope or stream notice")


def decode_v1(line: bytes) -> list[Event]:
    """One line of X v1.1 JSON (a tweet or an envelope) as events."""
    obj = decode_line(_V1_DECODER, line, "an X v1.1 tweet or envelope")
    if obj.tweet_create_events is not None:
        out: list[Event] = []
        for tweet in obj.tweet_create_events:
            out.extend(_v1_tweet_events(tweet))
        return out
    if obj.tweet_delete_events is not None:
        return [_v1_deleted(event.status) for event in obj.tweet_delete_events]
    if obj.delete is not None:
        return [_v1_deleted(obj.delete.status)]
    if obj.id_str is not None or obj.user is not None or obj.text is not None:
        return _v1_tweet_events(obj)
    return _v1_other(line)


# --- v2 ---------------------------------------------------------------------------------


class _V2Hashtag(_Struct):
    tag: str | None = None


class _V2Url(_Struct):
    url: str | None = None
    expanded_url: str | None = None
    unwound_url: str | None = None


class _V2Entities(_Struct):
    hashtags: list[_V2Hashtag] | None = None
    urls: list[_V2Url] | None = None


class _NoteTweet(_Struct):
    text: str | None = None
    entities: _V2Entities | None = None


class _Reference(_Struct):
    type: str | None = None
    id: str | None = None


class _V2Tweet(_Struct):
    id: str | None = None
    text: str | None = None
    author_id: str | None = None
    created_at: str | None = None
    entities: _V2Entities | None = None
    note_tweet: _NoteTweet | None = None
    referenced_tweets: list[_Reference] | None = None
    edit_history_tweet_ids: list[str] | None = None
    # The generated OpenAPI spec (2026) renames these; prose and samples still use the
    # names above. Both spellings are read until recorded payloads settle it.
    note_post: _NoteTweet | None = None
    referenced_posts: list[_Reference] | None = None
    edit_history_post_ids: list[str] | None = None


class _V2User(_Struct):
    id: str | None = None
    username: str | None = None


class _Includes(_Struct):
    tweets: list[_V2Tweet] | None = None
    users: list[_V2User] | None = None


class _ComplianceDelete(_Struct):
    tweet: _V2Tweet | None = None


class _V2Payload(_V2Tweet):
    """An Activity API event's `payload`: a post, or (`oauth.revoke`) who revoked the app."""

    user_id: str | None = None


class _V2Data(_V2Tweet):
    """`data` of a stream line: a tweet, an Activity API envelope, or a compliance delete."""

    event_type: str | None = None
    payload: _V2Payload | None = None
    includes: _Includes | None = None
    delete: _ComplianceDelete | None = None


class _V2Line(_Struct):
    data: _V2Data | list[_V2Tweet] | None = None
    includes: _Includes | None = None
    errors: list[msgspec.Raw] | None = None


_V2_DECODER = msgspec.json.Decoder(_V2Line)


def _v2_tags_and_urls(
    tweet: _V2Tweet,
) -> tuple[str, tuple[str, ...] | None, list[str], list[_V2Url] | None]:
    """Text, tags, urls and the url entities (for the text's t.co links), from the long-post
    `note_tweet` where there is one."""
    note = tweet.note_tweet or tweet.note_post
    text = tweet.text or ""
    entities = tweet.entities
    tags_from: _V2Entities | None = entities
    if note is not None and note.text:
        text = note.text
        if note.entities is not None:
            entities = tags_from = note.entities
        else:
            # The top-level entities only cover the first 280 characters: their tags
            # would look complete and are not, so leave tags to be found in the text.
            tags_from = None
    tags = None
    if tags_from is not None:
        tags = tuple(h.tag for h in tags_from.hashtags or () if h.tag)
    urls: list[str] = []
    if entities is not None:
        for item in entities.urls or ():
            best = item.unwound_url or item.expanded_url or item.url
            if best:
                urls.append(best)
    return text, tags, urls, entities.urls if entities is not None else None


def _v2_post(tweet: _V2Tweet, handles: dict[str, str]) -> Post:
    post_id = tweet.id
    if not post_id:
        raise DecodeError("tweet has no id")
    author_id = tweet.author_id
    if not author_id:
        raise DecodeError(f"tweet {post_id} has no author_id (request tweet.fields=author_id)")
    text, tags, urls, url_entities = _v2_tags_and_urls(tweet)
    reply_to = quote_of = None
    is_repost = False
    for ref in tweet.referenced_tweets or tweet.referenced_posts or ():
        if ref.type == "replied_to":
            reply_to = ref.id
        elif ref.type == "quoted":
            quote_of = ref.id
        elif ref.type == "retweeted":
            is_repost = True
    history = tweet.edit_history_tweet_ids or tweet.edit_history_post_ids
    return Post(
        network=_X,
        post_id=post_id,
        author_id=author_id,
        author_handle=handles.get(author_id, ""),
        text=_expanded_links(_unescape(text), url_entities),
        created_at=_created_at(tweet.created_at, post_id),
        tags=tags,
        urls=unique(urls),
        reply_to_id=reply_to or None,
        quote_of_id=quote_of or None,
        is_repost=is_repost,
        is_edit=_starts_elsewhere(history, post_id),
    )


def _v2_posts(tweets: list[_V2Tweet], includes: _Includes | None) -> list[Event]:
    handles: dict[str, str] = {}
    if includes is not None:
        for user in includes.users or ():
            if user.id and user.username:
                handles[user.id] = user.username
    out: list[Event] = [_v2_post(tweet, handles) for tweet in tweets]
    if includes is not None:
        for included in includes.tweets or ():
            try:
                out.append(_v2_post(included, handles))
            except DecodeError:
                continue  # context only (e.g. author_id not expanded)
    return out


def _v2_activity(data: _V2Data) -> list[Event]:
    """An X Activity API envelope: `post.*.create` carries a post, `post.delete` an id."""
    event_type = data.event_type or ""
    payload = data.payload
    if event_type.startswith("post.") and event_type.endswith(".create") and payload is not None:
        return _v2_posts([payload], data.includes)
    if event_type == "post.delete" and payload is not None and payload.id:
        return [PostDeleted(network=_X, post_id=payload.id)]
    if event_type == "oauth.revoke":
        # The user revoked the app's access; "use this to clean up local state for the
        # revoked user" (docs.x.com/x-api/activity/event-payloads, `oauth.revoke`).
        if payload is None or not payload.user_id:
            raise DecodeError("oauth.revoke has no payload.user_id")
        return [AccountGone(network=_X, account_id=payload.user_id, why="revoked")]
    return [NotAPost(network=_X, kind=event_type)]


def decode_v2(line: bytes) -> list[Event]:
    """One line of X API v2 JSON (stream line, lookup response, Activity API event) as events."""
    obj = decode_line(_V2_DECODER, line, "an X v2 stream line")
    data = obj.data
    if data is None:
        if obj.errors is not None:
            return [NotAPost(network=_X, kind="error")]
        raise DecodeError("X v2 line has neither data nor errors")
    if isinstance(data, list):
        return _v2_posts(data, obj.includes)
    if data.event_type is not None:
        return _v2_activity(data)
    if data.delete is not None:
        deleted = data.delete.tweet
        if deleted is None or not deleted.id:
            raise DecodeError("compliance delete has no tweet id")
        return [PostDeleted(network=_X, post_id=deleted.id)]
    return _v2_posts([data], obj.includes)
