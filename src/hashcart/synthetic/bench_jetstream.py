"""The Bluesky Jetstream benchmark stream: post commits, replies, likes, reposts and
follows, with TIDs and CIDs made fast from lookup tables."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from hashcart.synthetic import _wire, bluesky
from hashcart.synthetic._bench_base import (
    BENCH_START,
    CART_NON_REPLIES,
    NOISE_NEAR_MISS,
    NOISE_PLAIN,
    Stream,
    pick,
    pick_recent,
)
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic._template import Template
from hashcart.synthetic.catalog import BRAND

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


class JetstreamStream(Stream):
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
        for item, segs in self.brand_segs():
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
        return pick(rng, self.brand_t).render(values)

    def trigger(self, i: int, ms: int, rng: random.Random) -> bytes:
        did = self.shopper_dids[int(rng.random() * len(self.shopper_dids))]
        values = self._values(i, ms, did)
        uri, cid = pick_recent(rng, self.brand_refs)
        values["PURI"] = values["RURI"] = uri
        values["PCID"] = values["RCID"] = cid
        if len(self.trigger_refs) >= 64:
            del self.trigger_refs[:32]
        self.trigger_refs.append(
            (b"at://%b/app.bsky.feed.post/%b" % (did, values["RKEY"]), values["CID"])
        )
        return pick(rng, self.trigger_t).render(values)

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
                    template = pick(rng, self.decoy_t)
            elif roll < cut_near:
                template = pick(rng, self.near_t)
            elif roll < cut_like:
                template = self.like_t
            elif roll < cut_repost:
                template = self.repost_t
            elif roll < cut_follow:
                values["SDID"] = dids[int(rng.random() * len(dids))]
                template = self.follow_t
            elif roll < cut_reply:
                template = pick(rng, self.reply_t)
            else:
                template = pick(rng, self.plain_t)
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
