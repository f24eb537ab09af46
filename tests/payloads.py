"""Payloads for tests, in the networks' real wire shapes (cut down to the fields that matter).

Shapes follow the recorded real payloads in ../shared/fixtures: Jetstream v1 commit events
(bluesky-jetstream/golden_v1.jsonl), X v1.1 tweets (x-v1.1/original_format_examples.json) and
Mastodon Status entities (mastodon/test_status_reply.yaml).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

BASE_TIME = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SHOP_DID = "did:plc:shopbrand000000000000000"


def at(minutes: float) -> datetime:
    return BASE_TIME + timedelta(minutes=minutes)


def post_uri(did: str, rkey: str) -> str:
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def jetstream_post(
    did: str,
    rkey: str,
    text: str,
    *,
    minutes: float = 0,
    reply_to: str | None = None,
    quote_of: str | None = None,
    links: tuple[str, ...] = (),
    tags: tuple[str, ...] | None = None,
    operation: str = "create",
) -> bytes:
    """A Jetstream commit creating an app.bsky.feed.post, with link facets for `links`."""
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "createdAt": at(minutes).isoformat().replace("+00:00", "Z"),
        "langs": ["en"],
        "text": text,
    }
    facets = []
    encoded = text.encode()
    for link in links:
        start = encoded.find(link.encode())
        if start < 0:
            start, end = 0, 0
        else:
            end = start + len(link.encode())
        facets.append(
            {
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": link}],
                "index": {"byteEnd": end, "byteStart": start},
            }
        )
    if facets:
        record["facets"] = facets
    if tags is not None:
        record["tags"] = list(tags)
    if reply_to is not None:
        ref = {
            "cid": "bafyreiainko5un5pbcdosvxpbisjnjzemojnry6nsgtdftdgslbu37kxai",
            "uri": reply_to,
        }
        record["reply"] = {"parent": ref, "root": ref}
    if quote_of is not None:
        record["embed"] = {
            "$type": "app.bsky.embed.record",
            "record": {
                "cid": "bafyreiainko5un5pbcdosvxpbisjnjzemojnry6nsgtdftdgslbu37kxai",
                "uri": quote_of,
            },
        }
    event = {
        "did": did,
        "time_us": int(at(minutes).timestamp() * 1_000_000),
        "kind": "commit",
        "commit": {
            "rev": "3mmoojpaqkn2z",
            "operation": operation,
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": record,
            "cid": "bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzovrmfkz7ouqk3uyqx4",
        },
    }
    return json.dumps(event, ensure_ascii=False).encode()


def jetstream_delete(did: str, rkey: str, minutes: float = 0) -> bytes:
    event = {
        "did": did,
        "time_us": int(at(minutes).timestamp() * 1_000_000),
        "kind": "commit",
        "commit": {
            "rev": "3mmoojpaqkn3a",
            "operation": "delete",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
        },
    }
    return json.dumps(event).encode()


def jetstream_like(did: str, subject: str) -> bytes:
    event = {
        "did": did,
        "time_us": int(BASE_TIME.timestamp() * 1_000_000),
        "kind": "commit",
        "commit": {
            "rev": "3mmoojp7vgo2g",
            "operation": "create",
            "collection": "app.bsky.feed.like",
            "rkey": "3mmoojp7etg2g",
            "record": {
                "$type": "app.bsky.feed.like",
                "createdAt": "2026-11-20T12:00:00.000Z",
                "subject": {"cid": "bafyreiaxf7tgbfydx3465sckitq6v564thxe2w", "uri": subject},
            },
            "cid": "bafyreidqpc7si3dbimffi64lz3xsx2qt45ip7rpna2qpslcddp23itjjzm",
        },
    }
    return json.dumps(event).encode()


def x_tweet(
    tweet_id: str,
    user_id: str,
    screen_name: str,
    text: str,
    *,
    minutes: float = 0,
    reply_to: str | None = None,
    links: tuple[str, ...] = (),
    hashtags: tuple[str, ...] = (),
    retweet_of: dict[str, Any] | None = None,
) -> bytes:
    """An X v1.1 tweet object; `/` is escaped as X escapes it."""
    created = at(minutes).strftime("%a %b %d %H:%M:%S +0000 %Y")
    tweet: dict[str, Any] = {
        "created_at": created,
        "id": int(tweet_id),
        "id_str": tweet_id,
        "text": text,
        "truncated": False,
        "in_reply_to_status_id": int(reply_to) if reply_to else None,
        "in_reply_to_status_id_str": reply_to,
        "user": {
            "id": int(user_id),
            "id_str": user_id,
            "name": screen_name,
            "screen_name": screen_name,
        },
        "is_quote_status": False,
        "entities": {
            "hashtags": [{"text": tag, "indices": [0, len(tag) + 1]} for tag in hashtags],
            "urls": [
                {
                    "url": "https://t.co/abcdefghij",
                    "expanded_url": link,
                    "display_url": link.split("//", 1)[-1][:26],
                    "indices": [0, 23],
                }
                for link in links
            ],
            "user_mentions": [],
            "symbols": [],
        },
        "lang": "en",
        "timestamp_ms": str(int(at(minutes).timestamp() * 1000)),
    }
    if retweet_of is not None:
        tweet["retweeted_status"] = retweet_of
    return json.dumps(tweet).replace("/", "\\/").encode()


def mastodon_status(
    status_id: str,
    account_uri: str,
    acct: str,
    content_html: str,
    *,
    minutes: float = 0,
    reply_to: str | None = None,
    tags: tuple[str, ...] = (),
) -> bytes:
    """A Mastodon Status entity as the REST API and webhooks return it."""
    status = {
        "id": status_id,
        "created_at": at(minutes).isoformat().replace("+00:00", ".000Z"),
        "in_reply_to_id": reply_to,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"{account_uri}/statuses/{status_id}",
        "url": f"https://social.example/@{acct}/{status_id}",
        "content": content_html,
        "reblog": None,
        "account": {
            "id": "1",
            "username": acct,
            "acct": acct,
            "uri": account_uri,
            "url": f"https://social.example/@{acct}",
            "display_name": acct,
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": tag, "url": f"https://social.example/tags/{tag}"} for tag in tags],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    return json.dumps(status).encode()


def x_v2_post(
    tweet_id: str,
    author_id: str,
    username: str,
    text: str,
    *,
    minutes: float = 0,
    reply_to: str | None = None,
    links: tuple[str, ...] = (),
    hashtags: tuple[str, ...] = (),
    parent: dict[str, Any] | None = None,
) -> bytes:
    """An X API v2 filtered-stream line with `expansions=referenced_tweets.id,author_id`."""
    data: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "author_id": author_id,
        "created_at": at(minutes).isoformat().replace("+00:00", ".000Z"),
        "edit_history_tweet_ids": [tweet_id],
        "entities": {
            "hashtags": [{"start": 0, "end": len(tag) + 1, "tag": tag} for tag in hashtags],
            "urls": [
                {
                    "start": 0,
                    "end": 23,
                    "url": "https://t.co/abcdefghij",
                    "expanded_url": link,
                    "display_url": link.split("//", 1)[-1][:26],
                }
                for link in links
            ],
        },
    }
    if reply_to is not None:
        data["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        data["in_reply_to_user_id"] = "900"
    line: dict[str, Any] = {
        "data": data,
        "includes": {"users": [{"id": author_id, "username": username, "name": username}]},
        "matching_rules": [{"id": "1", "tag": "shop"}],
    }
    if parent is not None:
        line["includes"]["tweets"] = [parent]
    return json.dumps(line, ensure_ascii=False).encode()
