"""The demo's live stream: Trailhead Coffee's social traffic as it happens, for
`hashcart demo --serve`. It never runs dry.

Each `beat(now)` makes the next few posts, in each network's real wire format, stamped with
`now` (so the merchant's live chart moves) and with ids no earlier post had: the brand
posts products, linked shoppers reply `#cart` and `#wishlist` and now and then ask
`@trailhead_coffee #order`, new fans reply before they have an account (pending) and link a
few beats later, strangers chat. A beat also names the
fans who link their accounts at that moment; whoever feeds the engine links them after
ingesting the beat's lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hashcart.synthetic import _people, _text, _wire, bluesky, mastodon, x
from hashcart.synthetic._demo_builder import Builder
from hashcart.synthetic._people import Persona
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic.catalog import (
    BRAND,
    DemoProduct,
    Shopper,
    _accounts,
    demo_shoppers,
    shopper_persona,
)

NETWORKS = ("x", "mastodon", "bluesky")
RECENT_BRAND_POSTS = 5  # replies go to one of the brand's latest posts
# With `offer_tags`, a linked shopper posts one of them every this many beats (issue 12).
OFFER_EVERY = 4
CHATTER = (
    "Looks great!",
    "What's the roast date on these?",
    "Do you ship to Canada?",
    "Mine arrived yesterday, smells amazing ☕",
    "Is this the same as last year's?",
    "Ha, the #cartoon on the bag is perfect",
)

# A linked shopper asking after their orders (`order_status_tags`, default `order`).
ORDER_ASKS = (
    "@trailhead_coffee #order did my beans ship yet?",
    "@trailhead_coffee #order any news on my parcel?",
    "@trailhead_coffee where's my stuff? #order",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Ref = x.TweetRef | mastodon.StatusRef | bluesky.PostRef


@dataclass(frozen=True)
class Beat:
    """What happened at one moment: lines to ingest, then fans who link their accounts."""

    lines: list[bytes]
    post_ids: list[str]  # the ids of the posts in `lines`, as Post.post_id has them
    links: list[Shopper]


@dataclass
class _BrandPost:
    network: str
    ref: Ref
    products: list[DemoProduct]


@dataclass
class _Fan:
    """A newcomer: replies before having a shop account, links `link_in` beats later."""

    persona: Persona
    shopper: Shopper
    link_in: int


class _LiveBuilder(Builder):
    """The demo's emitters, with every post stamped at the beat's moment.

    Posts of one beat get consecutive milliseconds and ids only ever grow, so no id repeats:
    X and Mastodon ids start with their millisecond, Bluesky record keys with their
    microsecond.
    """

    def __init__(self, seed: int, host: str) -> None:
        super().__init__(seed, host, _EPOCH)
        self._last_ms = 0
        self._last_x_ms = 0
        self._last_mastodon_ms = 0

    def at(self, frac: float = 0.0, jitter: float = 0.0) -> datetime:
        self._last_ms += 1
        # Mid-millisecond, so float rounding never moves a post into its neighbour's ms.
        return _EPOCH + timedelta(milliseconds=self._last_ms, microseconds=500)

    def start_beat(self, now: datetime) -> None:
        self._last_ms = max(self._last_ms, _wire.to_ms(now) - 1)

    def x_id(self, when: datetime) -> int:
        self._last_x_ms = max(self._last_x_ms + 1, _wire.to_ms(when))
        return _wire.x_snowflake(
            self._last_x_ms, self.rng.randrange(1024), self.rng.randrange(4096)
        )

    def m_id(self, when: datetime) -> int:
        # A remote author's status is numbered when it arrives, a little after it was made.
        self._last_mastodon_ms = max(self._last_mastodon_ms + 1, _wire.to_ms(when))
        return _wire.mastodon_id(self._last_mastodon_ms, self.rng.randrange(65536))


class LiveStream:
    """An endless, deterministic (per seed) stream of the demo shop's social traffic."""

    def __init__(
        self,
        seed: int = 11,
        host: str = "shop.example",
        posts_per_beat: int = 3,
        shoppers: list[Shopper] | None = None,
        offer_tags: tuple[str, ...] = (),
    ) -> None:
        self.b = _LiveBuilder(seed, host)
        self.rng = self.b.rng
        self.posts_per_beat = posts_per_beat
        # Shoppers whose accounts are linked: the demo's own, then every fan who links.
        self.linked = [shopper_persona(s.email) for s in (shoppers or demo_shoppers())]
        self.fans: list[_Fan] = []
        self.fan_count = 0
        # Every account a shopper links, so no new fan is given one already taken.
        self.taken = set().union(*(_account_keys(p) for p in self.linked))
        self.brand_posts: deque[_BrandPost] = deque(maxlen=RECENT_BRAND_POSTS)
        self.strangers = [
            _people.random_persona(self.rng, x=True, mastodon=True, bluesky=True) for _ in range(30)
        ]
        self.beats = 0
        # Offers by hashtag (issue 12): tags linked shoppers post now and then, replying to
        # a brand post (the demo's `#trailhead10`). None: the stream is as before.
        self.offer_tags = offer_tags

    def beat(self, now: datetime) -> Beat:
        """The next few posts, made at `now`."""
        self.beats += 1
        self.b.start_beat(now)
        start = len(self.b.emits)
        offer_beat = bool(self.offer_tags) and self.beats % OFFER_EVERY == 2
        for _ in range(self.posts_per_beat - offer_beat):
            self._one_event()
        if offer_beat:  # one of the beat's posts, so a beat stays a few posts
            self._offer_post()
        made = self.b.emits[start:]
        del self.b.emits[start:]
        return Beat(
            lines=[e.line for e in made],
            post_ids=[e.post_id for e in made if e.post_id is not None],
            links=self._fans_linking_now(),
        )

    # --- what happens ------------------------------------------------------------------

    def _one_event(self) -> None:
        roll = self.rng.random()
        # About one brand post in 25 events: each gathers a few replies before the next.
        if not self.brand_posts or roll < 0.04:
            self._brand_post()
        elif roll < 0.52:
            self._shopper_trigger()
        elif roll < 0.58:
            self._new_fan_trigger()
        elif roll < 0.66:
            self._reply(self.rng.choice(self.strangers), self._trigger_text(), self._target())
        elif roll < 0.78:
            self._reply(self.rng.choice(self.strangers), parse(self.rng.choice(CHATTER)))
        elif roll < 0.80:
            self._order_ask()
        else:
            self._noise()

    def _brand_post(self) -> None:
        rng, b = self.rng, self.b
        network = rng.choice(NETWORKS)
        # What the shop still sells (out of stock included: the shop front shows it so).
        catalog = [p for p in b.products.values() if p.availability != "discontinued"]
        # Each post's words fit what it shows: two-product posts pair products in stock,
        # and a one-product post says sold out or pre-order when it is (_text.brand_one_for).
        if rng.random() < 0.2:
            first, second = rng.sample([p for p in catalog if p.availability == "in_stock"], 2)
            template = rng.choice(_text.BRAND_TWO_ANY)
            segs = b.text(template, product1=first, product2=second)
            products = [first, second]
        else:
            item = rng.choice(catalog)
            segs = b.text(rng.choice(_text.brand_one_for(item.availability)), product=item)
            products = [item]
        ref: Ref
        if network == "x":
            _, ref = b.x_post(BRAND, 0, segs, "brand_post", source=x.BRAND_SOURCE)
        elif network == "mastodon":
            _, ref = b.m_post(
                BRAND, 0, segs, "brand_post", streaming=rng.random() < 0.5, card_for=products[0]
            )
        else:
            commit = b.b_post(BRAND, 0, segs, "brand_post", embed=b.b_product_embed(products[0]))
            assert commit.ref is not None
            ref = commit.ref
        self.brand_posts.append(_BrandPost(network, ref, products))

    def _shopper_trigger(self) -> None:
        target = self._target()
        who = [p for p in self.linked if _has_account(p, target.network)]
        if who:
            self._reply(self.rng.choice(who), self._trigger_text(target), target)

    def _offer_post(self) -> None:
        """A linked shopper loads an offer by replying its tag to a brand post."""
        target = self._target()
        who = [p for p in self.linked if _has_account(p, target.network)]
        if who:
            tag = self.rng.choice(self.offer_tags)
            self._reply(self.rng.choice(who), parse(f"Yes please #{tag}"), target)

    def _new_fan_trigger(self) -> None:
        rng = self.rng
        self.fan_count += 1
        persona = _people.random_persona(rng, x=True, mastodon=True, bluesky=True)
        while self.taken & _account_keys(persona):
            persona = _people.random_persona(rng, x=True, mastodon=True, bluesky=True)
        self.taken |= _account_keys(persona)
        shopper = Shopper(
            _fan_email(persona.name, self.fan_count), persona.name, _accounts(persona)
        )
        self.fans.append(_Fan(persona, shopper, link_in=rng.randint(2, 6)))
        target = self._target()
        self._reply(persona, self._trigger_text(target, wishlist_share=0.0), target)

    def _fans_linking_now(self) -> list[Shopper]:
        linking = []
        for fan in list(self.fans):
            fan.link_in -= 1
            if fan.link_in <= 0:
                self.fans.remove(fan)
                self.linked.append(fan.persona)
                linking.append(fan.shopper)
        return linking

    def _order_ask(self) -> None:
        """A linked shopper asks `@shop #order` (order care): answered privately."""
        rng, b = self.rng, self.b
        who = rng.choice(self.linked)
        network = rng.choice([n for n in NETWORKS if _has_account(who, n)])
        words = parse(rng.choice(ORDER_ASKS), {"trailhead_coffee": BRAND})
        if network == "x":
            b.x_post(who, 0, words, "order_status")
        elif network == "mastodon":
            b.m_post(who, 0, words, "order_status", streaming=rng.random() < 0.5)
        else:
            b.b_post(who, 0, words, "order_status")

    def _noise(self) -> None:
        rng, b = self.rng, self.b
        who = rng.choice(self.strangers)
        words = parse(rng.choice(_text.NOISE))
        network = rng.choice(NETWORKS)
        if network == "x":
            b.x_post(who, 0, words, "noise", photo=rng.random() < 0.2)
        elif network == "mastodon":
            b.m_post(who, 0, words, "noise", streaming=rng.random() < 0.5)
        else:
            b.b_post(who, 0, words, "noise")

    # --- helpers -------------------------------------------------------------------------

    def _target(self) -> _BrandPost:
        """One of the brand's recent posts, the newest most often."""
        posts = list(self.brand_posts)
        weights = [2**i for i in range(len(posts))]
        return self.rng.choices(posts, weights=weights)[0]

    def _trigger_text(
        self, target: _BrandPost | None = None, wishlist_share: float = 0.15
    ) -> RichText:
        rng = self.rng
        wishlist = rng.random() < wishlist_share
        tag = "#wishlist" if wishlist else rng.choice(_text.TRIGGER_TAGS)
        if target is not None and len(target.products) > 1:
            return parse(f"{tag} {rng.randint(1, len(target.products))}")
        if rng.random() < 0.1:
            return parse(f"{tag} x2, one for a friend")
        return parse(rng.choice(_text.TRIGGERS).format(tag=tag))

    def _reply(self, who: Persona, segs: RichText, target: _BrandPost | None = None) -> None:
        target = target or self._target()
        if not _has_account(who, target.network):
            return
        ref = target.ref
        if isinstance(ref, x.TweetRef):
            self.b.x_post(who, 0, segs, "live_reply", reply_to=ref)
        elif isinstance(ref, mastodon.StatusRef):
            self.b.m_post(who, 0, segs, "live_reply", reply_to=ref, streaming=True)
        else:
            self.b.b_post(who, 0, segs, "live_reply", reply_to=ref)


def _account_keys(persona: Persona) -> set[tuple[str, str]]:
    return {(network, account) for network, (account, _) in _accounts(persona).items()}


def _has_account(persona: Persona, network: str) -> bool:
    return getattr(persona, network) is not None


def _fan_email(name: str, number: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    local = re.sub(r"[^a-z]+", ".", ascii_name.lower()).strip(".") or "fan"
    return f"{local}.{number}@fans.example"


__all__ = ["Beat", "LiveStream"]
