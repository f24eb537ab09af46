"""A worker asks the networks what one process asks them (hashcart.live_worker): a reply whose
parent no stream carried gets its parent looked up, a post's short link is followed, and a
network that never answers costs a bounded wait in the background, never the worker.

The parent is looked up on the Mastodon stand-in replaying recorded statuses
(`GET /api/v1/statuses/:id`, https://docs.joinmastodon.org/methods/statuses/#get; the
statuses are ../shared/fixtures' recordings, through tests/networks/mastodon); the webhook
deliveries around them are Mastodon's admin webhooks (tests/bus/test_webhooks_on_the_bus.py).
The shortener answers as bit.ly does (HEAD, 301 and a Location; tests/integration/
test_shortlinks.py), on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.bootstrap import App
from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.leases import Leases
from hashcart.bus.streams import init_bus
from hashcart.bus.worker import Worker
from hashcart.domain.posts import Network
from hashcart.live_bus import BusIngest
from hashcart.live_worker import WorkerEngine, WorkerNetwork
from hashcart.networks.formats import Format
from hashcart.store import schema as t
from tests.bus.test_webhooks_on_the_bus import shop_on_the_bus
from tests.bus.workers import LEASE_POLL_SECONDS, lease_holders
from tests.databases import fresh_postgres_database
from tests.harness import Shop
from tests.integration.test_shortlinks import (
    ALICE,
    MUG,
    Answer,
    RecordingLookup,
    Shortener,
    cached,
    cart_reply,
    loopback_resolver,
    shop_post,
)
from tests.loopback import LiveServer
from tests.networks.mastodon.conftest import Case, link_shopper
from tests.networks.mastodon.standin import TOKEN, MastodonStandIn, Recordings, serving
from tests.networks.mastodon.test_webhook import deliver, envelope
from tests.polling import wait_until


@pytest.fixture
def shortener() -> Iterator[tuple[Shortener, str]]:
    """The stand-in shortener on loopback and its base URL."""
    stand_in = Shortener()
    with LiveServer(stand_in.app) as server:
        yield stand_in, server.url


def test_a_reply_whose_parent_the_bus_never_carried_becomes_a_cart_line(
    bus_url: str, postgres_server: str, shared_fixtures: Path
) -> None:
    """Only the reply comes through the bus; a worker (of this process, wired from the
    settings as `hashcart worker` is) looks its parent up through the same fetcher as one
    process (tests/networks/mastodon/test_fetch.py)."""
    recordings = Recordings.load(shared_fixtures)
    case = Case(recordings)
    stand_in = MastodonStandIn(recordings)
    stand_in.add_status(case.shop_post("1100"))
    with serving(stand_in) as (api, _streaming):
        shop = Shop(
            fresh_postgres_database(postgres_server),
            mastodon_url=api.url,
            mastodon_access_token=TOKEN,
            **_on_the_bus(bus_url),
        )
        try:
            email = link_shopper(shop, "sam")
            bus = BusSettings.of(shop.app.settings)
            reply = json.dumps(case.reply("1101", "1100", "sam")).encode()
            _publish(shop.app, bus, Format.MASTODON, [reply])
            network = WorkerNetwork.of(shop.app)
            asyncio.run(_work_until(shop.app, network, bus, lambda: shop.cart(email) != []))
            assert shop.cart(email) == [("mug", 1)]
            assert len(stand_in.requests("/api/v1/statuses/1100")) == 1  # looked up once
            assert shop.reasons() == ["added"]
            assert _fetched(shop.app) == {"1100": "found"}
        finally:
            shop.app.engine.dispose()


def _on_the_bus(bus_url: str) -> dict[str, Any]:
    """Settings of a shop whose posts go through the bus (and the networks no test here
    asks kept off: Bluesky's public AppView and PLC directory, on by default)."""
    nowhere = "http://127.0.0.1:9"
    return {
        "bus_url": bus_url,
        "bus_partitions": 2,
        "bus_lease_seconds": 3,
        "shortener_hosts": "",
        "bluesky_appview_url": nowhere,
        "bluesky_plc_url": nowhere,
    }


def _publish(app: App, bus: BusSettings, fmt: str, payloads: list[bytes], **live: Any) -> None:
    """Publish as a listener or a webhook does with a bus (its edge: live_bus.BusIngest)."""
    asyncio.run(_init(bus))
    edge = BusIngest(app, bus, **live)
    try:
        assert edge.ingest("test", fmt, payloads).posts == len(payloads)
    finally:
        edge.close()


class Unanswering:
    """A server on loopback that reads every request's first line and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.asked: list[str] = []  # "GET /path", one per request held
        self._thread = threading.Thread(target=self._take, daemon=True)
        self._thread.start()

    def _take(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
                self.held.append(connection)
                head = connection.recv(4096).split(b"\r\n", 1)[0].decode()
            except OSError:  # closed: the test is over
                return
            self.asked.append(head.rsplit(" ", 1)[0])

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@contextmanager
def unanswering() -> Iterator[Unanswering]:
    server = Unanswering()
    try:
        yield server
    finally:
        server.close()


def test_a_network_that_never_answers_does_not_stall_the_worker(
    bus_url: str, postgres_server: str, shared_fixtures: Path, tmp_path: Path
) -> None:
    case = Case(Recordings.load(shared_fixtures))
    timeout = 5.0
    with (
        unanswering() as network,
        shop_on_the_bus(
            bus_url,
            postgres_server,
            tmp_path,
            mastodon_url=network.url,
            mastodon_access_token=TOKEN,
            parent_fetch_timeout_seconds=str(timeout),
            parent_fetch_attempts="1",
        ) as (web, workers),
    ):
        sam, kim = link_shopper(web, "sam"), link_shopper(web, "kim")
        process = workers.start()
        wait_until(
            lambda: len(asyncio.run(lease_holders(bus_url))) == 2,
            "partitions held",
            poll=LEASE_POLL_SECONDS,
        )
        holders = asyncio.run(lease_holders(bus_url))
        deliver(web, envelope("status.created", case.reply("1101", "1100", "sam")))
        lookup = "GET /api/v1/statuses/1100"
        wait_until(lambda: lookup in network.asked, "the worker asks the network for the parent")
        # The look-up hangs. Posts published after it still commit: sam's, whose trigger
        # waits, and kim's, which may wait for its parent too, published after it (a parent
        # that came in meanwhile is not asked for).
        deliver(web, envelope("status.created", case.reply("1202", "1200", "kim", minutes=3)))
        deliver(web, envelope("status.created", case.reply("1201", "1200", "sam", minutes=3)))
        deliver(web, envelope("status.created", case.shop_post("1200", "beans", minutes=2)))
        wait_until(
            lambda: web.cart(sam) == web.cart(kim) == [("beans", 1)],
            "the later replies' cart lines",
            deadline=60,
        )
        # The look-up ends by its timeout, and the trigger as in one process after its last
        # try: the parent recorded as unanswered (not asked again), the trigger waiting.
        wait_until(lambda: _fetched(web.app) == {"1100": "unanswered"}, "the look-up's end")
        committed, gave_up = _action_times(web.app, ["1201", "1202"]), _fetched_at(web.app)
        assert max(committed) < gave_up, "the later posts waited for the look-up"
        assert asyncio.run(lease_holders(bus_url)) == holders  # the leases were kept
        assert process.poll() is None
        assert network.asked.count(lookup) == 1
        assert "GET /api/v1/statuses/1200" not in network.asked
        assert web.cart(sam) == [("beans", 1)]
        # Nothing lost: when the parent comes in by the stream, the waiting trigger acts.
        deliver(web, envelope("status.created", case.shop_post("1100")))
        wait_until(
            lambda: sorted(web.cart(sam)) == [("beans", 1), ("mug", 1)],
            "the waiting trigger's cart line",
            deadline=60,
        )


def _fetched(app: App) -> dict[str, str]:
    with app.engine.connect() as connection:
        rows = connection.execute(select(t.parent_fetches.c.post_id, t.parent_fetches.c.outcome))
        return {row.post_id: row.outcome for row in rows}


def _fetched_at(app: App) -> datetime:
    with app.engine.connect() as connection:
        moment: datetime = connection.scalar(select(t.parent_fetches.c.fetched_at))
        return moment


def _action_times(app: App, trigger_ids: list[str]) -> list[datetime]:
    with app.engine.connect() as connection:
        return list(
            connection.scalars(
                select(t.actions.c.created_at).where(t.actions.c.trigger_post_id.in_(trigger_ids))
            )
        )


def test_a_short_link_is_followed_on_the_bus_as_in_one_process(
    bus_url: str, postgres_server: str, shortener: tuple[Shortener, str]
) -> None:
    """The same posts as the one-process test (tests/integration/test_shortlinks.py), through
    the live sink's edge, the bus and a worker of this process (its resolver allows the
    loopback shortener, as no setting can)."""
    stand_in, base = shortener
    stand_in.answers["/mug"] = Answer(301, MUG)
    shop = Shop(
        fresh_postgres_database(postgres_server),
        **{**_on_the_bus(bus_url), "shortener_hosts": "127.0.0.1"},
    )
    try:
        shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
        bus = BusSettings.of(shop.app.settings)
        short = f"{base}/mug"
        lookup = ThreadsAsking()
        network = WorkerNetwork(
            shop.app,
            {},
            loopback_resolver(shop.app, lookup=lookup),
            fetch_timeout=5.0,
            extra_hosts=("127.0.0.1",),
        )
        posts = [shop_post("3shop1", f"Our mug {short}", (short,)), cart_reply("3reply1", "3shop1")]
        _publish(shop.app, bus, Format.JETSTREAM, posts, extra_hosts=("127.0.0.1",))
        asyncio.run(
            _work_until(shop.app, network, bus, lambda: shop.cart("alice@example.com") != [])
        )
        assert shop.cart("alice@example.com") == [("mug", 1)]
        assert shop.reasons() == ["added"]
        assert cached(shop.app, short) == (MUG, None)
        assert stand_in.requests() == [("HEAD", "/mug")]
        # Followed before the batch entered the engine, on the short-link threads.
        assert lookup.asked == ["127.0.0.1"]
        assert {name.split("_")[0] for name in lookup.threads} == {"hashcart-shortlinks"}
    finally:
        shop.app.engine.dispose()


class ThreadsAsking(RecordingLookup):
    """The system resolver, noting which thread asked."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def __call__(self, host: str, port: int, seconds: float) -> Any:
        self.threads.append(threading.current_thread().name)
        return super().__call__(host, port, seconds)


async def _init(bus: BusSettings) -> None:
    client = await connect(bus, name="test bus init")
    try:
        await init_bus(client.jetstream(), bus)
    finally:
        await close(client)


async def _work_until(
    app: App, network: WorkerNetwork, bus: BusSettings, done: Callable[[], bool]
) -> None:
    """Run a worker in this process (as `hashcart worker` does) until `done`."""
    client = await connect(bus, name="test worker")
    stop = asyncio.Event()
    network.start()
    try:
        js = client.jetstream()
        leases = await Leases.open(js, "test-worker")
        engine = WorkerEngine(app, bus.batch_size, network)
        worker = Worker(js, leases, bus, engine, stop, prepare=network.prepare, nc=client)
        running = asyncio.create_task(worker.run())
        give_up = time.monotonic() + 60
        while not await asyncio.to_thread(done):
            assert time.monotonic() < give_up, "the worker did not get there in 60 s"
            assert not running.done()
            await asyncio.sleep(0.05)  # polling a condition with a deadline, not time
        stop.set()
        await running
    finally:
        network.stop()
        await close(client)
