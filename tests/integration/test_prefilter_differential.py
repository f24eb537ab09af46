"""The fast path finds exactly what full decoding finds.

The byte prefilter skips lines without decoding them; that is only allowed for lines that
cannot matter. Two proofs: (1) per line, on the recorded real payloads and on generated posts
with tricky tags and hosts, "full decoding says this line matters" implies "the prefilter
wants it"; (2) whole ingests with and without the prefilter leave the same database."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hashcart.domain.link_codes import LinkWords, parse_link_request
from hashcart.domain.posts import DecodeError, Network, Post, PostDeleted
from hashcart.domain.products import ShopHosts
from hashcart.domain.triggers import TriggerWords, normalize_tag, parse_trigger
from hashcart.networks.formats import Format, decode
from hashcart.networks.prefilter import Line, Prefilter
from hashcart.services.ingest import Ingestor
from hashcart.store import schema as t
from hashcart.store.account_data import add_link_code
from hashcart.synthetic import demo_shoppers, demo_stream
from hashcart.views import queries
from tests.harness import HOST, Shop
from tests.payloads import BASE_TIME, jetstream_post, mastodon_status, post_uri, x_tweet, x_v2_post

WORDS = TriggerWords()
HOSTS = ShopHosts([HOST])
LINK_WORDS = LinkWords.of(("cartlink",), WORDS)
PREFILTER = Prefilter.for_shop(WORDS, HOSTS, LINK_WORDS.tags)


def matters(
    line: bytes,
    words: TriggerWords = WORDS,
    hosts: ShopHosts = HOSTS,
    link_words: LinkWords = LINK_WORDS,
) -> bool:
    """What the engine would act on or remember, decided by decoding the line fully: a
    deletion, a trigger reply, a post with a shop link, or a post asking to link by code."""
    from hashcart.domain.urls import extract_urls

    try:
        events = decode(line, Format.AUTO)
    except DecodeError:
        return False
    for event in events:
        if isinstance(event, PostDeleted):
            return True
        if not isinstance(event, Post):
            continue
        trigger = parse_trigger(event.text, event.tags, words, 10)
        if trigger is not None and (event.reply_to_id or event.quote_of_id):
            return True
        if parse_link_request(event.text, event.tags, link_words) is not None:
            return True
        if any(hosts.matches_url(url) for url in (*event.urls, *extract_urls(event.text))):
            return True
    return False


def asks_to_link(line: bytes, link_words: LinkWords) -> bool:
    """Whether full decoding finds a post asking to link by code on the line."""
    try:
        events = decode(line, Format.AUTO)
    except DecodeError:
        return False
    return any(
        isinstance(event, Post)
        and parse_link_request(event.text, event.tags, link_words) is not None
        for event in events
    )


def fixture_lines(root: Path) -> list[bytes]:
    lines: list[bytes] = []
    for name in (
        "x-v1.1/original_format_examples.json",
        "bluesky-jetstream/expected_v1.jsonl",
        "bluesky-jetstream/golden_v1.jsonl",
    ):
        lines += [line for line in (root / name).read_bytes().splitlines() if line.strip()]
    return lines


def test_the_prefilter_wants_every_fixture_line_that_matters(shared_fixtures: Path) -> None:
    # Shop hosts and tags that do occur in the recorded payloads, so the check is not vacuous.
    words = TriggerWords(cart=("cart", "bluesky"), wishlist=("wishlist", "nyc"))
    hosts = ShopHosts(["bsky.app", "twitter.com", "www.tumblr.com"])
    link_words = LinkWords.of(("IndieRebellion", "live", "QuoteTweet"), words)
    prefilter = Prefilter.for_shop(words, hosts, link_words.tags)
    lines = fixture_lines(shared_fixtures)
    mattering = [line for line in lines if matters(line, words, hosts, link_words)]
    assert len(mattering) >= 10
    linking = [line for line in lines if asks_to_link(line, link_words)]
    assert len(linking) >= 1, "no fixture line carries one of the link tags chosen"
    assert [line for line in mattering if not prefilter.wants(line)] == []


TAGS = [
    "#cart",
    "#CART",
    "#Cart",
    "＃cart",
    "#ｃａｒｔ",
    "#Ｃart",
    "#carts",
    "#cartel",
    "#ca\u200brt",
    "#wishlist",
    "#WishList",
    "＃ＷＩＳＨＬＩＳＴ",
    "#cart2",
    "#кart",
    "#kart",
    "#c\u0327art",
    "#ᶜart",
    "#cartoon",
    "#art",
    "cart",
    "#\u212aart",
    "#cartlink",
    "#CartLink",
    "＃ｃａｒｔｌｉｎｋ",
    "#cartlinks",
    "#cart_link",
    "#cartlin",
]
LINKS = [
    f"https://{HOST}/products/enamel-mug",
    "https://SHOP.Example/products/enamel-mug",
    f"https://www.{HOST}/products/summit-roast?utm_source=x",
    "https://evil-shop.example/x",
    f"https://{HOST}.evil.test/products/enamel-mug",
    "https://example.org/news",
]
WORDS_AROUND = st.sampled_from(
    ["", "please", "x2", "qty 3", "2", "yes!", "<b>hi</b>", "&amp;", "K7Q2M9XD", "k7q2-m9xd"]
)


@st.composite
def posts(draw: st.DrawFn) -> bytes:
    tags = draw(st.lists(st.sampled_from(TAGS), max_size=3))
    links = tuple(draw(st.lists(st.sampled_from(LINKS), max_size=2)))
    words = draw(st.lists(WORDS_AROUND, max_size=3))
    text = " ".join([*tags, *words, *links])
    reply = draw(st.booleans())
    shape = draw(st.sampled_from(["jetstream", "x", "x-v2", "mastodon"]))
    metadata_tags = tuple(tag.lstrip("#＃") for tag in tags if tag[:1] in "#＃")
    if shape == "jetstream":
        return jetstream_post(
            "did:plc:someone0000000000000000",
            "3mmreply00001",
            text,
            reply_to=post_uri("did:plc:x", "3mmbrand00001") if reply else None,
            links=links,
            tags=draw(st.sampled_from([None, ()])),
        )
    if shape == "x":
        return x_tweet(
            "1002",
            "3003",
            "someone",
            text,
            reply_to="1001" if reply else None,
            links=links,
            hashtags=metadata_tags,
        )
    if shape == "x-v2":
        return x_v2_post(
            "1002",
            "3003",
            "someone",
            text,
            reply_to="1001" if reply else None,
            links=links,
            hashtags=metadata_tags,
        )
    html = " ".join(
        [
            f'<a href="https://social.example/tags/{tag[1:]}" class="mention hashtag" rel="tag">'
            f"#<span>{tag[1:]}</span></a>"
            for tag in tags
            if tag[:1] in "#＃"
        ]
        + words
        + [f'<a href="{link}" rel="nofollow">{link}</a>' for link in links]
    )
    line = mastodon_status(
        "112",
        "https://social.example/users/someone",
        "someone",
        f"<p>{html}</p>",
        reply_to="111" if reply else None,
        tags=tuple(normalize_tag(tag) for tag in metadata_tags),
    )
    if draw(st.booleans()):  # Mastodon writes raw UTF-8; the test builder escapes: try both
        line = json.dumps(json.loads(line), ensure_ascii=False).encode()
    if draw(st.booleans()):  # as a streaming message, the status is a JSON string inside
        line = json.dumps(
            {"stream": ["user"], "event": "update", "payload": line.decode()}
        ).encode()
    return line


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=posts())
def test_the_prefilter_wants_every_generated_post_that_matters(line: bytes) -> None:
    if matters(line):
        assert PREFILTER.wants(line), line


class WantsEverything(Prefilter):
    """Decodes every line: the slow path the fast one must agree with."""

    asked: ClassVar[list[int]] = []

    def classify(self, block: bytes, start: int, end: int, ascii_block: bool) -> Line:
        self.asked.append(start)
        return Line.WANTED


def database_state(shop: Shop) -> dict[str, Any]:
    with shop.app.engine.connect() as connection:
        return {
            "carts": queries.carts(connection),
            "wishlists": queries.wishlists(connection),
            "pending": queries.pending(connection),
            "outbox": queries.outbox(connection),
            "counts": queries.counts(connection),
            "links": [
                tuple(row)
                for row in connection.execute(
                    select(
                        t.account_links.c.network,
                        t.account_links.c.account_id,
                        t.account_links.c.customer_id,
                    ).order_by(t.account_links.c.network, t.account_links.c.account_id)
                )
            ],
            "codes_used": [
                row[0]
                for row in connection.execute(
                    select(t.link_codes.c.code).where(t.link_codes.c.used_at.is_not(None))
                )
            ],
        }


LINK_CODE = "K7Q2M9XD"


def link_lines() -> list[bytes]:
    """Posts asking to link by code (one good, one wrong, one a repost-free X post)."""
    return [
        jetstream_post(
            "did:plc:linker000000000000000000", "3mmlink00001", f"#cartlink {LINK_CODE}"
        ),
        jetstream_post("did:plc:guesser00000000000000000", "3mmlink00002", "#CartLink ZZZZZZZZ"),
        x_tweet("1777", "8888", "guesser", "#cartlink 12345678", hashtags=("cartlink",)),
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_ingest_with_the_prefilter_leaves_the_same_database_as_decoding_everything(
    tmp_path: Path, seed: int
) -> None:
    stream = demo_stream(seed=seed, host=HOST, now=BASE_TIME)
    lines = [*stream.first_half, *link_lines(), *stream.second_half]
    decode_everything = WantsEverything(**vars(PREFILTER))
    WantsEverything.asked.clear()
    states = []
    for name, prefilter in (("fast", None), ("full", decode_everything)):
        shop = Shop(f"sqlite:///{tmp_path / name}.db")
        for shopper in demo_shoppers():
            shop.customer(shopper.email)
            for network, (account, handle) in shopper.accounts.items():
                shop.link(shopper.email, Network(network), account, handle)
        shop.customer("linker@example.com")
        with shop.app.engine.begin() as connection:
            customer = connection.execute(
                select(t.customers.c.id).where(t.customers.c.email == "linker@example.com")
            ).scalar_one()
            expires = shop.clock.now() + timedelta(minutes=30)
            add_link_code(connection, LINK_CODE, customer, shop.clock.now(), expires)
        ingestor = Ingestor(
            shop.app.unit_of_work,
            shop.app.shop(),
            shop.clock,
            reader=shop.app.payload_reader,
            prefilter=prefilter,
        )
        ingestor.ingest_lines("demo", lines)
        states.append(database_state(shop))
    assert states[0]["counts"]["actions"] > 10
    assert states[0]["codes_used"] == [LINK_CODE]
    assert states[0] == states[1]
    assert len(WantsEverything.asked) == len(lines)
