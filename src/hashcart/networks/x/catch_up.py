"""Catching up on what X said to the shop while hashcart was not listening.

The filtered stream delivers only while connected (x-api/fundamentals/handling-
disconnections.mdx: "disconnections will occur"), and a deploy or a crash is a gap. Before
each connection the listener reads the shop's mentions timeline from the newest post it has
seen (`GET /2/users/:id/mentions?since_id=`, x-api/posts/timelines/quickstart/
user-mention-quickstart.mdx; up to the 800 most recent mentions, timelines/introduction.mdx):
a `#cart` reply to the shop mentions it (`@shop #cart`), so what the gap held comes back, and
the engine drops what it already took. The newest id is the cursor MENTIONS_CURSOR, written
in the same transaction as the batch it follows (LiveSink.ingest), so a restart resumes
after exactly what was kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hashcart.networks.x.api import (
    POST_EXPANSIONS,
    POST_FIELDS,
    USER_FIELDS,
    XApi,
    is_post_id,
)

MENTIONS_CURSOR = "x-mentions"
# 100 a page (the endpoint's most), 8 pages: the 800 the timeline keeps.
PAGE_SIZE = 100
MAX_PAGES = 8


@dataclass(frozen=True)
class Mentions:
    """Mentions newer than the cursor as stream-shaped lines, oldest first, and the newest
    id X gave (None when there were none)."""

    lines: list[bytes]
    newest_id: str | None


def newer(candidate: str | None, than: str | None) -> bool:
    """Whether post id `candidate` is newer than `than` (X's ids grow with time)."""
    if candidate is None or not is_post_id(candidate):
        return False
    return than is None or not is_post_id(than) or int(candidate) > int(than)


def newest_mention(api: XApi, user_id: str) -> str | None:
    """The id of the shop's newest mention: where a first run starts counting from (a
    first run does not replay the shop's history)."""
    answer = _page(api, user_id, {"max_results": "5"})
    meta = answer.get("meta")
    newest = meta.get("newest_id") if isinstance(meta, dict) else None
    return newest if isinstance(newest, str) and is_post_id(newest) else None


def mentions_since(api: XApi, user_id: str, since_id: str) -> Mentions:
    """Every mention after `since_id` (up to MAX_PAGES pages), as stream lines."""
    if not is_post_id(since_id):
        since_id = ""
    params = {"max_results": str(PAGE_SIZE)}
    if since_id:
        params["since_id"] = since_id
    lines: list[bytes] = []
    newest: str | None = None
    for _page_number in range(MAX_PAGES):
        answer = _page(api, user_id, params)
        posts = [post for post in answer.get("data") or () if isinstance(post, dict)]
        includes = answer.get("includes")
        lines += [_line(post, includes if isinstance(includes, dict) else {}) for post in posts]
        meta = answer.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        if newer(meta.get("newest_id"), newest):
            newest = meta["newest_id"]
        for post in posts:
            if newer(post.get("id"), newest):
                newest = post["id"]
        next_token = meta.get("next_token")
        if not isinstance(next_token, str) or not next_token or not posts:
            break
        params["pagination_token"] = next_token[:200]
    # X answers newest first; the engine takes them in the order they were written.
    lines.reverse()
    return Mentions(lines, newest)


def _page(api: XApi, user_id: str, params: dict[str, str]) -> dict[str, Any]:
    if not is_post_id(user_id):
        return {}
    query = {
        **params,
        "tweet.fields": POST_FIELDS,
        "expansions": POST_EXPANSIONS,
        "user.fields": USER_FIELDS,
    }
    return api.call_json("GET", f"/2/users/{user_id}/mentions", "app", params=query)


def _line(post: dict[str, Any], includes: dict[str, Any]) -> bytes:
    """One post as a filtered-stream line, with only its own author and referenced posts
    from the page's `includes` (a page's includes serve a hundred posts)."""
    author = post.get("author_id")
    referenced = {
        ref.get("id")
        for ref in post.get("referenced_tweets") or ()
        if isinstance(ref, dict) and isinstance(ref.get("id"), str)
    }
    users = _kept(includes.get("users"), lambda item: item.get("id") == author)
    tweets = _kept(includes.get("tweets"), lambda item: item.get("id") in referenced)
    # The parents' authors too: the decoder names the parent's author by handle.
    parent_authors = {tweet.get("author_id") for tweet in tweets}
    users += _kept(
        includes.get("users"),
        lambda item: item.get("id") in parent_authors and item.get("id") != author,
    )
    own: dict[str, Any] = {}
    if users:
        own["users"] = users
    if tweets:
        own["tweets"] = tweets
    return json.dumps({"data": post, "includes": own}).encode()


def _kept(items: object, keep: Any) -> list[dict[str, Any]]:
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        return []
    return [item for item in items if isinstance(item, dict) and keep(item)]
