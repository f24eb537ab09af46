"""The demo's emitters: each builds one post or event in a network's real wire format, at a
moment of the demo's day, and records the line with the scenarios it shows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hashcart.synthetic import _people, _wire, bluesky, mastodon, x
from hashcart.synthetic._people import Persona
from hashcart.synthetic._richtext import RichText, parse
from hashcart.synthetic.catalog import BRAND, DemoProduct, demo_catalog


@dataclass
class Emit:
    at: datetime
    seq: int
    line: bytes
    scenarios: tuple[str, ...]
    post_id: str | None


class Builder:
    def __init__(self, seed: int, host: str, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.host = host
        self.end = now - timedelta(minutes=10)
        self.start = now - timedelta(hours=22)
        self.products = {p.product_id: p for p in demo_catalog(host)}
        self.emits: list[Emit] = []
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
        self.emits.append(Emit(when, self.seq, line, scenarios, post_id))

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
        received = _jetstream_received(commit.line)
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
        received = _jetstream_received(line)
        self.emit(received, line, ("jetstream_noise", *scenarios), None)


def _jetstream_received(line: bytes) -> datetime:
    """When Jetstream delivered an event: its `time_us`."""
    return datetime.fromtimestamp(int(line.split(b'"time_us":', 1)[1].split(b",", 1)[0]) / 1e6, UTC)
