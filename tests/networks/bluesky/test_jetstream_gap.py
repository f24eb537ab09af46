"""Jetstream resumes an old cursor silently at its oldest event (it keeps about 36 hours:
bluesky-social/jetstream docs/README.md §5.1, "`/subscribe` (v1) clamps a below-floor cursor
silently"). The listener sees the gap in the first event after the resume, keeps it, and
reads the shop's threads for the skipped time from the AppView (lexicons/app/bsky/feed/
getAuthorFeed.json, getPostThread.json in bluesky-social/atproto) into the same sink.

Jetstream is a loopback server replaying constructed events (tests/payloads.jetstream_post,
the v1 shape of docs/README.md §5.1); the AppView, PLC directory and PDS are the loopback
repo host of standins.py, answering postView / threadViewPost / notFoundPost / blockedPost in
the shapes of lexicons/app/bsky/feed/defs.json (constructed, not recorded: the local network of
tests/peers/bluesky runs no AppView)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from hashcart.backoff import Backoff
from hashcart.domain.posts import Network
from hashcart.networks.bluesky import wiring
from hashcart.networks.bluesky.backfill import GAP_THRESHOLD_US, ThreadBackfill, gap_between
from hashcart.networks.bluesky.identity import IdentityResolver
from hashcart.networks.bluesky.jetstream import GAP_RECORD, JetstreamListener
from hashcart.networks.bluesky.records import RecordReader
from hashcart.networks.bluesky.xrpc import Xrpc, new_client
from hashcart.services.live_ingest import LiveIngest
from hashcart.store.cursors import load_cursor, save_cursor
from tests.harness import PRODUCTS, Shop
from tests.loopback import LiveServer
from tests.networks.bluesky.standins import Answer, ReplayServer, RepoHost, jetstream
from tests.payloads import at, jetstream_post, post_uri

SHOP = "did:plc:northwindaaaaaaaaaaaaaaa"
ADA = "did:plc:adaaaaaaaaaaaaaaaaaaaaaa"
BOB = "did:plc:bobaaaaaaaaaaaaaaaaaaaaa"
CAT = "did:plc:cataaaaaaaaaaaaaaaaaaaaa"
CID = "bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzovrmfkz7ouqk3uyqx4"
MUG = PRODUCTS["mug"][1]
PRODUCT = post_uri(SHOP, "3mshopmug0001")
POST_TYPE = "app.bsky.feed.defs#threadViewPost"


def us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


# The listener last saw the shop's product post; everything after it is the gap.
STORED_CURSOR = us(at(2))
# Jetstream's first event after the resume: 40 hours on (its window is 36).
FIRST_AFTER_RESUME = jetstream_post(CAT, "3mcatlater01", "good morning", minutes=40 * 60)


@dataclass
class Waits:
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float, stop: asyncio.Event) -> None:
        self.delays.append(seconds)


@dataclass
class Rig:
    shop: Shop
    host: RepoHost
    waits: Waits = field(default_factory=Waits)
    listener: JetstreamListener | None = None

    def listen(self, url: str) -> JetstreamListener:
        xrpc = Xrpc(new_client())
        identity = IdentityResolver(xrpc, self.host.url, self.shop.clock)
        self.listener = JetstreamListener(
            url,
            LiveIngest(self.shop.app),
            RecordReader(identity, xrpc),
            backfill=ThreadBackfill(xrpc, self.host.url, "northwind.test"),
            backoff=Backoff(first=1.0, cap=30.0),
            wait=self.waits,
            rng=random.Random(4),
        )
        return self.listener

    def gap_record(self) -> dict[str, Any] | None:
        value = load_cursor(self.shop.app.engine, GAP_RECORD)
        return None if value is None else dict(json.loads(value))


def record_of(line: bytes) -> dict[str, Any]:
    return dict(json.loads(line)["commit"]["record"])


def post_view(did: str, rkey: str, line: bytes, indexed: datetime) -> dict[str, Any]:
    """A postView (lexicons/app/bsky/feed/defs.json) of the post `line` creates."""
    return {
        "uri": post_uri(did, rkey),
        "cid": CID,
        "author": {"did": did, "handle": f"{rkey}.test"},
        "record": record_of(line),
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "quoteCount": 0,
        "indexedAt": indexed.isoformat().replace("+00:00", "Z"),
        "labels": [],
    }


def reply(did: str, rkey: str, minutes: float, text: str = "#cart") -> tuple[bytes, dict[str, Any]]:
    """A `#cart` reply to the shop's product: its Jetstream line and its thread node; its
    author's PDS holds it."""
    line = jetstream_post(did, rkey, text, tags=("cart",), reply_to=PRODUCT, minutes=minutes)
    return line, {
        "$type": POST_TYPE,
        "post": post_view(did, rkey, line, at(minutes)),
        "replies": [],
    }


@pytest.fixture
def rig(database_url: str) -> Iterator[Rig]:
    shop = Shop(database_url)
    for email, did in (("ada@example.com", ADA), ("bob@example.com", BOB)):
        shop.customer(email, (Network.BLUESKY, did, ""))
    host = RepoHost(known_dids={SHOP, ADA, BOB, CAT})
    with LiveServer(host.app()) as server:
        host.url = server.url
        yield Rig(shop, host)


def shop_threads(rig: Rig, *replies: tuple[bytes, dict[str, Any]]) -> None:
    """The product post (seen before the gap) in the shop's author feed, with `replies`."""
    product = jetstream_post(SHOP, "3mshopmug0001", f"Enamel mug {MUG}", links=(MUG,), minutes=1)
    view = post_view(SHOP, "3mshopmug0001", product, at(1))
    rig.host.author_feed = [{"post": view}]
    rig.host.threads[PRODUCT] = {
        "$type": POST_TYPE,
        "post": view,
        "replies": [r for _, r in replies],
    }
    for line, node in replies:
        did = node["post"]["author"]["did"]
        rig.host.records[(did, node["post"]["uri"].rsplit("/", 1)[1])] = (CID, record_of(line))
    LiveIngest(rig.shop.app).ingest("jetstream", "jetstream", [product])
    save_cursor(rig.shop.app.engine, "jetstream", str(STORED_CURSOR), rig.shop.clock.now())


async def run_until_connections(rig: Rig, server: ReplayServer, count: int) -> None:
    listener = rig.listen(server.url)
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    try:
        await server.wait_for_connections(count)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def replay(rig: Rig, scripts: list[list[bytes]]) -> ReplayServer:
    async def scenario() -> ReplayServer:
        async with jetstream(scripts) as server:
            await run_until_connections(rig, server, len(scripts) + 1)
            return server

    return asyncio.run(scenario())


def test_a_reply_in_the_time_jetstream_skipped_is_read_from_the_shops_thread_and_acts(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    in_gap = reply(ADA, "3madacart001", minutes=10 * 60)
    shop_threads(rig, in_gap)

    with caplog.at_level(logging.WARNING, logger="hashcart.networks.bluesky.jetstream"):
        replay(rig, [[FIRST_AFTER_RESUME]])

    assert rig.shop.cart("ada@example.com") == [("mug", 1)]
    first = json.loads(FIRST_AFTER_RESUME)["time_us"]
    gap = rig.gap_record()
    assert gap is not None
    assert (gap["since_us"], gap["until_us"], gap["backfilled"]) == (STORED_CURSOR, first, True)
    assert gap["note"] == "1 post of the shop's threads read again"
    assert rig.listener is not None and rig.listener.gaps == 1
    [warning] = [r for r in caplog.records if "resumed with a gap" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "2026-11-20T12:02:00+00:00 to 2026-11-22T04:00:00+00:00" in warning.getMessage()
    [(_, feed)] = [q for q in rig.host.queries if q[0] == "app.bsky.feed.getAuthorFeed"]
    assert feed["actor"] == "northwind.test"
    assert feed["filter"] == "posts_no_replies"
    [(_, thread)] = [q for q in rig.host.queries if q[0] == "app.bsky.feed.getPostThread"]
    assert thread["uri"] == PRODUCT
    # The stream went on past the gap: its cursor is the first event's.
    assert load_cursor(rig.shop.app.engine, "jetstream") == str(first)


def test_replies_outside_the_skipped_time_are_not_read_again(rig: Rig) -> None:
    """Bob's reply came before the stored cursor (the stream had its chance): a backfill
    must not act on what the stream did not miss."""
    before = reply(BOB, "3mbobcart001", minutes=1.5)
    shop_threads(rig, before, reply(ADA, "3madacart001", minutes=10 * 60))

    replay(rig, [[FIRST_AFTER_RESUME]])

    assert rig.shop.cart("bob@example.com") == []
    assert rig.shop.cart("ada@example.com") == [("mug", 1)]


def test_a_resume_without_a_gap_reads_nothing_more(rig: Rig) -> None:
    shop_threads(rig, reply(ADA, "3madacart001", minutes=2.5))
    soon = jetstream_post(CAT, "3mcatsoon001", "hi", minutes=2.5)

    replay(rig, [[soon]])

    assert rig.listener is not None and rig.listener.gaps == 0
    assert "app.bsky.feed.getAuthorFeed" not in rig.host.calls
    assert rig.gap_record() is None


def test_a_reply_both_backfilled_and_streamed_acts_once(rig: Rig) -> None:
    line, node = reply(ADA, "3madacart001", minutes=10 * 60)
    shop_threads(rig, (line, node))

    replay(rig, [[FIRST_AFTER_RESUME, line]])

    assert rig.shop.cart("ada@example.com") == [("mug", 1)]
    assert rig.shop.reasons() == ["added"]


def test_an_appview_down_for_a_moment_holds_the_stream_until_the_gap_is_read(rig: Rig) -> None:
    shop_threads(rig, reply(ADA, "3madacart001", minutes=10 * 60))
    rig.host.answers["app.bsky.feed.getAuthorFeed"] = [Answer(503, b"{}")]

    server = replay(rig, [[FIRST_AFTER_RESUME], [FIRST_AFTER_RESUME]])

    assert rig.shop.cart("ada@example.com") == [("mug", 1)]
    assert len(rig.waits.delays) >= 1  # backed off before reading again
    # The first connection's event was not taken past the gap: the second resumed as before.
    assert f"cursor={STORED_CURSOR - 5_000_000}" in server.paths[1]


def test_an_appview_that_stays_down_is_recorded_and_the_stream_goes_on(rig: Rig) -> None:
    shop_threads(rig, reply(ADA, "3madacart001", minutes=10 * 60))
    rig.host.answers["app.bsky.feed.getAuthorFeed"] = [Answer(503, b"{}")] * 3

    replay(rig, [[FIRST_AFTER_RESUME]] * 3)

    assert rig.shop.cart("ada@example.com") == []
    gap = rig.gap_record()
    assert gap is not None and gap["backfilled"] is False
    assert gap["note"].startswith("not read: HTTP 503")
    first = json.loads(FIRST_AFTER_RESUME)["time_us"]
    assert load_cursor(rig.shop.app.engine, "jetstream") == str(first)


def test_an_appview_answer_is_checked_like_a_live_event(rig: Rig) -> None:
    """The AppView is believed no more than Jetstream: a reply whose AT-URI names another
    repository than its author, and one its author's PDS does not hold, do not act; thread
    entries that are not posts (notFound, blocked, garbage) are skipped."""
    forged_line, forged = reply(ADA, "3mforged0001", minutes=10 * 60)
    forged["post"]["author"] = {"did": BOB, "handle": "bob.test"}
    unheld_line, unheld = reply(BOB, "3mbobcart002", minutes=10 * 60)
    shop_threads(rig, (forged_line, forged), (unheld_line, unheld))
    rig.host.records.pop((BOB, "3mbobcart002"))
    rig.host.threads[PRODUCT]["replies"] += [
        {"$type": "app.bsky.feed.defs#notFoundPost", "uri": post_uri(CAT, "x"), "notFound": True},
        {
            "$type": "app.bsky.feed.defs#blockedPost",
            "uri": post_uri(CAT, "y"),
            "blocked": True,
            "author": {"did": CAT},
        },
        {"$type": POST_TYPE, "post": {"uri": "at://\x00" + "x" * 5000, "indexedAt": "never"}},
        "not a node",
    ]

    replay(rig, [[FIRST_AFTER_RESUME]])

    assert rig.shop.cart("ada@example.com") == []
    assert rig.shop.cart("bob@example.com") == []
    assert rig.listener is not None and rig.listener.unconfirmed == 1
    gap = rig.gap_record()
    assert gap is not None and gap["note"] == "0 posts of the shop's threads read again"


def test_the_threshold_and_the_lookback_decide_what_is_a_gap() -> None:
    now = at(60)
    cursor = us(at(0))
    assert gap_between(cursor, cursor - 5_000_000, now) is None  # the rewind's own events
    assert gap_between(cursor, cursor + GAP_THRESHOLD_US, now) is None  # a quiet minute
    assert gap_between(cursor, cursor + GAP_THRESHOLD_US + 1, now) is not None
    # A cursor older than Jetstream keeps is a gap however close its first event.
    old = us(now - timedelta(hours=36, seconds=1))
    assert gap_between(old, old + 1, now) is not None


def test_the_wired_listener_backfills_as_the_shop_account(database_url: str) -> None:
    shop = Shop(
        database_url,
        listeners=["jetstream"],
        bluesky_identifier="northwind.test",
        bluesky_appview_url="http://127.0.0.1:1",
    )
    [listener] = wiring.listeners(shop.app, LiveIngest(shop.app))
    assert isinstance(listener, JetstreamListener) and listener.backfill is not None
    assert (listener.backfill.shop, listener.backfill.appview_url) == (
        "northwind.test",
        "http://127.0.0.1:1",
    )
