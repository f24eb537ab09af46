"""The built-in demo stream: a day of Trailhead Coffee's social traffic on X, Mastodon and
Bluesky, in each network's real wire format.

`hashcart demo` ingests `first_half`, links the late shopper, then ingests `second_half`.
Every case the engine must get right appears at least once; `DemoStream.scenarios` says
where (line indices into `lines`, and the post ids involved).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from hashcart.synthetic._demo_builder import Builder
from hashcart.synthetic._demo_noise import add_noise
from hashcart.synthetic._demo_script import play_script
from hashcart.synthetic.catalog import LATE_SHOPPER_EMAIL, Shopper, demo_shoppers

# Where each case sits on the day's timeline, as a fraction of the window. The late
# shopper links at LINK_AT: lines delivered before it form the first half.
LINK_AT = 0.55
NOISE_LINES = 330

SCENARIOS: dict[str, str] = {
    "brand_post": "the brand's posts carrying one or two shop product links",
    "two_product_post": "a brand post with two product links",
    "no_product_post": "brand posts with no shop product link",
    "brand_call_to_action": "brand posts whose own text says 'reply #cart' (no parent: no action)",
    "cart_basic": "a linked shopper replies #cart to a one-product post",
    "case_variant": "#Cart / #CART: the tag in another case",
    "fullwidth_hash": "＃cart with the fullwidth hash (U+FF03)",
    "wishlist": "#wishlist replies",
    "quantity": "#cart x2",
    "pick_second_product": "#cart 2 on a two-product post picks the second product",
    "quote_post": "a quote post (not a reply) carrying #cart",
    "reply_before_parent": "a trigger delivered before the post it replies to",
    "duplicate_delivery": "the same trigger delivered twice",
    "repost_of_trigger": "a retweet / reblog / repost of a trigger (must not count)",
    "decoy_tags": "#cartoon, #carts, #cartography replies to shop posts (not triggers)",
    "no_product_parent": "#cart replying to a post with no shop product",
    "out_of_stock": "#cart for the out-of-stock product",
    "preorder": "#cart for the preorder product",
    "discontinued": "#cart for the discontinued product",
    "repeat_same_product": "a second #cart from the same shopper for the same product",
    "late_shopper_before_link": "the late shopper's triggers before linking (pending intents)",
    "late_shopper_after_link": "the late shopper's triggers after linking",
    "unlinked_stranger": "#cart from accounts that never link",
    "extended_tweet": "an X reply over 140 characters, #cart only in extended_tweet",
    "x_v2": "X API v2 filtered-stream lines",
    "mastodon_streaming": "Mastodon WebSocket streaming messages (payload is a JSON string)",
    "plain_reply_to_brand": "ordinary replies to brand posts, without any trigger",
    "jetstream_noise": "Jetstream likes, reposts, follows and identity events",
    "noise": "ordinary posts from strangers",
    "order_status": "a linked shopper asks `@shop #order` and hears privately how her order stands",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    lines: tuple[int, ...]  # indices into DemoStream.lines
    post_ids: tuple[str, ...]  # ids as `Post.post_id` has them, in delivery order


@dataclass(frozen=True)
class DemoStream:
    first_half: list[bytes]
    second_half: list[bytes]
    late_shopper: Shopper
    link_at: datetime  # when the demo links the late shopper
    scenarios: dict[str, Scenario] = field(default_factory=dict)

    @property
    def lines(self) -> list[bytes]:
        return self.first_half + self.second_half


def demo_stream(
    seed: int = 7, host: str = "shop.example", now: datetime | None = None
) -> DemoStream:
    """The demo's stream, about 400 lines over the 22 hours before `now`."""
    now = now or datetime.now(UTC)
    b = Builder(seed, host, now)
    play_script(b)
    add_noise(b, NOISE_LINES)
    return _assemble(b)


def _assemble(b: Builder) -> DemoStream:
    emits = sorted(b.emits, key=lambda e: (e.at, e.seq))
    link_at = b.start + (b.end - b.start) * LINK_AT
    first = [e.line for e in emits if e.at < link_at]
    second = [e.line for e in emits if e.at >= link_at]
    index: dict[str, tuple[list[int], list[str]]] = {name: ([], []) for name in SCENARIOS}
    for i, e in enumerate(emits):
        for name in e.scenarios:
            lines, ids = index[name]
            lines.append(i)
            if e.post_id is not None:
                ids.append(e.post_id)
    scenarios = {
        name: Scenario(name, SCENARIOS[name], tuple(lines), tuple(ids))
        for name, (lines, ids) in index.items()
    }
    late = next(s for s in demo_shoppers() if s.email == LATE_SHOPPER_EMAIL)
    return DemoStream(first, second, late, link_at, scenarios)
