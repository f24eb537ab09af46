"""A live sale's burst of claims (issue 13, `hashcart bench --shape live-sale`): replies to
the sale's posts on X, Mastodon and Bluesky in each network's real payload shape, with the
platform's own times, arriving as streams deliver them: mostly in order, some late (a
reconnect, a webhook retried) and some twice.

The shapes are the ones the decoders read and the tests replay: an X v1.1 tweet (the
filtered stream's and Account Activity's `tweet_create_events` object,
https://developer.x.com/en/docs/x-api/v1/data-dictionary/object-model/tweet), a Mastodon
Status entity (https://docs.joinmastodon.org/entities/Status/) and a Jetstream v1 commit
event (https://github.com/bluesky-social/jetstream, "Example events"). Ids are minted as the
networks mint them (X snowflakes, Mastodon's millisecond ids, atproto TIDs), so a later post
has a larger id, as the ranking's tie-break expects.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hashcart.synthetic._wire import iso_from_ms, mastodon_id, tid, x_snowflake, x_time_from_ms

__all__ = [
    "SALE_NETWORKS",
    "SaleArrival",
    "SalePosts",
    "sale_arrivals",
    "sale_payload",
    "sale_posts",
    "sale_shopper",
]

# The networks in the mix, in the order claims cycle through them.
SALE_NETWORKS = ("x", "mastodon", "bluesky")
SHOP_HANDLE = "trailhead_live"
SHOP_X_ID = "1700000000"
SHOP_MASTODON = "https://social.example/users/trailhead_live"
SHOP_DID = "did:plc:trailheadlive00000000000"
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
# The shares of claims that arrive late: inside their settle window (a stream reconnecting),
# and after it (a webhook retried long after; the claim's slot is settled by then).
LATE_INSIDE = 0.02
LATE_AFTER = 0.005
# The share delivered twice (a redelivery: the second adds nothing).
DUPLICATES = 0.01


@dataclass(frozen=True, slots=True)
class SaleArrival:
    """One delivery of claim `index`: when it arrives and when it was posted (microseconds
    from the burst's start; posted may be before it), its network, item and shopper."""

    arrives_us: int
    index: int
    posted_us: int
    network: str
    item: int
    shopper: int
    text: str
    duplicate: bool = False


@dataclass(frozen=True)
class SalePosts:
    """The shop's sale post on each network: (network, post id as its decoder gives it)."""

    ids: dict[str, str]

    def key(self, network: str) -> str:
        """The id a reply names as its parent (Bluesky: the AT-URI)."""
        return self.ids[network]


def sale_posts() -> SalePosts:
    return SalePosts(
        {
            "x": "1860000000000000001",
            "mastodon": "113500000000000001",
            "bluesky": f"at://{SHOP_DID}/app.bsky.feed.post/3lsalepost22a",
        }
    )


def sale_shopper(network: str, number: int) -> tuple[str, str]:
    """Shopper `number`'s stable account id and handle on `network`."""
    if network == "x":
        return str(2_000_000_000 + number), f"buyer{number}"
    if network == "mastodon":
        return f"https://social.example/users/buyer{number}", f"buyer{number}"
    value, chars = number, []
    for _ in range(24):
        chars.append(_B32[value & 31])
        value >>= 5
    return "did:plc:" + "".join(reversed(chars)), f"buyer{number}.bsky.social"


def sale_arrivals(
    rate: int, seconds: float, items: int, shoppers: int, seed: int = 1
) -> list[SaleArrival]:
    """`rate` claims a second for `seconds`, on items 1..`items` by shoppers 0..`shoppers`-1,
    in arrival order: posted up to 0.3 s before arriving (so a batch is out of order), a few
    late inside the settle window (1 to 2.5 s) and after it (3.5 to 8 s), a few twice."""
    rng = random.Random(seed)
    total = int(rate * seconds)
    step = 1_000_000 / rate
    arrivals: list[SaleArrival] = []
    for index in range(total):
        arrives = int(index * step)
        draw = rng.random()
        if draw < LATE_AFTER:
            delay = rng.uniform(3.5, 8.0)
        elif draw < LATE_AFTER + LATE_INSIDE:
            delay = rng.uniform(1.0, 2.5)
        else:
            delay = rng.uniform(0.0, 0.3)
        # Posted `delay` before arriving, never before the burst began: those arrive later.
        posted = int(index * step - delay * 1_000_000)
        if posted < 0:
            arrives, posted = arrives - posted, 0
        item = rng.randrange(items) + 1
        words = rng.choice(("sold {}", "claim {}", "{}", "Sold #{}", "CLAIM {} pls"))
        arrival = SaleArrival(
            arrives,
            index,
            posted,
            SALE_NETWORKS[index % len(SALE_NETWORKS)],
            item,
            rng.randrange(shoppers),
            words.format(item),
        )
        arrivals.append(arrival)
        if rng.random() < DUPLICATES:
            again = arrives + int(rng.uniform(0.2, 2.0) * 1_000_000)
            arrivals.append(replace(arrival, arrives_us=again, duplicate=True))
    arrivals.sort(key=lambda a: a.arrives_us)
    return arrivals


def sale_post_id(arrival: SaleArrival, start_us: int) -> str:
    """The post id the network gives claim `arrival` (its decoder's `Post.post_id`)."""
    ms = (start_us + arrival.posted_us) // 1000
    if arrival.network == "x":
        return str(x_snowflake(ms, arrival.index >> 12, arrival.index))
    if arrival.network == "mastodon":
        return str(mastodon_id(ms, arrival.index))
    did, _ = sale_shopper("bluesky", arrival.shopper)
    rkey = tid(start_us + arrival.posted_us, arrival.index & 0x3FF)
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def sale_payload(arrival: SaleArrival, start_us: int, posts: SalePosts) -> bytes:
    """The claim's payload as its network delivers it (one JSON document, one line)."""
    posted_us = start_us + arrival.posted_us
    ms = posted_us // 1000
    account, handle = sale_shopper(arrival.network, arrival.shopper)
    post_id = sale_post_id(arrival, start_us)
    if arrival.network == "x":
        text = f"@{SHOP_HANDLE} {arrival.text}"
        tweet = {
            "created_at": x_time_from_ms(ms),
            "id": int(post_id),
            "id_str": post_id,
            "text": text,
            "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
            "truncated": False,
            "in_reply_to_status_id": int(posts.key("x")),
            "in_reply_to_status_id_str": posts.key("x"),
            "in_reply_to_user_id": int(SHOP_X_ID),
            "in_reply_to_user_id_str": SHOP_X_ID,
            "in_reply_to_screen_name": SHOP_HANDLE,
            "user": {
                "id": int(account),
                "id_str": account,
                "name": handle,
                "screen_name": handle,
            },
            "is_quote_status": False,
            "entities": {
                "hashtags": [],
                "urls": [],
                "user_mentions": [
                    {
                        "screen_name": SHOP_HANDLE,
                        "name": "Trailhead Live",
                        "id": int(SHOP_X_ID),
                        "id_str": SHOP_X_ID,
                        "indices": [0, len(SHOP_HANDLE) + 1],
                    }
                ],
                "symbols": [],
            },
            "lang": "en",
            "timestamp_ms": str(ms),
        }
        return json.dumps(tweet, separators=(",", ":")).encode()
    if arrival.network == "mastodon":
        mention = (
            f'<span class="h-card" translate="no"><a href="https://social.example/@'
            f'{SHOP_HANDLE}" class="u-url mention">@<span>{SHOP_HANDLE}</span></a></span>'
        )
        status = {
            "id": post_id,
            "created_at": iso_from_ms(ms),
            "in_reply_to_id": posts.key("mastodon"),
            "in_reply_to_account_id": "1",
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"{account}/statuses/{post_id}",
            "url": f"https://social.example/@{handle}/{post_id}",
            "content": f"<p>{mention} {html.escape(arrival.text)}</p>",
            "reblog": None,
            "account": {
                "id": str(100_000 + arrival.shopper),
                "username": handle,
                "acct": handle,
                "uri": account,
                "url": f"https://social.example/@{handle}",
                "display_name": handle,
            },
            "media_attachments": [],
            "mentions": [
                {
                    "id": "1",
                    "username": SHOP_HANDLE,
                    "url": f"https://social.example/@{SHOP_HANDLE}",
                    "acct": SHOP_HANDLE,
                }
            ],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        return json.dumps(status, separators=(",", ":")).encode()
    parent = {
        "cid": "bafyreiainko5un5pbcdosvxpbisjnjzemojnry6nsgtdftdgslbu37kxai",
        "uri": posts.key("bluesky"),
    }
    event = {
        "did": account,
        "time_us": posted_us + 40_000,
        "kind": "commit",
        "commit": {
            "rev": tid(posted_us + 40_000, 7),
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": post_id.rsplit("/", 1)[1],
            "record": {
                "$type": "app.bsky.feed.post",
                "createdAt": iso_from_ms(ms),
                "langs": ["en"],
                "reply": {"parent": parent, "root": parent},
                "text": arrival.text,
            },
            "cid": "bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzovrmfkz7ouqk3uyqx4",
        },
    }
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def start_us_of(moment: datetime) -> int:
    """A moment as the microseconds the payloads count from."""
    return int(moment.astimezone(UTC).timestamp() * 1_000_000)
