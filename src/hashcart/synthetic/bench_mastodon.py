"""The Mastodon benchmark stream: statuses as the REST API returns them, with replies and
reblogs, from accounts on the home instance and on others."""

from __future__ import annotations

import random
from datetime import timedelta
from functools import lru_cache
from typing import Any

from hashcart.synthetic import _people, _text, _wire, mastodon
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
from hashcart.synthetic._people import MastodonAccount, Persona
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic._template import Template
from hashcart.synthetic.catalog import BRAND

# Sentinel: a stand-in id the builders encode like a real one (+1: parent, +2: the status).
_S_LOCAL = 1899999999999999001

_Facts = tuple[bytes, bytes, bytes, bytes, bool]  # account JSON, uri/url prefixes, domain, local


class MastodonStream(IdReplyStream):
    shape = "mastodon"
    repost_share = 0.18
    reply_share = 0.15

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
        for item, segs in self.brand_segs():
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
        self.repost_t = []
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
            self.repost_t.append(build((), reblog=original))
        # Hard decoys: a reblog of a trigger, #cart replying to a status with no product,
        # #cart replying to nothing.
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
        return pick(rng, self.brand_t).render(values)

    def trigger(self, i: int, ms: int, rng: random.Random) -> bytes:
        facts = self.shopper_facts[int(rng.random() * len(self.shopper_facts))]
        values = self._values(i, ms, facts)
        values["PARENT"] = pick_recent(rng, self.brand_ids)
        return pick(rng, self.trigger_t).render(values)

    def noise_values(self, i: int, ms: int, author: float) -> dict[str, bytes]:
        return self._values(i, ms, self.noise_facts[int(author * len(self.noise_facts))])


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
        [_facts(p) for p in shoppers("mastodon", seed, pool_size)],
        [_facts(p) for p in noise_people("mastodon", seed)],
    )
