"""The built-in demo stream: a day of Trailhead Coffee's social traffic on X, Mastodon and
Bluesky, in each network's real wire format.

`hashcart demo` ingests `first_half`, links the late shopper, then ingests `second_half`.
Every case the engine must get right appears at least once; `DemoStream.scenarios` says
where (line indices into `lines`, and the post ids involved).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hashcart.synthetic import _people, _text, _wire, bluesky, mastodon, x
from hashcart.synthetic._people import Persona
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic.catalog import (
    BRAND,
    LATE_SHOPPER_EMAIL,
    DemoProduct,
    Shopper,
    demo_catalog,
    demo_shoppers,
    shopper_persona,
)

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


@dataclass
class _Emit:
    at: datetime
    seq: int
    line: bytes
    scenarios: tuple[str, ...]
    post_id: str | None


class _Builder:
    def __init__(self, seed: int, host: str, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.host = host
        self.end = now - timedelta(minutes=10)
        self.start = now - timedelta(hours=22)
        self.products = {p.product_id: p for p in demo_catalog(host)}
        self.emits: list[_Emit] = []
        self.seq = 0
        self.people = {"brand": BRAND}

    # --- time and ids --------------------------------------------------------------

    def at(self, frac: float, jitter: float = 0.001) -> datetime:
        frac = min(max(frac + self.rng.uniform(-jitter, jitter), 0.0), 1.0)
        moment = self.start + (self.end - self.start) * frac
        return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)

    def x_id(self, when: datetime) -> int:
        return _wire.x_snowflake(
            _wire.to_ms(when), self.rng.randrange(1024), self.rng.randrange(4096)
        )

    def m_id(self, when: datetime) -> int:
        return _wire.mastodon_id(_wire.to_ms(when), self.rng.randrange(65536))

    def emit(
        self, when: datetime, line: bytes, scenarios: tuple[str, ...], post_id: str | None
    ) -> None:
        self.seq += 1
        self.emits.append(_Emit(when, self.seq, line, scenarios, post_id))

    def text(self, template: str, **products: DemoProduct) -> RichText:
        values: dict[str, str] = {}
        for key, item in products.items():
            values[key.replace("product", "link")] = item.link
            values[key.replace("product", "title")] = item.title
        return parse(template.format(**values), self.people)

    # --- X ---------------------------------------------------------------------------

    def x_post(
        self,
        author: Persona,
        frac: float,
        segs: RichText,
        *scenarios: str,
        reply_to: x.TweetRef | None = None,
        quote: dict[str, Any] | None = None,
        delay: timedelta = timedelta(0),
        photo: bool = False,
        place: bool = False,
        lang: str = "en",
        source: str | None = None,
    ) -> tuple[dict[str, Any], x.TweetRef]:
        created = self.at(frac)
        tweet_id = self.x_id(created)
        obj = x.tweet(
            author=author,
            tweet_id=tweet_id,
            created=created,
            segs=segs,
            rng=self.rng,
            reply_to=reply_to,
            quote=quote,
            photo=photo,
            place=place,
            lang=lang,
            source=source,
            counts=(0, self.rng.randrange(3), self.rng.randrange(4), self.rng.randrange(30)),
        )
        self.emit(created + delay, x.v1_line(obj), scenarios, str(tweet_id))
        return obj, x.TweetRef(tweet_id, author)

    def x_retweet(
        self, author: Persona, frac: float, original: dict[str, Any], *scenarios: str
    ) -> None:
        created = self.at(frac)
        tweet_id = self.x_id(created)
        obj = x.retweet(author=author, tweet_id=tweet_id, created=created, original=original)
        self.emit(created, x.v1_line(obj), scenarios, str(tweet_id))

    def x_v2_post(
        self,
        author: Persona,
        frac: float,
        segs: RichText,
        *scenarios: str,
        reply_to: x.TweetRef | None = None,
        parent: dict[str, Any] | None = None,
        rule_tag: str = "hashcart",
    ) -> tuple[dict[str, Any], x.TweetRef]:
        created = self.at(frac)
        tweet_id = self.x_id(created)
        conversation = int(parent["conversation_id"]) if parent else None
        data = x.tweet_v2(
            author=author,
            tweet_id=tweet_id,
            created=created,
            segs=segs,
            rng=self.rng,
            reply_to=reply_to,
            conversation_id=conversation,
        )
        users = [author] + ([reply_to.author] if reply_to and reply_to.author != author else [])
        line = x.v2_line(data, users=users, tweets=[parent] if parent else None, rule_tag=rule_tag)
        self.emit(created, line, ("x_v2", *scenarios), str(tweet_id))
        return data, x.TweetRef(tweet_id, author)

    # --- Mastodon ------------------------------------------------------------------

    def m_post(
        self,
        author: Persona,
        frac: float,
        segs: RichText,
        *scenarios: str,
        reply_to: mastodon.StatusRef | None = None,
        streaming: bool = False,
        card_for: DemoProduct | None = None,
        image: str | None = None,
        reblog: dict[str, Any] | None = None,
        language: str = "en",
    ) -> tuple[dict[str, Any], mastodon.StatusRef]:
        created = self.at(frac)
        remote = author.mastodon is not None and author.mastodon.domain != _people.HOME_INSTANCE
        received = created + timedelta(milliseconds=self.rng.randrange(300, 4000) if remote else 0)
        local_id = self.m_id(received)
        card = None
        if card_for is not None:
            card = mastodon.card(
                url=card_for.link,
                title=card_for.title,
                description=f"{card_for.title}. {card_for.price.split()[0]} "
                "USD. Roasted to order in Bend, Oregon; ships in 1–2 days.",
                provider="Trailhead Coffee Co.",
                rng=self.rng,
            )
        obj = mastodon.status(
            author=author,
            local_id=local_id,
            created=created,
            segs=segs,
            rng=self.rng,
            reply_to=reply_to,
            card_obj=card,
            image=image,
            reblog=reblog,
            language=language,
            streaming=streaming,
            viewer_is_author=author is BRAND,
            counts=(self.rng.randrange(3), self.rng.randrange(4), self.rng.randrange(25)),
        )
        line = mastodon.stream_line(obj) if streaming else mastodon.status_line(obj)
        tags = ("mastodon_streaming", *scenarios) if streaming else scenarios
        self.emit(received, line, tags, str(local_id))
        return obj, mastodon.StatusRef(local_id, author)

    # --- Bluesky -------------------------------------------------------------------

    def b_post(
        self,
        author: Persona,
        frac: float,
        segs: RichText,
        *scenarios: str,
        reply_to: bluesky.PostRef | None = None,
        embed: dict[str, Any] | None = None,
        langs: tuple[str, ...] = ("en",),
    ) -> bluesky.Commit:
        created = self.at(frac)
        commit = bluesky.post(
            author=author,
            created=created,
            segs=segs,
            rng=self.rng,
            reply_parent=reply_to,
            embed=embed,
            langs=langs,
        )
        received = datetime.fromtimestamp(
            int(commit.line.split(b'"time_us":', 1)[1].split(b",", 1)[0]) / 1e6, UTC
        )
        assert commit.ref is not None
        self.emit(received, commit.line, scenarios, commit.ref.uri)
        return commit

    def b_product_embed(self, item: DemoProduct) -> dict[str, Any]:
        return bluesky.external_embed(
            uri=item.link,
            title=f"{item.title} – Trailhead Coffee Co.",
            description=f"{item.title}. Roasted to order in Bend, Oregon.",
            rng=self.rng,
        )

    def b_subject(
        self,
        author: Persona | str,
        frac: float,
        collection: str,
        subject: bluesky.PostRef | str,
        *scenarios: str,
    ) -> None:
        created = self.at(frac, jitter=0.004)
        line = bluesky.subject_event(
            author=author, created=created, collection=collection, subject=subject, rng=self.rng
        )
        received = datetime.fromtimestamp(
            int(line.split(b'"time_us":', 1)[1].split(b",", 1)[0]) / 1e6, UTC
        )
        self.emit(received, line, ("jetstream_noise", *scenarios), None)


def demo_stream(
    seed: int = 7, host: str = "shop.example", now: datetime | None = None
) -> DemoStream:
    """The demo's stream, about 400 lines over the 22 hours before `now`."""
    now = now or datetime.now(UTC)
    b = _Builder(seed, host, now)
    rng = b.rng
    p = b.products
    maya = shopper_persona("maya.okafor@example.com")
    jonas = shopper_persona("jonas.berg@example.net")
    priya = shopper_persona("priya.raman@example.org")
    lucia = shopper_persona("lucia.fernandez@example.com")
    sam = shopper_persona(LATE_SHOPPER_EMAIL)
    fan_x = _people.random_persona(rng, x=True)
    fan_m = _people.random_persona(rng, mastodon=True)
    fan_b = _people.random_persona(rng, bluesky=True)
    stranger = _people.random_persona(rng, x=True, bluesky=True)

    def trig(tag: str = "#cart") -> RichText:
        return parse(rng.choice(_text.TRIGGERS).format(tag=tag))

    one = _text.BRAND_ONE
    # --- brand posts, first half ---------------------------------------------------------
    b_disc = b.b_post(
        BRAND,
        0.01,
        b.text(
            "Last few bags of {title} before it's gone for the year 🎄 {link}",
            product=p["winter-solstice-2023"],
        ),
        "brand_post",
        embed=b.b_product_embed(p["winter-solstice-2023"]),
    )
    x_house_obj, x_house = b.x_post(
        BRAND,
        0.05,
        b.text(one[0], product=p["house-blend-12oz"]),
        "brand_post",
        source=x.BRAND_SOURCE,
    )
    _, m_espresso = b.m_post(
        BRAND,
        0.08,
        b.text(one[1], product=p["summit-espresso-2lb"]),
        "brand_post",
        "brand_call_to_action",
        streaming=True,
        card_for=p["summit-espresso-2lb"],
    )
    b_guji = b.b_post(
        BRAND,
        0.10,
        b.text(one[2], product=p["ethiopia-guji-12oz"]),
        "brand_post",
        embed=b.b_product_embed(p["ethiopia-guji-12oz"]),
    )
    _, x_campkit = b.x_post(
        BRAND,
        0.15,
        b.text(_text.BRAND_TWO[0], product1=p["enamel-mug-pine"], product2=p["titanium-pour-over"]),
        "brand_post",
        "two_product_post",
        "brand_call_to_action",
        source=x.BRAND_SOURCE,
    )
    _, x_flask = b.x_post(
        BRAND,
        0.20,
        b.text(one[4], product=p["trail-flask-granite"]),
        "brand_post",
        source=x.BRAND_SOURCE,
    )
    _, x_market = b.x_post(
        BRAND,
        0.25,
        parse(_text.BRAND_PLAIN[0]),
        "no_product_post",
        source=x.BRAND_SOURCE,
        place=True,
    )
    grinder_data, x_grinder = b.x_v2_post(
        BRAND,
        0.28,
        b.text(one[5], product=p["ridge-hand-grinder"]),
        "brand_post",
        rule_tag="from:trailhead_coffee",
    )
    b_plain = b.b_post(BRAND, 0.31, parse(_text.BRAND_PLAIN[2]), "no_product_post")
    _, m_two = b.m_post(
        BRAND,
        0.35,
        b.text(_text.BRAND_TWO[2], product1=p["cold-brew-packs-8"], product2=p["canvas-tote"]),
        "brand_post",
        "two_product_post",
        streaming=True,
        card_for=p["cold-brew-packs-8"],
    )
    # Delivered late (a backfill): its reply at 0.37 arrives first.
    _, x_decaf = b.x_post(
        BRAND,
        0.36,
        b.text(one[3], product=p["ridgeline-decaf-12oz"]),
        "brand_post",
        "reply_before_parent",
        "brand_call_to_action",
        source=x.BRAND_SOURCE,
        delay=(b.end - b.start) * 0.03,
    )
    _, m_preorder = b.m_post(
        BRAND,
        0.45,
        b.text(one[2], product=p["panama-geisha-8oz"]),
        "brand_post",
        card_for=p["panama-geisha-8oz"],
    )
    _, m_market = b.m_post(
        BRAND, 0.26, parse(_text.BRAND_PLAIN[1]), "no_product_post", streaming=True
    )

    # --- triggers, first half --------------------------------------------------------------
    maya_cart, _ = b.x_post(maya, 0.06, parse("#cart"), "cart_basic", reply_to=x_house)
    b.x_post(
        maya,
        0.065,
        parse("the mug in your photo looks straight out of a #cartoon 😄"),
        "decoy_tags",
        reply_to=x_house,
    )
    b.x_post(jonas, 0.07, parse("＃cart — my grinder is ready"), "fullwidth_hash", reply_to=x_house)
    b.x_retweet(fan_x, 0.085, maya_cart, "repost_of_trigger")
    lucia_cart, lucia_ref = b.m_post(
        lucia,
        0.09,
        parse("#Cart, this is my morning sorted"),
        "case_variant",
        "duplicate_delivery",
        reply_to=m_espresso,
        streaming=True,
    )
    # The same status again, fetched over REST by a backfill: a duplicate delivery.
    lucia_plain = dict(lucia_cart)
    b.emit(
        b.at(0.1),
        mastodon.status_line(_rest_view(lucia_plain)),
        ("duplicate_delivery",),
        str(lucia_ref.local_id),
    )
    b.m_post(fan_m, 0.095, (), "repost_of_trigger", reblog=_rest_view(lucia_cart))
    b.b_post(priya, 0.11, parse("#wishlist for payday 🤞"), "wishlist", reply_to=b_guji.ref)
    b.m_post(
        maya,
        0.13,
        parse("#cart x2 — one for me, one for my sister"),
        "quantity",
        reply_to=m_espresso,
    )
    b.m_post(
        priya,
        0.14,
        parse("Do you ship to the UK? I'd fill whole #carts with this 😅"),
        "decoy_tags",
        reply_to=m_espresso,
    )
    b.b_post(
        jonas,
        0.15,
        parse("Those bag illustrations are very #cartography, love it"),
        "decoy_tags",
        reply_to=b_guji.ref,
    )
    b.x_post(
        jonas,
        0.16,
        parse("#cart 2 — the pour-over, I already own too many mugs"),
        "pick_second_product",
        reply_to=x_campkit,
    )
    b.x_post(
        lucia,
        0.17,
        parse("Best beans in Oregon, no contest #cart"),
        "quote_post",
        quote=_embedded(x_house_obj),
    )
    assert b_guji.ref is not None
    b.b_post(
        jonas,
        0.18,
        parse("#cart — trying this one next"),
        "quote_post",
        embed=bluesky.record_embed(b_guji.ref),
    )
    jonas_b = b.b_post(jonas, 0.19, trig(), "duplicate_delivery", reply_to=b_guji.ref)
    assert jonas_b.ref is not None
    # Jetstream reconnects with a cursor a little in the past: the same event again.
    b.emit(b.at(0.21), jonas_b.line, ("duplicate_delivery",), jonas_b.ref.uri)
    b.b_subject(fan_b, 0.2, "app.bsky.feed.repost", jonas_b.ref, "repost_of_trigger")
    b.x_post(lucia, 0.22, trig(), "out_of_stock", reply_to=x_flask)
    b.x_post(jonas, 0.27, trig(), "no_product_parent", reply_to=x_market)
    b.m_post(maya, 0.275, trig(), "no_product_parent", reply_to=m_market, streaming=True)
    b.x_post(
        sam,
        0.30,
        parse("#cart, need this for night shifts"),
        "late_shopper_before_link",
        reply_to=x_house,
    )
    noise_m_author = _people.random_persona(rng, mastodon=True)
    _, noise_m = b.m_post(
        noise_m_author,
        0.295,
        parse("Morning light over the lake, no filter needed"),
        "noise",
        image="A calm lake at sunrise with mist over the water",
    )
    b.m_post(priya, 0.30, parse("#cart"), "no_product_parent", reply_to=noise_m)
    b.x_v2_post(
        lucia,
        0.32,
        parse("#cart — finally upgrading from my blade grinder"),
        "cart_basic",
        reply_to=x_grinder,
        parent=grinder_data,
    )
    b.b_post(maya, 0.33, trig(), "no_product_parent", reply_to=b_plain.ref)
    b.x_post(
        maya,
        0.37,
        parse("decaf that actually tastes like coffee? #cart"),
        "reply_before_parent",
        reply_to=x_decaf,
    )
    b.x_post(
        maya,
        0.40,
        parse("ok I'm hooked, another bag please #cart"),
        "repeat_same_product",
        reply_to=x_house,
    )
    b.m_post(sam, 0.44, parse("#wishlist"), "late_shopper_before_link", reply_to=m_espresso)
    b.m_post(
        priya,
        0.47,
        parse("Pre-ordering before they sell out! #cart"),
        "preorder",
        reply_to=m_preorder,
        streaming=True,
    )
    b.b_post(priya, 0.50, trig(), "discontinued", reply_to=b_disc.ref)
    b.x_post(stranger, 0.51, trig(), "unlinked_stranger", reply_to=x_house)

    # --- second half (after the late shopper links at LINK_AT) ---------------------------------
    b_sunrise = b.b_post(
        BRAND,
        0.62,
        b.text(one[4], product=p["enamel-mug-sunrise"]),
        "brand_post",
        embed=b.b_product_embed(p["enamel-mug-sunrise"]),
    )
    long_reply = (
        "Been using a hand-me-down grinder for ten years and the burrs are finally "
        "done. Read every review I could find and this one keeps coming up, so yes: "
        "#cart"
    )
    b.x_post(jonas, 0.58, parse(long_reply), "extended_tweet", reply_to=x_grinder)
    b.x_post(sam, 0.60, parse("#CART"), "late_shopper_after_link", "case_variant", reply_to=x_house)
    b.b_post(maya, 0.64, trig(), "cart_basic", reply_to=b_sunrise.ref)
    b.b_post(
        sam,
        0.66,
        parse("#cart for the trailhead thermos collection"),
        "late_shopper_after_link",
        reply_to=b_sunrise.ref,
    )
    b.m_post(
        lucia,
        0.70,
        parse("#wishlist 1 (the cold brew packs, for summer)"),
        "wishlist",
        reply_to=m_two,
        streaming=True,
    )
    b.b_post(stranger, 0.72, trig(), "unlinked_stranger", reply_to=b_sunrise.ref)
    b.b_post(jonas, 0.75, parse("＃cart"), "fullwidth_hash", reply_to=b_sunrise.ref)
    b.m_post(maya, 0.80, parse("#cart 1 please, the cold brew"), "cart_basic", reply_to=m_two)

    # --- ordinary replies to brand posts (no trigger) ------------------------------------------
    chatter = (
        "Looks great!",
        "What's the roast date on these?",
        "Do you ship to Canada?",
        "Mine arrived yesterday, smells amazing ☕",
        "Is this the same as last year's?",
    )
    for frac, who, target in (
        (0.12, fan_x, x_house),
        (0.23, _people.random_persona(rng, x=True), x_flask),
        (0.68, fan_x, x_campkit),
    ):
        b.x_post(who, frac, parse(rng.choice(chatter)), "plain_reply_to_brand", reply_to=target)
    b.m_post(fan_m, 0.36, parse(rng.choice(chatter)), "plain_reply_to_brand", reply_to=m_two)
    b.b_post(
        fan_b, 0.63, parse(rng.choice(chatter)), "plain_reply_to_brand", reply_to=b_sunrise.ref
    )

    # --- brand engagement on Jetstream ------------------------------------------------------------
    brand_refs = [r for r in (b_disc.ref, b_guji.ref, b_plain.ref, b_sunrise.ref) if r]
    for _ in range(14):
        ref = rng.choice(brand_refs)
        fan = _people.random_persona(rng, bluesky=True)
        assert fan.bluesky is not None
        b.b_subject(fan.bluesky.did, rng.uniform(0.12, 0.99), "app.bsky.feed.like", ref)
    for _ in range(5):
        fan = _people.random_persona(rng, bluesky=True)
        assert fan.bluesky is not None and BRAND.bluesky is not None
        b.b_subject(
            fan.bluesky.did, rng.uniform(0.0, 1.0), "app.bsky.graph.follow", BRAND.bluesky.did
        )

    _noise(b, NOISE_LINES)
    return _assemble(b)


def _embedded(tweet_obj: dict[str, Any]) -> dict[str, Any]:
    """A tweet as it appears nested in another (no stream-only fields)."""
    nested = dict(tweet_obj)
    nested.pop("timestamp_ms", None)
    nested.pop("filter_level", None)
    return nested


def _rest_view(streamed: dict[str, Any]) -> dict[str, Any]:
    """The same status as the REST API orders its fields (viewer fields before content)."""
    viewer = ("favourited", "reblogged", "muted", "bookmarked")
    out: dict[str, Any] = {}
    for key, value in streamed.items():
        if key in viewer or key == "filtered":
            continue
        if key == "content":
            out.update({k: streamed[k] for k in viewer})
        out[key] = value
        if key == "content":
            out["filtered"] = []
    return out


def _noise(b: _Builder, count: int) -> None:
    """Everyday posts from strangers, spread over the day: the bulk of any real stream."""
    rng = b.rng
    x_people = [_people.random_persona(rng, x=True) for _ in range(40)]
    m_people = [_people.random_persona(rng, mastodon=True) for _ in range(30)]
    b_people = [_people.random_persona(rng, bluesky=True) for _ in range(40)]
    x_recent: list[tuple[dict[str, Any], x.TweetRef]] = []
    b_recent: list[bluesky.PostRef] = []
    m_recent: list[mastodon.StatusRef] = []
    fracs = sorted(rng.uniform(0.0, 1.0) for _ in range(count))
    for frac in fracs:
        roll = rng.random()
        words = parse(rng.choice(_text.NOISE))
        lang = "ja" if any("\u3040" <= ch <= "\u30ff" for ch in _plain(words)) else "en"
        if roll < 0.30:
            who = rng.choice(x_people)
            if x_recent and rng.random() < 0.25:
                original, _ = rng.choice(x_recent)
                b.x_retweet(who, frac, original, "noise")
            else:
                reply_to = rng.choice(x_recent)[1] if x_recent and rng.random() < 0.15 else None
                obj, ref = b.x_post(
                    who,
                    frac,
                    words,
                    "noise",
                    reply_to=reply_to,
                    photo=rng.random() < 0.2,
                    place=rng.random() < 0.15,
                    lang=lang,
                )
                x_recent.append((obj, ref))
        elif roll < 0.35:
            b.x_v2_post(rng.choice(x_people), frac, words, "noise", rule_tag="coffee OR camping")
        elif roll < 0.58:
            who = rng.choice(m_people)
            m_parent = rng.choice(m_recent) if m_recent and rng.random() < 0.15 else None
            image = "A photo from a morning walk" if rng.random() < 0.2 else None
            _, mref = b.m_post(
                who,
                frac,
                words,
                "noise",
                reply_to=m_parent,
                streaming=rng.random() < 0.5,
                image=image,
                language=lang,
            )
            m_recent.append(mref)
        elif roll < 0.78:
            who = rng.choice(b_people)
            reply = rng.choice(b_recent) if b_recent and rng.random() < 0.2 else None
            embed = bluesky.images_embed(alt="photo", rng=rng) if rng.random() < 0.15 else None
            commit = b.b_post(who, frac, words, "noise", reply_to=reply, embed=embed, langs=(lang,))
            if commit.ref is not None:
                b_recent.append(commit.ref)
        elif roll < 0.92:
            if b_recent:
                actor = rng.choice(b_people)
                b.b_subject(actor, frac, "app.bsky.feed.like", rng.choice(b_recent))
        elif roll < 0.96:
            if b_recent:
                b.b_subject(
                    rng.choice(b_people), frac, "app.bsky.feed.repost", rng.choice(b_recent)
                )
        elif roll < 0.995:
            actor, target = rng.sample(b_people, 2)
            assert target.bluesky is not None
            b.b_subject(actor, frac, "app.bsky.graph.follow", target.bluesky.did)
        else:
            who = rng.choice(b_people)
            assert who.bluesky is not None
            b.emit(
                b.at(frac),
                bluesky.identity_event(
                    did=who.bluesky.did,
                    handle=who.bluesky.handle,
                    when=b.at(frac),
                    seq=rng.randrange(10**10, 4 * 10**10),
                ),
                ("jetstream_noise",),
                None,
            )


def _plain(segs: RichText) -> str:
    return "".join(seg.value for seg in segs)


def _assemble(b: _Builder) -> DemoStream:
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
