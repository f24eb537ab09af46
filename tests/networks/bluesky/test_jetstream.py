"""The Jetstream listener against a Jetstream server on loopback replaying real events
(../shared/fixtures/bluesky-jetstream/expected_v1.jsonl: 152 events captured from the public
Jetstream by bluesky-social/jetstream, MIT/Apache-2.0) and the shop's case in the same shape,
with the authors' repositories on a loopback stand-in PDS."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from hashcart.backoff import Backoff
from hashcart.domain.posts import Network
from hashcart.networks.bluesky.identity import IdentityResolver
from hashcart.networks.bluesky.jetstream import REWIND_US, JetstreamListener
from hashcart.networks.bluesky.records import RecordReader
from hashcart.networks.bluesky.xrpc import Xrpc, new_client
from hashcart.services.live_ingest import LiveIngest
from hashcart.store.cursors import load_cursor, save_cursor
from tests.harness import PRODUCTS, Shop
from tests.loopback import LiveServer
from tests.networks.bluesky.standins import Answer, ReplayServer, RepoHost, jetstream
from tests.payloads import jetstream_post, post_uri
from tests.polling import until


def plc(name: str) -> str:
    """A did:plc of the right form (24 base32 characters) for a name."""
    return "did:plc:" + (name + "a" * 24)[:24]


SHOP = plc("northwind")
ADA = plc("ada")
BOB = plc("bob")
CAT = plc("cat")
EVENT_CID = "bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzovrmfkz7ouqk3uyqx4"  # tests/payloads
OTHER_CID = "bafyreiezfdtegp4hrom46uxe7u3pzw5lxwabryk4crijq3xlmduypdukli"
MUG = PRODUCTS["mug"][1]


@dataclass
class Waits:
    """The listener's injected wait: records each backoff delay and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float, stop: asyncio.Event) -> None:
        self.delays.append(seconds)


@dataclass
class Rig:
    shop: Shop
    host: RepoHost
    waits: Waits
    listener: JetstreamListener | None = None

    def listen(self, url: str) -> JetstreamListener:
        xrpc = Xrpc(new_client())
        identity = IdentityResolver(xrpc, self.host.url, self.shop.clock)
        self.listener = JetstreamListener(
            url,
            LiveIngest(self.shop.app),
            RecordReader(identity, xrpc),
            backoff=Backoff(first=1.0, cap=30.0),
            wait=self.waits,
            rng=random.Random(4),
        )
        return self.listener


@pytest.fixture
def rig(database_url: str) -> Iterator[Rig]:
    shop = Shop(database_url)
    for email, did in (
        ("ada@example.com", ADA),
        ("bob@example.com", BOB),
        ("cat@example.com", CAT),
    ):
        shop.customer(email, (Network.BLUESKY, did, ""))
    host = RepoHost(known_dids={SHOP, ADA, BOB, CAT})
    with LiveServer(host.app()) as server:
        host.url = server.url
        yield Rig(shop, host, Waits())


def real_events(shared_fixtures: Path) -> list[bytes]:
    path = shared_fixtures / "bluesky-jetstream" / "expected_v1.jsonl"
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def shops_case(host: RepoHost) -> list[bytes]:
    """The shop's product post and three linked shoppers' `#cart` replies: ada's as her
    repository holds it, bob's forged (his repository holds another version), cat's
    forged (her repository holds no such record)."""
    product = jetstream_post(SHOP, "3mshopmug0001", f"Enamel mug {MUG}", links=(MUG,), minutes=1)
    parent = post_uri(SHOP, "3mshopmug0001")
    replies = [
        jetstream_post(did, rkey, "#cart", tags=("cart",), reply_to=parent, minutes=2 + n)
        for n, (did, rkey) in enumerate(
            ((ADA, "3madacart001"), (BOB, "3mbobcart001"), (CAT, "3mcatcart001"))
        )
    ]
    host.records[(ADA, "3madacart001")] = (EVENT_CID, json.loads(replies[0])["commit"]["record"])
    host.records[(BOB, "3mbobcart001")] = (OTHER_CID, {"text": "nice mug"})
    return [product, *replies]


def cursor_of(query_path: str) -> int | None:
    values = parse_qs(urlsplit(query_path).query).get("cursor")
    return int(values[0]) if values else None


async def run_until_connections(rig: Rig, server: ReplayServer, count: int) -> None:
    listener = rig.listen(server.url)
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    try:
        await server.wait_for_connections(count)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def test_real_events_flow_and_only_the_confirmed_trigger_fills_a_cart(
    rig: Rig, shared_fixtures: Path
) -> None:
    events = real_events(shared_fixtures) + shops_case(rig.host)

    async def scenario() -> None:
        async with jetstream([events]) as server:
            await run_until_connections(rig, server, 2)

    asyncio.run(scenario())

    assert rig.shop.cart("ada@example.com") == [("mug", 1)]
    assert rig.shop.cart("bob@example.com") == []
    assert rig.shop.cart("cat@example.com") == []
    assert rig.listener is not None and rig.listener.unconfirmed == 2
    assert rig.listener.events == len(events)
    assert rig.shop.dead_letters() == []
    # Only ada's trigger was confirmed: one lookup each for the three triggers, none else.
    assert rig.host.calls == ["com.atproto.repo.getRecord"] * 3


def test_the_cursor_is_saved_and_a_reconnect_rewinds_it_five_seconds(
    rig: Rig, shared_fixtures: Path
) -> None:
    events = real_events(shared_fixtures) + shops_case(rig.host)
    newest = max(json.loads(line)["time_us"] for line in events)

    async def scenario() -> ReplayServer:
        async with jetstream([events]) as server:
            await run_until_connections(rig, server, 2)
            return server

    server = asyncio.run(scenario())

    assert load_cursor(rig.shop.app.engine, "jetstream") == str(newest)
    first, second = server.paths
    assert cursor_of(first) is None  # nothing stored yet: live
    assert cursor_of(second) == newest - REWIND_US
    for path in server.paths:
        assert parse_qs(urlsplit(path).query)["wantedCollections"] == ["app.bsky.feed.post"]
    [delay] = rig.waits.delays
    assert 0.5 <= delay <= 1.0  # the first backoff step (1 s) with equal jitter


def test_a_stored_cursor_resumes_the_stream_and_repeats_change_nothing(
    rig: Rig, shared_fixtures: Path
) -> None:
    case = shops_case(rig.host)

    async def scenario() -> ReplayServer:
        # The first connection delivers ada's trigger; after a reconnect, the rewound stream
        # delivers it again with bob's and cat's.
        async with jetstream([case[:2], case]) as server:
            await run_until_connections(rig, server, 3)
            return server

    server = asyncio.run(scenario())

    ada_time = json.loads(case[1])["time_us"]
    assert cursor_of(server.paths[1]) == ada_time - REWIND_US
    assert rig.shop.cart("ada@example.com") == [("mug", 1)]
    assert rig.shop.reasons() == ["added"]


def test_a_cursor_saved_before_a_restart_is_where_the_next_run_starts(rig: Rig) -> None:
    save_cursor(rig.shop.app.engine, "jetstream", "1783175888403568", rig.shop.clock.now())

    async def scenario() -> ReplayServer:
        async with jetstream([]) as server:
            await run_until_connections(rig, server, 1)
            return server

    server = asyncio.run(scenario())

    assert cursor_of(server.paths[0]) == 1783175888403568 - REWIND_US


def test_unreadable_messages_are_dead_lettered_and_the_stream_goes_on(rig: Rig) -> None:
    case = shops_case(rig.host)
    broken = [b'{"did": "did:plc:x", "time_us": 1, "kind": "commit", "commit": {', b"\xff\xfe{}"]

    async def scenario() -> None:
        async with jetstream([[*broken, case[0], case[1]]]) as server:
            await run_until_connections(rig, server, 2)

    asyncio.run(scenario())

    assert len(rig.shop.dead_letters()) == 2
    assert rig.shop.cart("ada@example.com") == [("mug", 1)]


def test_a_trigger_is_dropped_when_its_repository_cannot_be_asked(rig: Rig) -> None:
    case = shops_case(rig.host)
    rig.host.known_dids.discard(ADA)  # the PLC directory no longer knows ada's DID

    async def scenario() -> None:
        async with jetstream([case[:2]]) as server:
            await run_until_connections(rig, server, 2)

    asyncio.run(scenario())

    assert rig.shop.cart("ada@example.com") == []
    assert rig.listener is not None and rig.listener.unconfirmed == 1


def test_a_trigger_whose_repository_is_down_for_a_moment_comes_again_and_acts(rig: Rig) -> None:
    case = shops_case(rig.host)
    # Ada's PDS answers 503 once when asked for her reply: it must not be lost.
    rig.host.answers["com.atproto.repo.getRecord"] = [Answer(503, b"{}")]

    async def scenario() -> None:
        # Jetstream sends the same events again after the reconnect (the 5 s rewind).
        async with jetstream([case[:2], case[:2]]) as server:
            listener = rig.listen(server.url)
            stop = asyncio.Event()
            task = asyncio.create_task(listener.run(stop))
            try:
                await until(lambda: rig.shop.cart("ada@example.com") == [("mug", 1)], "ada's cart")
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)

    asyncio.run(scenario())

    assert rig.listener is not None and rig.listener.unconfirmed == 0
    assert len(rig.waits.delays) >= 1  # it backed off before asking again
    assert rig.host.calls.count("com.atproto.repo.getRecord") == 2


def test_a_repository_that_stays_down_does_not_stall_the_stream(rig: Rig) -> None:
    case = shops_case(rig.host)
    rig.host.answers["com.atproto.repo.getRecord"] = [Answer(503, b"{}")] * 3
    later = jetstream_post(SHOP, "3mshopbeans01", "Beans", minutes=9)

    async def scenario() -> None:
        async with jetstream([case[:2], case[:2], [*case[:2], later]]) as server:
            listener = rig.listen(server.url)
            stop = asyncio.Event()
            task = asyncio.create_task(listener.run(stop))
            try:
                await until(lambda: listener.unconfirmed == 1, "ada's reply given up")
                await until(lambda: listener.events >= 7, "the events after it")
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)

    asyncio.run(scenario())

    assert rig.shop.cart("ada@example.com") == []
    assert rig.host.calls.count("com.atproto.repo.getRecord") == 3


def test_poison_events_are_dead_lettered_and_the_cursor_moves_past_them(rig: Rig) -> None:
    """A NUL in a post (no PostgreSQL text takes it) and a createdAt in year 9999 from an
    unlinked account (it overflowed the pending request's expiry) used to fail the batch:
    the cursor stayed before them and the stream replayed them forever."""
    dan = plc("dan")
    rig.host.known_dids.add(dan)
    product = shops_case(rig.host)[0]
    parent = post_uri(SHOP, "3mshopmug0001")

    def trigger(did: str, rkey: str, text: str, minutes: float) -> bytes:
        line = jetstream_post(did, rkey, text, tags=("cart",), reply_to=parent, minutes=minutes)
        rig.host.records[(did, rkey)] = (EVENT_CID, json.loads(line)["commit"]["record"])
        return line

    nul = trigger(ADA, "3madanul0001", "#cart \x00", 2)
    future = json.loads(trigger(dan, "3mdanfuture1", "#cart", 3))
    future["commit"]["record"]["createdAt"] = "9999-12-25T00:00:00.000Z"
    rig.host.records[(dan, "3mdanfuture1")] = (EVENT_CID, future["commit"]["record"])
    valid = trigger(BOB, "3mbobcart001", "#cart", 4)
    events = [product, nul, json.dumps(future).encode(), valid]

    async def scenario() -> None:
        async with jetstream([events]) as server:
            await run_until_connections(rig, server, 2)

    asyncio.run(scenario())

    assert rig.shop.cart("bob@example.com") == [("mug", 1)]
    assert rig.shop.cart("ada@example.com") == []
    [letter] = rig.shop.dead_letters()
    assert "NUL" in letter["reason"]
    [waiting] = rig.shop.pending()
    assert waiting["account_id"] == dan and waiting["expires_at"].startswith("2026-")
    newest = max(json.loads(line)["time_us"] for line in events)
    assert load_cursor(rig.shop.app.engine, "jetstream") == str(newest)
