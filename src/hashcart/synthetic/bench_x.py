"""The X (API v1.1 filtered stream) benchmark stream: tweets, replies, retweets."""

from __future__ import annotations

import random
from datetime import timedelta
from functools import lru_cache
from typing import Any

from hashcart.synthetic import _people, _text, _wire, x
from hashcart.synthetic._bench_base import (
    BENCH_START,
    CART_NON_REPLIES,
    NOISE_NEAR_MISS,
    NOISE_PLAIN,
    IdReplyStream,
    noise_people,
    pick,
    pick_recent,
    shoppers,
)
from hashcart.synthetic._people import Persona, XAccount
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic._template import Template
from hashcart.synthetic.catalog import BRAND

# Sentinels: stand-ins the builders encode like real values, replaced by template fields.
_S_ID = 1999999999999999001
_S_PARENT = 1999999999999999002


class XStream(IdReplyStream):
    shape = "x"
    repost_share = 0.27
    reply_share = 0.12

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

        self.brand_t = [build(s, BRAND, source=x.BRAND_SOURCE) for _, s in self.brand_segs()]
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
        self.repost_t = []
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
            self.repost_t.append(
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
        self.recent = [
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
        return pick(rng, self.brand_t).render(values)

    def trigger(self, i: int, ms: int, rng: random.Random) -> bytes:
        values = self._values(i, ms)
        values["USER"] = self.shopper_users[int(rng.random() * len(self.shopper_users))]
        values["PARENT"] = pick_recent(rng, self.brand_ids)
        return pick(rng, self.trigger_t).render(values)

    def noise_values(self, i: int, ms: int, author: float) -> dict[str, bytes]:
        values = self._values(i, ms)
        who = int(author * len(self.noise_users))
        values["USER"] = self.noise_users[who]
        values["SN"] = self.noise_names[who]
        return values


@lru_cache(maxsize=8)
def _x_fragments(seed: int, pool_size: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """Encoded `user` objects of the shoppers and of everyone else, and the others' names."""

    def encode(p: Persona) -> bytes:
        return _wire.x_v1_dumps(x.user_object(p)).encode("ascii")

    noise = noise_people("x", seed)
    return (
        [encode(p) for p in shoppers("x", seed, pool_size)],
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
