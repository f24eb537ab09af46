"""Jetstream's gaps: spotting a resume that skipped time, and reading the shop's threads for
the time it skipped.

Jetstream keeps about 36 hours ("Cursor lookback is bounded to the most recent 36 hours by
default"; the v1 `/subscribe` "clamps a below-floor cursor silently and starts at the oldest
event in the window": bluesky-social/jetstream docs/README.md §5.1). A listener that was down
longer resumes without an error, past whatever was said meanwhile.

A gap shows in the first event after the resume. We ask for the stored cursor minus REWIND,
so a Jetstream that still holds the cursor first sends an event from those few seconds: the
whole network's posts come tens a second (a 2026-07-04 capture in the jetstream repository,
internal/corpus/testdata, has 18 posts in 0.318 s). A first event more than GAP_THRESHOLD
(one minute) after the cursor is no quiet minute but a clamp, or the instance's own outage:
either way the posts between are not coming. A cursor already older than the lookback is a
gap however close the first event is (a clamp of less than a minute). A quiet private
instance can trip the threshold for nothing; that costs the reads below and changes nothing
(the engine drops repeats).

The backfill reads the shop's own posts from its author feed (AppView
`app.bsky.feed.getAuthorFeed`, lexicons/app/bsky/feed/getAuthorFeed.json) and each one's
replies (`app.bsky.feed.getPostThread`, lexicons/app/bsky/feed/getPostThread.json), and turns
those indexed inside the gap into Jetstream-shaped commits: the same lines, through the same
checks and the same sink, as live events. Replies can come to an older product post, so the
shop's posts are read back to THREAD_HORIZON before the gap (at most MAX_THREADS of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

import msgspec

from hashcart.networks.bluesky.records import POST_COLLECTION, AtUri
from hashcart.networks.bluesky.xrpc import Xrpc

GAP_THRESHOLD_US = 60 * 1_000_000
LOOKBACK_US = 36 * 3600 * 1_000_000
THREAD_HORIZON = timedelta(days=7)
MAX_THREADS = 200
# One getPostThread answer is walked up to this many posts (a hostile AppView's deep tree).
MAX_POSTS_PER_THREAD = 2000
_FEED_PAGE = "100"  # getAuthorFeed's maximum `limit`
_MAX_PAGES = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Gap:
    """Jetstream time (unix microseconds) the stream skipped: after `since_us` (the stored
    cursor) up to `until_us` (the first event it sent instead)."""

    since_us: int
    until_us: int

    def describe(self) -> str:
        return f"{_iso(self.since_us)} to {_iso(self.until_us)}"


def gap_between(stored_cursor: int, first_event_us: int, now: datetime) -> Gap | None:
    """The gap a resume from `stored_cursor` skipped, judged by the first event it sent."""
    if first_event_us <= stored_cursor:
        return None
    beyond_lookback = stored_cursor < _us(now) - LOOKBACK_US
    if first_event_us - stored_cursor > GAP_THRESHOLD_US or beyond_lookback:
        return Gap(stored_cursor, first_event_us)
    return None


class ThreadBackfill:
    """The shop's threads, read from an AppView, as Jetstream lines for a gap."""

    def __init__(self, xrpc: Xrpc, appview_url: str, shop: str) -> None:
        self.xrpc = xrpc
        self.appview_url = appview_url
        self.shop = shop  # the shop account's handle or DID (getAuthorFeed takes either)

    def lines(self, since_us: int, until_us: int) -> list[bytes]:
        """Jetstream-shaped commits of the shop's posts and their replies indexed between
        the two times (unix microseconds). Raises BlueskyUnreachable or XrpcError."""
        horizon = since_us - int(THREAD_HORIZON.total_seconds() * 1_000_000)
        found: dict[str, bytes] = {}
        for post in self._shop_posts(horizon):
            if since_us <= _indexed_us(post) <= until_us:
                _keep(found, post)
            for reply in self._replies(str(post["uri"])):
                if since_us <= _indexed_us(reply) <= until_us:
                    _keep(found, reply)
        return [found[uri] for uri in sorted(found, key=lambda uri: _time_of(found[uri]))]

    def _shop_posts(self, horizon_us: int) -> Iterator[dict[str, Any]]:
        """The shop's own posts (no reposts, no replies), newest first, back to the horizon."""
        cursor: str | None = None
        seen = 0
        for _ in range(_MAX_PAGES):
            params = {"actor": self.shop, "limit": _FEED_PAGE, "filter": "posts_no_replies"}
            if cursor:
                params["cursor"] = cursor
            answer = self.xrpc.query(self.appview_url, "app.bsky.feed.getAuthorFeed", params)
            feed = answer.get("feed")
            if not isinstance(feed, list) or not feed:
                return
            for item in feed:
                post = item.get("post") if isinstance(item, dict) else None
                if not _is_post_view(post) or item.get("reason") is not None:
                    continue  # a repost of someone else's post, a pin, or not a post
                if _indexed_us(post) < horizon_us:
                    return
                yield post
                seen += 1
                if seen >= MAX_THREADS:
                    return
            next_cursor = answer.get("cursor")
            if not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                return
            cursor = next_cursor

    def _replies(self, uri: str) -> Iterator[dict[str, Any]]:
        """Every reply in the thread below `uri` (notFound and blocked ones left out)."""
        answer = self.xrpc.query(
            self.appview_url,
            "app.bsky.feed.getPostThread",
            {"uri": uri, "depth": "6", "parentHeight": "0"},
        )
        thread = answer.get("thread")
        waiting = list(_children(thread))
        walked = 0
        while waiting and walked < MAX_POSTS_PER_THREAD:
            node = waiting.pop()
            walked += 1
            post = node.get("post")
            if _is_post_view(post):
                yield post
            waiting.extend(_children(node))


def _children(node: object) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    replies = node.get("replies")
    if not isinstance(replies, list):
        return []
    return [reply for reply in replies if isinstance(reply, dict) and "post" in reply]


def _is_post_view(post: object) -> TypeGuard[dict[str, Any]]:
    """A postView (lexicons/app/bsky/feed/defs.json): uri, cid, author, record, indexedAt."""
    return (
        isinstance(post, dict)
        and isinstance(post.get("uri"), str)
        and isinstance(post.get("cid"), str)
        and isinstance(post.get("record"), dict)
        and isinstance(post.get("author"), dict)
        and _indexed_us(post) >= 0
    )


def _keep(found: dict[str, bytes], post: dict[str, Any]) -> None:
    """The post as the Jetstream commit that created it, if its AT-URI names a post in its
    author's own repository (an AppView answer that says otherwise is not believed)."""
    uri = AtUri.parse(post["uri"])
    author = post["author"].get("did")
    if uri is None or uri.collection != POST_COLLECTION or uri.repo != author:
        return
    found[str(uri)] = msgspec.json.encode(
        {
            "did": uri.repo,
            "time_us": _indexed_us(post),
            "kind": "commit",
            "commit": {
                "operation": "create",
                "collection": POST_COLLECTION,
                "rkey": uri.rkey,
                "cid": post["cid"],
                "record": post["record"],
            },
        }
    )


def _time_of(line: bytes) -> int:
    value = msgspec.json.decode(line)
    return int(value["time_us"])


def _indexed_us(post: dict[str, Any]) -> int:
    """When the AppView indexed the post (unix microseconds), -1 when it does not say."""
    value = post.get("indexedAt")
    if not isinstance(value, str) or len(value) > 64:
        return -1
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return -1
    if moment.tzinfo is None:
        return -1
    return _us(moment)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _iso(us: int) -> str:
    try:
        return (_EPOCH + timedelta(microseconds=us)).isoformat(timespec="seconds")
    except OverflowError:  # a time_us no clock reaches: say it as it came
        return f"time_us {us}"
