"""X payloads for these tests, reshaped from recorded real ones.

The Account Activity deliveries carry real v1.1 tweets from ../shared/fixtures/x-v1.1/
original_format_examples.json (xdevplatform/tweet_parser, MIT): the link tweet ("Dd) Tweet
with a link…") becomes the shop's post with a product link, the reply ("C) Example of a
regular Tweet with a reply") becomes a shopper's `#cart` reply to it. The X Activity API
envelope follows docs.x.com/x-api/activity/event-payloads (`post.reply.create`).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.harness import PRODUCTS
from tests.networks.x.conftest import SHOP_HANDLE, SHOP_ID, SHOPPER_HANDLE, SHOPPER_ID
from tests.payloads import at

LINK_TWEET_ID = "867470833744191488"
REPLY_TWEET_ID = "867468929492332544"
MUG_URL = PRODUCTS["mug"][1]


@cache
def _recorded(fixtures: Path) -> dict[str, dict[str, Any]]:
    path = fixtures / "x-v1.1" / "original_format_examples.json"
    tweets = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {tweet["id_str"]: tweet for tweet in tweets}


def _as_user(tweet: dict[str, Any], user_id: str, handle: str) -> None:
    tweet["user"] |= {"id": int(user_id), "id_str": user_id, "screen_name": handle, "name": handle}


def _at(tweet: dict[str, Any], minutes: float) -> None:
    """Move the recorded tweet to the tests' time (the recordings are from 2017)."""
    when = at(minutes)
    tweet["created_at"] = when.strftime("%a %b %d %H:%M:%S +0000 %Y")
    tweet["timestamp_ms"] = str(int(when.timestamp() * 1000))


def shop_post(fixtures: Path, post_id: str = "1860000000000000001") -> dict[str, Any]:
    """The recorded link tweet, posted by the shop, its link now the mug's product page."""
    tweet = copy.deepcopy(_recorded(fixtures)[LINK_TWEET_ID])
    _as_user(tweet, SHOP_ID, SHOP_HANDLE)
    tweet |= {"id": int(post_id), "id_str": post_id}
    _at(tweet, minutes=0)
    (url,) = tweet["entities"]["urls"]
    # The recording carries X's enrichment (`unwound`: where the link really leads) too.
    url |= {"expanded_url": MUG_URL, "display_url": MUG_URL.removeprefix("https://")}
    url["unwound"] |= {"url": MUG_URL, "title": "Trailhead Enamel Mug"}
    return tweet


def cart_reply(fixtures: Path, reply_id: str, parent_id: str) -> dict[str, Any]:
    """The recorded reply tweet, from the shopper, answering `parent_id` with `#cart`."""
    tweet = copy.deepcopy(_recorded(fixtures)[REPLY_TWEET_ID])
    _as_user(tweet, SHOPPER_ID, SHOPPER_HANDLE)
    _at(tweet, minutes=5)
    text = f"@{SHOP_HANDLE} #cart"
    tweet |= {
        "id": int(reply_id),
        "id_str": reply_id,
        "text": text,
        "display_text_range": [len(SHOP_HANDLE) + 2, len(text)],
        "in_reply_to_status_id": int(parent_id),
        "in_reply_to_status_id_str": parent_id,
        "in_reply_to_user_id": int(SHOP_ID),
        "in_reply_to_user_id_str": SHOP_ID,
        "in_reply_to_screen_name": SHOP_HANDLE,
    }
    start = len(SHOP_HANDLE) + 2
    tweet["entities"] |= {
        "hashtags": [{"text": "cart", "indices": [start, start + 5]}],
        "urls": [],
        "user_mentions": [
            {
                "screen_name": SHOP_HANDLE,
                "name": SHOP_HANDLE,
                "id": int(SHOP_ID),
                "id_str": SHOP_ID,
                "indices": [0, len(SHOP_HANDLE) + 1],
            }
        ],
    }
    return tweet


def account_activity(*tweets: dict[str, Any]) -> bytes:
    """An Account Activity API delivery for the shop's subscription (the @mention variant).
    documented: the `tweet_create_events` envelope of x-api/account-activity/introduction,
    around recorded tweets."""
    envelope = {
        "for_user_id": SHOP_ID,
        "user_has_blocked": "false",
        "tweet_create_events": list(tweets),
    }
    return json.dumps(envelope).encode()


def v2_post(
    post_id: str,
    author_id: str,
    text: str,
    *,
    reply_to: str | None = None,
    links: tuple[str, ...] = (),
    hashtags: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A v2 Post object with the fields hashcart asks for. hand-built: no documented
    sample for a `#cart` reply; the fields of x-api/fundamentals/data-dictionary."""
    post: dict[str, Any] = {
        "id": post_id,
        "text": text,
        "author_id": author_id,
        "conversation_id": reply_to or post_id,
        "created_at": "2026-11-20T12:00:00.000Z",
        "edit_history_tweet_ids": [post_id],
        "entities": {},
    }
    if hashtags:
        post["entities"]["hashtags"] = [
            {
                "start": text.index(f"#{tag}"),
                "end": text.index(f"#{tag}") + len(tag) + 1,
                "tag": tag,
            }
            for tag in hashtags
        ]
    if links:
        post["entities"]["urls"] = [
            {
                "start": 0,
                "end": 23,
                "url": "https://t.co/abcdefghij",
                "expanded_url": link,
                "display_url": link.removeprefix("https://")[:26],
            }
            for link in links
        ]
    if reply_to is not None:
        post["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        post["in_reply_to_user_id"] = SHOP_ID
    return post


def v2_shop_post(post_id: str) -> dict[str, Any]:
    return v2_post(post_id, SHOP_ID, "Our new enamel mug https://t.co/abcdefghij", links=(MUG_URL,))


def v2_cart_reply(post_id: str, parent_id: str, tag: str = "cart") -> dict[str, Any]:
    return v2_post(
        post_id, SHOPPER_ID, f"@{SHOP_HANDLE} #{tag}", reply_to=parent_id, hashtags=(tag,)
    )


USERS = [
    {"id": SHOP_ID, "name": "Trailhead", "username": SHOP_HANDLE},
    {"id": SHOPPER_ID, "name": "Maya", "username": SHOPPER_HANDLE},
]


def stream_line(post: dict[str, Any], parent: dict[str, Any] | None = None) -> bytes:
    """A filtered-stream line, with the parent in `includes.tweets` when given.
    hand-built: no documented sample for a reply with its parent expanded; the line's shape
    (data, includes, matching_rules) is x-api/posts/filtered-stream/quickstart's."""
    includes: dict[str, Any] = {"users": USERS}
    if parent is not None:
        includes["tweets"] = [parent]
    line = {
        "data": post,
        "includes": includes,
        "matching_rules": [{"id": "1700000000000000001", "tag": "hashcart:triggers"}],
    }
    return json.dumps(line).encode()


def lookup_answer(post: dict[str, Any]) -> dict[str, Any]:
    """GET /2/tweets/:id's answer. hand-built: no documented sample for a shop's post;
    the shape (data, includes.users) is x-api/posts/lookup/integrate's."""
    return {"data": post, "includes": {"users": USERS}}


def activity_reply_event(event_uuid: str, reply: dict[str, Any], parent: dict[str, Any]) -> bytes:
    """An X Activity API `post.reply.create` delivery filtered on the shop's user.
    hand-built around the test's posts: the envelope of x-api/activity/event-payloads (the
    documented sample's `includes` is empty; this one carries the parent)."""
    payload = reply | {"in_reply_to_tweet_id": parent["id"]}
    envelope = {
        "data": {
            "event_uuid": event_uuid,
            "filter": {"user_id": SHOP_ID},
            "event_type": "post.reply.create",
            "tag": "shop-replies",
            "payload": payload,
            "includes": {"users": USERS, "tweets": [parent]},
        }
    }
    return json.dumps(envelope, indent=2).encode()
