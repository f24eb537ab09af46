"""Benchmark streams: one network's wire format, any length, fast and deterministic.

Each stream is mostly everyday noise (with near-miss tags such as #carts, #cartoon, #art,
#wishes and words like "McCartney"), about 1 % brand posts linking to the demo catalogue,
and exactly `round(n * trigger_rate)` trigger replies (`#cart` in mixed case) to earlier
brand posts, from a pool of shopper accounts that `bench_accounts` lists so the bench can
link them to customers. A few hard decoys are mixed in: reposts of triggers, `#cart`
replies to posts with no product, and `#cart` posts that reply to nothing.

Lines are stamped from pre-encoded templates (see `_template`); generating one costs a
few microseconds, not a `json.dumps` of a 3 KB object.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from hashcart.synthetic import _people, _text, _wire, bluesky, mastodon, x
from hashcart.synthetic._people import MastodonAccount, Persona, XAccount
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic._template import Template
from hashcart.synthetic.catalog import BRAND, demo_catalog

BenchShape = Literal["x", "mastodon", "jetstream"]
SHAPES: tuple[BenchShape, ...] = ("x", "mastodon", "jetstream")

POOL_SIZE = 3000  # shopper accounts that send triggers
NOISE_POOL_SIZE = 2000  # everyone else
BRAND_RATE = 0.01
DECOY_RATE = 0.003  # reposts of triggers + #cart replies without product + #cart non-replies
NEAR_MISS_RATE = 0.02  # noise whose tags or words contain "cart", "art", "wish"
BENCH_START = datetime(2025, 6, 2, 12, 0, 0, tzinfo=UTC)
_RECENT_BRAND = 64  # triggers answer one of the last this-many brand posts

# Approximate arrival rates, so timestamps advance the way each stream's do.
_LINES_PER_SECOND = {"x": 5_700, "mastodon": 25, "jetstream": 2_000}

_NEAR_MISS = re.compile(r"cart|art\b|wish", re.IGNORECASE)
NOISE_PLAIN = tuple(t for t in _text.NOISE if not _NEAR_MISS.search(t))
NOISE_NEAR_MISS = tuple(t for t in _text.NOISE if _NEAR_MISS.search(t))
CART_NON_REPLIES = (
    "Finally emptied my online #cart. My wallet says thanks.",
    "Abandoned #cart energy today",
    "Me at 2am adding things to my #cart and never checking out",
)

# Sentinels: stand-ins the builders encode like real values, replaced by template fields.
_S_ID = 1999999999999999001
_S_PARENT = 1999999999999999002
_S_LOCAL = 1899999999999999001


def bench_trigger_count(n: int, trigger_rate: float = 0.005) -> int:
    """How many trigger replies `bench_stream(shape, n, trigger_rate)` yields."""
    return round(n * trigger_rate)


def bench_accounts(
    shape: BenchShape, seed: int = 1, pool_size: int = POOL_SIZE
) -> list[tuple[str, str]]:
    """The shopper accounts whose triggers `bench_stream(shape, ..., seed=seed)` carries:
    (stable account id, handle) — X user id_str, Mastodon account uri, Bluesky DID."""
    out = []
    for persona in _shoppers(shape, seed, pool_size):
        if shape == "x":
            assert persona.x is not None
            out.append((persona.x.id_str, persona.x.screen_name))
        elif shape == "mastodon":
            assert persona.mastodon is not None
            out.append((persona.mastodon.uri, persona.mastodon.acct))
        else:
            assert persona.bluesky is not None
            out.append((persona.bluesky.did, persona.bluesky.handle))
    return out


def bench_stream(
    shape: BenchShape,
    n: int,
    trigger_rate: float = 0.005,
    seed: int = 1,
    host: str = "shop.example",
    *,
    pool_size: int = POOL_SIZE,
    brand_rate: float = BRAND_RATE,
    decoy_rate: float = DECOY_RATE,
    near_miss_rate: float = NEAR_MISS_RATE,
) -> Iterator[bytes]:
    """`n` lines (without newlines) of one network's stream; the same arguments always give
    the same bytes."""
    if shape not in SHAPES:
        raise ValueError(f"unknown bench shape {shape!r}; expected one of {SHAPES}")
    if n < 0:
        raise ValueError("n must be >= 0")
    if trigger_rate < 0.0 or trigger_rate + brand_rate + decoy_rate > 0.9:
        raise ValueError("trigger_rate + brand_rate + decoy_rate must stay below 0.9")
    if n == 0:
        return iter(())
    make = {"x": _XStream, "mastodon": _MastodonStream, "jetstream": _JetstreamStream}[shape]
    return make(seed, host, pool_size).lines(
        n, trigger_rate, brand_rate, decoy_rate, near_miss_rate
    )


# --- shared machinery --------------------------------------------------------------------


def _rng(shape: str, seed: int, what: str) -> random.Random:
    return random.Random(f"hashcart-bench:{shape}:{seed}:{what}")


@lru_cache(maxsize=16)
def _shoppers(shape: str, seed: int, pool_size: int) -> tuple[Persona, ...]:
    return _unique_people(_rng(shape, seed, "shoppers"), shape, pool_size, set())


@lru_cache(maxsize=16)
def _noise_people(shape: str, seed: int) -> tuple[Persona, ...]:
    taken = {_identity(p) for p in _shoppers(shape, seed, POOL_SIZE)}
    return _unique_people(_rng(shape, seed, "noise-people"), shape, NOISE_POOL_SIZE, taken)


def _identity(p: Persona) -> tuple[str, ...]:
    """What must not repeat: handles are unique on every network, and so are ids."""
    if p.x is not None:
        return (p.x.id_str, p.x.screen_name.lower())
    if p.mastodon is not None:
        return (p.mastodon.uri,)
    assert p.bluesky is not None
    return (p.bluesky.did, p.bluesky.handle)


def _unique_people(
    rng: random.Random, shape: str, count: int, taken: set[tuple[str, ...]]
) -> tuple[Persona, ...]:
    seen = {part for key in taken for part in key}
    people: list[Persona] = []
    while len(people) < count:
        persona = _persona(rng, shape)
        key = _identity(persona)
        if any(part in seen for part in key):
            continue
        seen.update(key)
        people.append(persona)
    return tuple(people)


def _persona(rng: random.Random, shape: str) -> Persona:
    return _people.random_persona(
        rng,
        x=shape == "x",
        mastodon=shape == "mastodon",
        bluesky=shape == "jetstream",
        mastodon_local_ms=_wire.to_ms(BENCH_START),
    )


def _schedule(
    n: int, trigger_rate: float, brand_rate: float, rng: random.Random
) -> tuple[list[int], list[int]]:
    """Line numbers of brand posts (the first line is one) and of triggers (exactly
    round(n * trigger_rate), each after a brand post, spread evenly with jitter)."""
    brands = max(1, round(n * brand_rate))
    brand_at = sorted({(k * n) // brands for k in range(brands)})
    taken = set(brand_at)
    triggers = bench_trigger_count(n, trigger_rate)
    trigger_at: list[int] = []
    last = 0
    for k in range(triggers):
        pos = max(int((k + rng.random()) * n / triggers), last + 1)
        while pos in taken:
            pos += 1
        if pos >= n:
            raise ValueError(f"cannot fit {triggers} triggers in {n} lines")
        trigger_at.append(pos)
        last = pos
    return brand_at, trigger_at


_B32S = [bytes([c]) for c in b"234567abcdefghijklmnopqrstuvwxyz"]
_B32S_PAIRS = [a + b for a in _B32S for b in _B32S]


def _fast_tid(us: int, clock_id: int) -> bytes:
    v = (us << 10) | clock_id
    p = _B32S_PAIRS
    return (
        _B32S[(v >> 60) & 31]
        + p[(v >> 50) & 1023]
        + p[(v >> 40) & 1023]
        + p[(v >> 30) & 1023]
        + p[(v >> 20) & 1023]
        + p[(v >> 10) & 1023]
        + p[v & 1023]
    )


_B32L = [bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyz234567"]
_B32L_PAIRS = [a + b for a in _B32L for b in _B32L]


@lru_cache(maxsize=16)
def _cid_pool(salt: bytes) -> tuple[bytes, ...]:
    """4096 random-looking 44-character CID bodies; `_fast_cid` appends a counter."""
    return tuple(
        base64.b32encode(hashlib.sha256(salt + k.to_bytes(4, "big")).digest())[:44].lower()
        for k in range(4096)
    )


def _fast_cid(pool: tuple[bytes, ...], counter: int) -> bytes:
    """A CID-shaped string (59 chars, base32), unique per counter."""
    hi = counter >> 12
    p = _B32L_PAIRS
    return (
        b"bafyrei"
        + pool[counter & 4095]
        + p[(hi >> 30) & 1023]
        + p[(hi >> 20) & 1023]
        + p[(hi >> 10) & 1023]
        + p[hi & 1023]
    )


class _Clock:
    """Formatted timestamps, recomputed once a second (the expensive part is the date)."""

    def __init__(self) -> None:
        self._second = -1
        self._x = b""
        self._iso_prefix = ""

    def _at(self, ms: int) -> None:
        second = ms // 1000
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._second = second
            self._x = _wire.x_time(moment).encode("ascii")
            self._iso_prefix = moment.strftime("%Y-%m-%dT%H:%M:%S.")

    def x(self, ms: int) -> bytes:
        self._at(ms)
        return self._x

    def iso(self, ms: int) -> bytes:
        self._at(ms)
        return f"{self._iso_prefix}{ms % 1000:03d}Z".encode("ascii")


class _Stream:
    shape: str

    def __init__(self, seed: int, host: str, pool_size: int) -> None:
        self.seed = seed
        self.rng = _rng(self.shape, seed, "templates")
        self.products = demo_catalog(host)
        self.shoppers = _shoppers(self.shape, seed, pool_size)
        self.noise_people = _noise_people(self.shape, seed)
        self.clock = _Clock()

    def brand_segs(self) -> list[RichText]:
        out = []
        for item in self.products:
            for template in _text.BRAND_ONE:
                out.append(parse(template.format(link=item.link, title=item.title)))
        return out

    @staticmethod
    def trigger_segs() -> list[RichText]:
        seen: dict[str, RichText] = {}
        for template in _text.TRIGGERS:
            for tag in _text.TRIGGER_TAGS:
                text = template.format(tag=tag)
                seen[text] = parse(text)
        return list(seen.values())

    def lines(
        self,
        n: int,
        trigger_rate: float,
        brand_rate: float,
        decoy_rate: float,
        near_miss_rate: float,
    ) -> Iterator[bytes]:
        rng = _rng(self.shape, self.seed, "stream")
        brand_at, trigger_at = _schedule(n, trigger_rate, brand_rate, rng)
        brand_at.append(n)
        trigger_at.append(n)
        next_brand, next_trigger = brand_at[0], trigger_at[0]
        bi = ti = 0
        noise = self.noise_picker(rng, decoy_rate, near_miss_rate)
        start_ms = _wire.to_ms(BENCH_START)
        per_second = _LINES_PER_SECOND[self.shape]
        for i in range(n):
            ms = start_ms + (i * 1000) // per_second
            if i == next_brand:
                bi += 1
                next_brand = brand_at[bi]
                yield self.brand(i, ms, rng)
            elif i == next_trigger:
                ti += 1
                next_trigger = trigger_at[ti]
                yield self.trigger(i, ms, rng)
            else:
                yield noise(i, ms)

    def noise_picker(
        self, rng: random.Random, decoy_rate: float, near_miss_rate: float
    ) -> Callable[[int, int], bytes]:
        raise NotImplementedError

    def brand(self, i: int, ms: int, rng: random.Random) -> bytes:
        raise NotImplementedError

    def trigger(self, i: int, ms: int, rng: random.Random) -> bytes:
        raise NotImplementedError


_Facts = tuple[bytes, bytes, bytes, bytes, bool]  # account JSON, uri/url prefixes, domain, local


def _pick(rng: random.Random, templates: list[Template]) -> Template:
    return templates[int(rng.random() * len(templates))]


# --- X v1.1 ------------------------------------------------------------------------------


class _XStream(_Stream):
    shape = "x"

    def __init__(self, seed: int, host: str, pool_size: int) -> None:
        super().__init__(seed, host, pool_size)
        rng = self.rng
        self.shopper_users, self.noise_users, self.noise_names = _x_fragments(seed, pool_size)
        stand_in = _replace_x(_people.random_persona(rng, x=True), "SENTSN")
        brand_ref = x.TweetRef(_S_PARENT, BRAND)

        def build(segs: RichText, author: Persona = stand_in, **kw: Any) -> Template:
            obj = x.tweet(
                author=author, tweet_id=_S_ID, created=BENCH_START, segs=segs, rng=rng, **kw
            )
            return self._template(obj, author is BRAND)

        self.brand_t = [build(s, BRAND, source=x.BRAND_SOURCE) for s in self.brand_segs()]
        self.trigger_t = [build(s, reply_to=brand_ref) for s in self.trigger_segs()]
        self.plain_t = [
            build(parse(t), photo=rng.random() < 0.25, place=rng.random() < 0.15)
            for t in NOISE_PLAIN
            for _ in range(3)
        ]
        self.near_t = [build(parse(t), photo=rng.random() < 0.2) for t in NOISE_NEAR_MISS]
        others = [_people.random_persona(rng, x=True) for _ in range(40)]
        self.reply_t = [
            build(parse(t), reply_to=x.TweetRef(_S_PARENT, rng.choice(others))) for t in NOISE_PLAIN
        ]
        self.retweet_t = []
        for _ in range(120):
            author = rng.choice(others)
            created = BENCH_START - timedelta(minutes=rng.randrange(5, 3000))
            original = x.tweet(
                author=author,
                tweet_id=_wire.x_snowflake(
                    _wire.to_ms(created), rng.randrange(1024), rng.randrange(4096)
                ),
                created=created,
                segs=parse(rng.choice(_text.NOISE)),
                rng=rng,
                photo=rng.random() < 0.3,
                top_level=False,
                counts=(
                    rng.randrange(20),
                    rng.randrange(50),
                    rng.randrange(900),
                    rng.randrange(5000),
                ),
            )
            self.retweet_t.append(
                self._template(
                    x.retweet(
                        author=stand_in, tweet_id=_S_ID, created=BENCH_START, original=original
                    )
                )
            )
        # Hard decoys: a retweet of a trigger, #cart replying to a post with no product,
        # #cart replying to nothing.
        self.decoy_t = []
        for segs in self.trigger_segs()[:8]:
            shopper = rng.choice(self.shoppers)
            created = BENCH_START - timedelta(minutes=rng.randrange(1, 600))
            original = x.tweet(
                author=shopper,
                tweet_id=_wire.x_snowflake(
                    _wire.to_ms(created), rng.randrange(1024), rng.randrange(4096)
                ),
                created=created,
                segs=segs,
                rng=rng,
                top_level=False,
                reply_to=x.TweetRef(_wire.x_snowflake(_wire.to_ms(created) - 60_000, 1, 1), BRAND),
            )
            self.decoy_t.append(
                self._template(
                    x.retweet(
                        author=stand_in, tweet_id=_S_ID, created=BENCH_START, original=original
                    )
                )
            )
            self.decoy_t.append(build(segs, reply_to=x.TweetRef(_S_PARENT, rng.choice(others))))
        self.decoy_t += [build(parse(t)) for t in CART_NON_REPLIES]
        self.brand_ids: list[bytes] = []
        self.recent: list[bytes] = [
            str(_wire.x_snowflake(_wire.to_ms(BENCH_START) - 1000, 1, 1)).encode("ascii")
        ]

    def _template(self, obj: dict[str, Any], brand: bool = False) -> Template:
        obj = dict(obj)
        obj["created_at"] = "SENTCREATED"
        obj["timestamp_ms"] = "SENTTS"
        if not brand:
            obj["user"] = "SENTUSER"
        encoded = _wire.x_v1_dumps(obj)
        return Template(
            encoded,
            {
                str(_S_ID): "ID",
                str(_S_PARENT): "PARENT",
                '"SENTUSER"': "USER",
                "SENTCREATED": "CREATED",
                "SENTTS": "TS",
                "SENTSN": "SN",
            },
        )

    def _values(self, i: int, ms: int) -> dict[str, bytes]:
        tweet_id = b"%d" % _wire.x_snowflake(ms, (i >> 12) & 0x3FF, i & 0xFFF)
        return {"ID": tweet_id, "CREATED": self.clock.x(ms), "TS": b"%d" % ms}

    def brand(self, i: int, ms: int, rng: random.Random) -> bytes:
        values = self._values(i, ms)
        self.brand_ids.append(values["ID"])
        return _pick(rng, self.brand_t).render(values)

    def trigger(self, i: int, ms: int, rng: random.Random) -> bytes:
        values = self._values(i, ms)
        values["USER"] = self.shopper_users[int(rng.random() * len(self.shopper_users))]
        values["PARENT"] = self.brand_ids[
            -1 - int(rng.random() * min(len(self.brand_ids), _RECENT_BRAND))
        ]
        return _pick(rng, self.trigger_t).render(values)

    def noise_picker(
        self, rng: random.Random, decoy_rate: float, near_miss_rate: float
    ) -> Callable[[int, int], bytes]:
        users, names = self.noise_users, self.noise_names
        recent = self.recent
        cut_decoy = decoy_rate
        cut_near = cut_decoy + near_miss_rate
        cut_rt = cut_near + 0.27
        cut_reply = cut_rt + 0.12

        def noise(i: int, ms: int) -> bytes:
            values = self._values(i, ms)
            who = int(rng.random() * len(users))
            values["USER"] = users[who]
            values["SN"] = names[who]
            values["PARENT"] = recent[-1 - int(rng.random() * len(recent))]
            roll = rng.random()
            if roll < cut_decoy:
                template = _pick(rng, self.decoy_t)
            elif roll < cut_near:
                template = _pick(rng, self.near_t)
            elif roll < cut_rt:
                template = _pick(rng, self.retweet_t)
            elif roll < cut_reply:
                template = _pick(rng, self.reply_t)
            else:
                template = _pick(rng, self.plain_t)
                if len(recent) >= 256:
                    del recent[:128]
                recent.append(values["ID"])
            return template.render(values)

        return noise


@lru_cache(maxsize=8)
def _x_fragments(seed: int, pool_size: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """Encoded `user` objects of the shoppers and of everyone else, and the others' names."""

    def encode(p: Persona) -> bytes:
        return _wire.x_v1_dumps(x.user_object(p)).encode("ascii")

    noise = _noise_people("x", seed)
    return (
        [encode(p) for p in _shoppers("x", seed, pool_size)],
        [encode(p) for p in noise],
        [p.x.screen_name.encode("ascii") for p in noise if p.x],
    )


def _replace_x(persona: Persona, screen_name: str) -> Persona:
    assert persona.x is not None
    return Persona(
        name=persona.name,
        bio=persona.bio,
        location=persona.location,
        website=persona.website,
        joined=persona.joined,
        followers=persona.followers,
        following=persona.following,
        posts=persona.posts,
        likes=persona.likes,
        x=XAccount(persona.x.id, screen_name),
    )


# --- Mastodon ------------------------------------------------------------------------------


class _MastodonStream(_Stream):
    shape = "mastodon"

    def __init__(self, seed: int, host: str, pool_size: int) -> None:
        super().__init__(seed, host, pool_size)
        rng = self.rng
        self.shopper_facts, self.noise_facts = _mastodon_facts(seed, pool_size)
        self.brand_facts = _facts(BRAND)
        stand_in = Persona(
            name="x",
            bio="",
            location="",
            website=None,
            joined=BENCH_START,
            followers=0,
            following=0,
            posts=0,
            likes=0,
            mastodon=MastodonAccount(_S_LOCAL, "sentuname", "sentdomain"),
        )
        brand_ref = mastodon.StatusRef(_S_LOCAL + 1, BRAND)
        others = [_people.random_persona(rng, mastodon=True) for _ in range(40)]

        def build(segs: RichText, author: Persona = stand_in, **kw: Any) -> Template:
            obj = mastodon.status(
                author=author, local_id=_S_LOCAL + 2, created=BENCH_START, segs=segs, rng=rng, **kw
            )
            return self._template(obj)

        self.brand_t = []
        for item, segs in zip(
            [p for p in self.products for _ in _text.BRAND_ONE], self.brand_segs(), strict=True
        ):
            card = mastodon.card(
                url=item.link,
                title=item.title,
                description=f"{item.title}. Roasted to order in Bend, Oregon.",
                provider="Trailhead Coffee Co.",
                rng=rng,
            )
            self.brand_t.append(build(segs, BRAND, card_obj=card, viewer_is_author=True))
        self.trigger_t = [build(s, reply_to=brand_ref) for s in self.trigger_segs()]
        self.plain_t = []
        for text in NOISE_PLAIN:
            segs = parse(text)
            self.plain_t.append(build(segs))
            self.plain_t.append(build(segs, image="A photo from a morning walk"))
            links = [s.value for s in segs if s.kind == "link"]
            if links:
                self.plain_t.append(
                    build(
                        segs,
                        card_obj=mastodon.card(
                            url=links[0],
                            title="A page worth reading",
                            description="Shared link",
                            provider="",
                            rng=rng,
                        ),
                    )
                )
        self.near_t = [build(parse(t)) for t in NOISE_NEAR_MISS]
        self.reply_t = [
            build(parse(t), reply_to=mastodon.StatusRef(_S_LOCAL + 1, rng.choice(others)))
            for t in NOISE_PLAIN
        ]
        self.reblog_t = []
        for _ in range(80):
            author = rng.choice(others)
            created = BENCH_START - timedelta(minutes=rng.randrange(5, 3000))
            original = mastodon.status(
                author=author,
                local_id=_wire.mastodon_id(_wire.to_ms(created), rng.randrange(65536)),
                created=created,
                segs=parse(rng.choice(_text.NOISE)),
                rng=rng,
                image="Photo" if rng.random() < 0.3 else None,
                counts=(rng.randrange(9), rng.randrange(60), rng.randrange(200)),
            )
            self.reblog_t.append(build((), reblog=original))
        self.decoy_t = []
        for segs in self.trigger_segs()[:8]:
            created = BENCH_START - timedelta(minutes=rng.randrange(1, 600))
            original = mastodon.status(
                author=rng.choice(self.shoppers),
                created=created,
                segs=segs,
                rng=rng,
                local_id=_wire.mastodon_id(_wire.to_ms(created), rng.randrange(65536)),
                reply_to=mastodon.StatusRef(
                    _wire.mastodon_id(_wire.to_ms(created) - 60_000, 7), BRAND
                ),
            )
            self.decoy_t.append(build((), reblog=original))
            self.decoy_t.append(
                build(segs, reply_to=mastodon.StatusRef(_S_LOCAL + 1, rng.choice(others)))
            )
        self.decoy_t += [build(parse(t)) for t in CART_NON_REPLIES]
        self.brand_ids: list[bytes] = []
        self.recent = [b"%d" % _wire.mastodon_id(_wire.to_ms(BENCH_START) - 5000, 1)]

    def _template(self, obj: dict[str, Any]) -> Template:
        obj = dict(obj)
        obj["created_at"] = "SENTCREATED"
        obj["account"] = "SENTACCOUNT"
        if obj["reblog"] is not None:
            obj["uri"] = obj["url"] = "SENTURIACTIVITY"
        else:
            obj["uri"] = "SENTURI"
            obj["url"] = "SENTURL"
        encoded = _wire.mastodon_dumps(obj)
        return Template(
            encoded,
            {
                str(_S_LOCAL + 2): "ID",
                str(_S_LOCAL + 1): "PARENT",
                '"SENTACCOUNT"': "ACCOUNT",
                "SENTCREATED": "CREATED",
                "SENTURIACTIVITY": "ACTIVITY",
                "SENTURI": "URI",
                "SENTURL": "URL",
                "sentdomain": "DOMAIN",
            },
        )

    def _values(self, i: int, ms: int, facts: _Facts) -> dict[str, bytes]:
        local_id = b"%d" % _wire.mastodon_id(ms, i & 0xFFFF)
        account, uri_prefix, url_prefix, domain, local = facts
        origin = local_id if local else b"%d" % _wire.mastodon_id(ms - 700, (i * 7919) & 0xFFFF)
        return {
            "ID": local_id,
            "CREATED": self.clock.iso(ms),
            "ACCOUNT": account,
            "URI": uri_prefix + origin,
            "URL": url_prefix + origin,
            "ACTIVITY": uri_prefix + origin + b"/activity",
            "DOMAIN": domain,
        }

    def brand(self, i: int, ms: int, rng: random.Random) -> bytes:
        values = self._values(i, ms, self.brand_facts)
        self.brand_ids.append(values["ID"])
        return _pick(rng, self.brand_t).render(values)

    def trigger(self, i: int, ms: int, rng: random.Random) -> bytes:
        facts = self.shopper_facts[int(rng.random() * len(self.shopper_facts))]
        values = self._values(i, ms, facts)
        values["PARENT"] = self.brand_ids[
            -1 - int(rng.random() * min(len(self.brand_ids), _RECENT_BRAND))
        ]
        return _pick(rng, self.trigger_t).render(values)

    def noise_picker(
        self, rng: random.Random, decoy_rate: float, near_miss_rate: float
    ) -> Callable[[int, int], bytes]:
        people, recent = self.noise_facts, self.recent
        cut_decoy = decoy_rate
        cut_near = cut_decoy + near_miss_rate
        cut_reblog = cut_near + 0.18
        cut_reply = cut_reblog + 0.15

        def noise(i: int, ms: int) -> bytes:
            values = self._values(i, ms, people[int(rng.random() * len(people))])
            values["PARENT"] = recent[-1 - int(rng.random() * len(recent))]
            roll = rng.random()
            if roll < cut_decoy:
                template = _pick(rng, self.decoy_t)
            elif roll < cut_near:
                template = _pick(rng, self.near_t)
            elif roll < cut_reblog:
                template = _pick(rng, self.reblog_t)
            elif roll < cut_reply:
                template = _pick(rng, self.reply_t)
            else:
                template = _pick(rng, self.plain_t)
                if len(recent) >= 256:
                    del recent[:128]
                recent.append(values["ID"])
            return template.render(values)

        return noise


def _facts(p: Persona) -> _Facts:
    acct = p.mastodon
    assert acct is not None
    account = mastodon.account_object(p) | {"last_status_at": _wire.iso_date(BENCH_START)}
    return (
        _wire.mastodon_dumps(account).encode("utf-8"),
        (acct.uri + "/statuses/").encode("ascii"),
        (acct.url + "/").encode("ascii"),
        acct.domain.encode("ascii"),
        acct.domain == _people.HOME_INSTANCE,
    )


@lru_cache(maxsize=8)
def _mastodon_facts(seed: int, pool_size: int) -> tuple[list[_Facts], list[_Facts]]:
    return (
        [_facts(p) for p in _shoppers("mastodon", seed, pool_size)],
        [_facts(p) for p in _noise_people("mastodon", seed)],
    )


# --- Bluesky Jetstream ----------------------------------------------------------------------


class _JetstreamStream(_Stream):
    shape = "jetstream"

    def __init__(self, seed: int, host: str, pool_size: int) -> None:
        super().__init__(seed, host, pool_size)
        rng = self.rng
        self.cids = _cid_pool(f"{seed}".encode())
        self.shopper_dids = [p.bluesky.did.encode("ascii") for p in self.shoppers if p.bluesky]
        self.noise_dids = [p.bluesky.did.encode("ascii") for p in self.noise_people if p.bluesky]
        assert BRAND.bluesky is not None
        self.brand_did = BRAND.bluesky.did.encode("ascii")
        parent = bluesky.PostRef("SENTPURI", "SENTPCID")
        root = bluesky.PostRef("SENTRURI", "SENTRCID")

        def build(record: dict[str, Any], collection: str = bluesky.POST) -> Template:
            record = dict(record)
            record["createdAt"] = "SENTCREATED"
            event = bluesky.commit_event(
                did="SENTDID",
                time_us="SENTTUS",
                collection=collection,
                rkey="SENTRKEY",
                rev="SENTREV",
                record=record,
                cid="SENTCID",
            )
            return Template(
                _wire.go_dumps(event),
                {
                    "SENTDID": "DID",
                    '"SENTTUS"': "TUS",
                    "SENTRKEY": "RKEY",
                    "SENTREV": "REV",
                    "SENTCREATED": "CREATED",
                    "SENTCID": "CID",
                    "SENTPURI": "PURI",
                    "SENTPCID": "PCID",
                    "SENTRURI": "RURI",
                    "SENTRCID": "RCID",
                    "SENTSUBJECTURI": "SURI",
                    "SENTSUBJECTCID": "SCID",
                    "SENTSUBJECTDID": "SDID",
                },
            )

        def post(segs: RichText, **kw: Any) -> Template:
            return build(bluesky.post_record(created=BENCH_START, segs=segs, **kw))

        self.brand_t = []
        for item, segs in zip(
            [p for p in self.products for _ in _text.BRAND_ONE], self.brand_segs(), strict=True
        ):
            embed = bluesky.external_embed(
                uri=item.link,
                title=f"{item.title} – Trailhead Coffee Co.",
                description=f"{item.title}. Roasted to order in Bend, Oregon.",
                rng=rng,
            )
            self.brand_t.append(post(segs, embed=embed))
        self.trigger_t = [
            post(s, reply_parent=parent, reply_root=parent) for s in self.trigger_segs()
        ]
        self.plain_t = []
        for text in NOISE_PLAIN:
            segs = parse(text)
            lang = ("ja",) if any("\u3040" <= c <= "\u30ff" for c in text) else ("en",)
            self.plain_t.append(post(segs, langs=lang))
            self.plain_t.append(
                post(
                    segs, langs=lang, embed=bluesky.images_embed(alt="Photo: " + text[:60], rng=rng)
                )
            )
            links = [s.value for s in segs if s.kind == "link"]
            if links:
                self.plain_t.append(
                    post(
                        segs,
                        embed=bluesky.external_embed(
                            uri=links[0],
                            title="A page worth reading",
                            description="Shared from the web, with a longer description of it.",
                            rng=rng,
                        ),
                    )
                )
        self.near_t = [post(parse(t)) for t in NOISE_NEAR_MISS]
        self.reply_t = [post(parse(t), reply_parent=parent, reply_root=root) for t in NOISE_PLAIN]
        subject = bluesky.PostRef("SENTSUBJECTURI", "SENTSUBJECTCID")
        self.like_t = build(
            {"$type": "app.bsky.feed.like", "createdAt": "", "subject": subject.as_record()},
            "app.bsky.feed.like",
        )
        self.repost_t = build(
            {"$type": "app.bsky.feed.repost", "createdAt": "", "subject": subject.as_record()},
            "app.bsky.feed.repost",
        )
        self.follow_t = build(
            {"$type": "app.bsky.graph.follow", "createdAt": "", "subject": "SENTSUBJECTDID"},
            "app.bsky.graph.follow",
        )
        # Decoys: #cart replies to non-product posts and #cart posts replying to nothing
        # (reposts of triggers are `repost_t` pointed at a trigger).
        self.decoy_t = [
            post(s, reply_parent=parent, reply_root=root) for s in self.trigger_segs()[:8]
        ]
        self.decoy_t += [post(parse(t)) for t in CART_NON_REPLIES]
        self.brand_refs: list[tuple[bytes, bytes]] = []
        self.trigger_refs: list[tuple[bytes, bytes]] = []
        first_did = self.noise_dids[0]
        self.recent = [
            (
                b"at://%b/app.bsky.feed.post/%b"
                % (first_did, _fast_tid(_wire.to_us(BENCH_START) - 10**6, 1)),
                _fast_cid(self.cids, 1 << 40),
            )
        ]

    def _values(self, i: int, ms: int, did: bytes) -> dict[str, bytes]:
        us = ms * 1000 + (i * 7919) % 1000
        created_ms = ms - 150 - (i * 31) % 900
        rkey = _fast_tid(created_ms * 1000 + (i * 131) % 1000, (i * 17) & 1023)
        return {
            "DID": did,
            "TUS": b"%d" % us,
            "RKEY": rkey,
            "REV": _fast_tid(us - 90_000, i & 1023),
            "CREATED": self.clock.iso(created_ms),
            "CID": _fast_cid(self.cids, i),
        }

    def brand(self, i: int, ms: int, rng: random.Random) -> bytes:
        values = self._values(i, ms, self.brand_did)
        self.brand_refs.append(
            (b"at://%b/app.bsky.feed.post/%b" % (self.brand_did, values["RKEY"]), values["CID"])
        )
        return _pick(rng, self.brand_t).render(values)

    def trigger(self, i: int, ms: int, rng: random.Random) -> bytes:
        did = self.shopper_dids[int(rng.random() * len(self.shopper_dids))]
        values = self._values(i, ms, did)
        uri, cid = self.brand_refs[
            -1 - int(rng.random() * min(len(self.brand_refs), _RECENT_BRAND))
        ]
        values["PURI"] = values["RURI"] = uri
        values["PCID"] = values["RCID"] = cid
        if len(self.trigger_refs) >= 64:
            del self.trigger_refs[:32]
        self.trigger_refs.append(
            (b"at://%b/app.bsky.feed.post/%b" % (did, values["RKEY"]), values["CID"])
        )
        return _pick(rng, self.trigger_t).render(values)

    def noise_picker(
        self, rng: random.Random, decoy_rate: float, near_miss_rate: float
    ) -> Callable[[int, int], bytes]:
        dids, recent = self.noise_dids, self.recent
        cut_decoy = decoy_rate
        cut_near = cut_decoy + near_miss_rate
        cut_like = cut_near + 0.10
        cut_repost = cut_like + 0.05
        cut_follow = cut_repost + 0.03
        cut_reply = cut_follow + 0.25

        def noise(i: int, ms: int) -> bytes:
            values = self._values(i, ms, dids[int(rng.random() * len(dids))])
            puri, pcid = recent[-1 - int(rng.random() * len(recent))]
            values["PURI"] = values["RURI"] = values["SURI"] = puri
            values["PCID"] = values["RCID"] = values["SCID"] = pcid
            roll = rng.random()
            if roll < cut_decoy:
                if self.trigger_refs and rng.random() < 0.34:
                    values["SURI"], values["SCID"] = self.trigger_refs[-1]
                    template = self.repost_t
                else:
                    template = _pick(rng, self.decoy_t)
            elif roll < cut_near:
                template = _pick(rng, self.near_t)
            elif roll < cut_like:
                template = self.like_t
            elif roll < cut_repost:
                template = self.repost_t
            elif roll < cut_follow:
                values["SDID"] = dids[int(rng.random() * len(dids))]
                template = self.follow_t
            elif roll < cut_reply:
                template = _pick(rng, self.reply_t)
            else:
                template = _pick(rng, self.plain_t)
                if len(recent) >= 256:
                    del recent[:128]
                recent.append(
                    (
                        b"at://%b/app.bsky.feed.post/%b" % (values["DID"], values["RKEY"]),
                        values["CID"],
                    )
                )
            return template.render(values)

        return noise
