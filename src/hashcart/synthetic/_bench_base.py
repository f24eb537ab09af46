"""What the benchmark streams of every network share: the people, the schedule of brand
posts and triggers, the clock, the main loop, and the noise of the networks whose posts
name their parent by id.

Each network's module (`bench_x`, `bench_mastodon`, `bench_jetstream`) subclasses
`Stream`: it builds its templates once, then fills them for brand posts, triggers and
noise. Every random choice comes from seeded `random.Random`s in a fixed order, so the
same arguments always give the same bytes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

from hashcart.synthetic import _people, _text, _wire
from hashcart.synthetic._people import Persona
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic._template import Template
from hashcart.synthetic.catalog import DemoProduct, demo_catalog

POOL_SIZE = 3000  # shopper accounts that send triggers
NOISE_POOL_SIZE = 2000  # everyone else
BENCH_START = datetime(2025, 6, 2, 12, 0, 0, tzinfo=UTC)
RECENT_BRAND = 64  # triggers answer one of the last this-many brand posts

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

T = TypeVar("T")


def rng_for(shape: str, seed: int, what: str) -> random.Random:
    return random.Random(f"hashcart-bench:{shape}:{seed}:{what}")


# --- people ------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def shoppers(shape: str, seed: int, pool_size: int) -> tuple[Persona, ...]:
    return _unique_people(rng_for(shape, seed, "shoppers"), shape, pool_size, set())


@lru_cache(maxsize=16)
def noise_people(shape: str, seed: int) -> tuple[Persona, ...]:
    taken = {_identity(p) for p in shoppers(shape, seed, POOL_SIZE)}
    return _unique_people(rng_for(shape, seed, "noise-people"), shape, NOISE_POOL_SIZE, taken)


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


# --- schedule, clock, picks ----------------------------------------------------------------


def _schedule(
    n: int, triggers: int, brand_rate: float, rng: random.Random
) -> tuple[list[int], list[int]]:
    """Line numbers of brand posts (the first line is one) and of the `triggers` triggers
    (each after a brand post, spread evenly with jitter)."""
    brands = max(1, round(n * brand_rate))
    brand_at = sorted({(k * n) // brands for k in range(brands)})
    taken = set(brand_at)
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


class Clock:
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


def pick(rng: random.Random, templates: list[Template]) -> Template:
    return templates[int(rng.random() * len(templates))]


def pick_recent(rng: random.Random, items: Sequence[T], within: int = RECENT_BRAND) -> T:
    """One of the last `within` items (a trigger's brand post)."""
    return items[-1 - int(rng.random() * min(len(items), within))]


# --- streams -------------------------------------------------------------------------------


class Stream:
    shape: str

    def __init__(self, seed: int, host: str, pool_size: int) -> None:
        self.seed = seed
        self.rng = rng_for(self.shape, seed, "templates")
        self.products = demo_catalog(host)
        self.shoppers = shoppers(self.shape, seed, pool_size)
        self.noise_people = noise_people(self.shape, seed)
        self.clock = Clock()

    def brand_segs(self) -> list[tuple[DemoProduct, RichText]]:
        """Every brand text, with the product it links to."""
        out = []
        for item in self.products:
            for template in _text.BRAND_ONE:
                out.append((item, parse(template.format(link=item.link, title=item.title))))
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
        triggers: int,
        brand_rate: float,
        decoy_rate: float,
        near_miss_rate: float,
    ) -> Iterator[bytes]:
        rng = rng_for(self.shape, self.seed, "stream")
        brand_at, trigger_at = _schedule(n, triggers, brand_rate, rng)
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


class IdReplyStream(Stream):
    """A network whose replies and reposts name their parent by id (X, Mastodon).

    Its noise is, by share of the lines: decoys, near misses, `repost_share` reposts,
    `reply_share` replies to a recent plain post (the `PARENT` field), and plain posts,
    whose ids join `recent`. A subclass fills the five template lists and `recent` in its
    `__init__`, and says in `noise_values` how a noise line's fields are made.
    """

    repost_share: float
    reply_share: float
    decoy_t: list[Template]
    near_t: list[Template]
    repost_t: list[Template]
    reply_t: list[Template]
    plain_t: list[Template]
    recent: list[bytes]

    def noise_values(self, i: int, ms: int, author: float) -> dict[str, bytes]:
        """The fields of noise line `i`, posted by the noise account `author` (a fraction
        in [0, 1) to scale to the pool)."""
        raise NotImplementedError

    def noise_picker(
        self, rng: random.Random, decoy_rate: float, near_miss_rate: float
    ) -> Callable[[int, int], bytes]:
        values_for, recent = self.noise_values, self.recent
        decoy_t, near_t, repost_t = self.decoy_t, self.near_t, self.repost_t
        reply_t, plain_t = self.reply_t, self.plain_t
        cut_decoy = decoy_rate
        cut_near = cut_decoy + near_miss_rate
        cut_repost = cut_near + self.repost_share
        cut_reply = cut_repost + self.reply_share

        def noise(i: int, ms: int) -> bytes:
            values = values_for(i, ms, rng.random())
            values["PARENT"] = recent[-1 - int(rng.random() * len(recent))]
            roll = rng.random()
            if roll < cut_decoy:
                template = pick(rng, decoy_t)
            elif roll < cut_near:
                template = pick(rng, near_t)
            elif roll < cut_repost:
                template = pick(rng, repost_t)
            elif roll < cut_reply:
                template = pick(rng, reply_t)
            else:
                template = pick(rng, plain_t)
                if len(recent) >= 256:
                    del recent[:128]
                recent.append(values["ID"])
            return template.render(values)

        return noise
