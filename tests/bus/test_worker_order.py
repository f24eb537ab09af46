"""A partition keeps its account's order through a batch the database refuses.

The refusal is real: the "engine" here commits each batch's lines to an SQLite file (one
transaction a batch, its rows numbered in commit order), and the test holds that file's
write lock (`BEGIN EXCLUSIVE`) while it wants the commits refused, so the engine gets
"database is locked" as it would from a busy or failing store. The worker runs in this
process as `hashcart worker` runs it (tests/bus/test_worker_network._work_until).

Why a refused batch is retried locally rather than handed back with a delayed nak: in
nats-server's consumer (server/consumer.go, processNak), a nak with a delay only moves the
message's pending time, and it is redelivered once the pending timer fires, while a fetch
meanwhile serves the partition's later messages; a plain nak puts it on the redelivery
queue, which getNextMsg serves before anything new. A progress acknowledgement (`+WPI`,
nats-py's `Msg.in_progress`) restarts a message's ack wait
(https://docs.nats.io/learn/jetstream/acknowledgment.md, "in-progress")."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.leases import Leases
from hashcart.bus.publisher import LINE_HEADER, SOURCE_HEADER
from hashcart.bus.streams import init_bus
from hashcart.bus.subjects import STREAM, consumer_of, subject_of
from hashcart.bus.worker import BusMessage, Worker

POSTS = 10
FIRST = 5  # published before the refusals; the rest while the worker backs off
SETTINGS = dict(partitions=1, replicas=3, lease_seconds=3.0, batch_size=100)


class LockableStore:
    """Each batch's lines committed to an SQLite file in one transaction; `lock()` holds
    the file's write lock from another connection, so the batches' commits are refused."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE committed (line INTEGER NOT NULL, delivered INTEGER)")
        self.refused = 0
        # Set: the first batch waits in the engine until `release_first()` (a slow commit).
        self.first_held = threading.Event()
        self.first_size = 0
        self._first_released = threading.Event()
        self._first_released.set()
        self._refusal = threading.Condition()
        self._holder: sqlite3.Connection | None = None

    def lock(self) -> None:
        self._holder = sqlite3.connect(self.path, isolation_level=None)
        self._holder.execute("BEGIN EXCLUSIVE")

    def unlock(self) -> None:
        assert self._holder is not None
        self._holder.execute("COMMIT")
        self._holder.close()
        self._holder = None

    def hold_first(self) -> None:
        self._first_released.clear()

    def release_first(self) -> None:
        self._first_released.set()

    def __call__(self, batch: list[BusMessage]) -> None:
        if not self._first_released.is_set():
            self.first_size = len(batch)
            self.first_held.set()
            assert self._first_released.wait(30), "the first batch was never released"
            self._first_released.set()
        db = sqlite3.connect(self.path, timeout=0)
        try:
            with db:
                db.executemany(
                    "INSERT INTO committed VALUES (?, ?)",
                    [(message.line, message.delivered) for message in batch],
                )
        except sqlite3.OperationalError:
            with self._refusal:
                self.refused += 1
                self._refusal.notify_all()
            raise
        finally:
            db.close()

    def wait_refused(self, times: int, deadline: float = 30) -> None:
        with self._refusal:
            assert self._refusal.wait_for(lambda: self.refused >= times, deadline), (
                f"refused {self.refused} times, {times} wanted"
            )

    def lines(self) -> list[int]:
        with sqlite3.connect(self.path) as db:
            return [line for (line,) in db.execute("SELECT line FROM committed ORDER BY rowid")]


async def _publish(bus: BusSettings, lines: range) -> None:
    """Posts of one account (one partition), in this order."""
    client = await connect(bus, name="test publisher")
    try:
        js = client.jetstream()
        for line in lines:
            headers = {SOURCE_HEADER: "order-test", LINE_HEADER: str(line)}
            await js.publish(subject_of("x", 0), f"post {line}".encode(), headers=headers)
    finally:
        await close(client)


async def _init(bus: BusSettings) -> None:
    client = await connect(bus, name="test bus init")
    try:
        await init_bus(client.jetstream(), bus)
    finally:
        await close(client)


async def _ack_pending(bus: BusSettings) -> int:
    client = await connect(bus, name="test consumer info")
    try:
        info = await client.jetstream().consumer_info(STREAM, consumer_of(0))
        return int(info.num_ack_pending or 0)
    finally:
        await close(client)


async def _deliveries(bus: BusSettings) -> int:
    client = await connect(bus, name="test consumer info")
    try:
        info = await client.jetstream().consumer_info(STREAM, consumer_of(0))
        return int(info.delivered.consumer_seq or 0)
    finally:
        await close(client)


class InProcessWorker:
    """A worker on its own connection and event loop thread, stopped on demand."""

    def __init__(self, bus: BusSettings, handle: Callable[[list[BusMessage]], None], name: str):
        self.bus, self.handle, self.name = bus, handle, name
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._done = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._work())
        except BaseException as error:  # reported by stop()
            self.error = error
        finally:
            self._done.set()

    async def _work(self) -> None:
        self._stop = asyncio.Event()
        client = await connect(self.bus, name=self.name)
        try:
            js = client.jetstream()
            leases = await Leases.open(js, self.name)
            await Worker(js, leases, self.bus, self.handle, self._stop, nc=client).run()
        finally:
            await close(client)

    def crash(self) -> None:
        """Stop dead, as a killed process would: its event loop halts where it is, so no
        nak, no release of its lease, no more progress acknowledgements."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._done.wait(30), f"{self.name} did not halt"

    def bury(self) -> None:
        """After a crash, once the test has seen what it wanted: cancel what was left
        halted, so its connection closes instead of being collected mid-await."""
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        give_up = time.monotonic() + 30
        while self._stop is None:  # not started yet: polling a condition with a deadline
            assert time.monotonic() < give_up and not self._done.is_set(), self.error
            time.sleep(0.01)
        self._loop.call_soon_threadsafe(self._stop.set)
        assert self._done.wait(30), f"{self.name} did not stop"
        self._loop.close()
        assert self.error is None, repr(self.error)


def _committed_all(store: LockableStore, deadline: float = 30) -> list[int]:
    give_up = time.monotonic() + deadline
    while len(store.lines()) < POSTS and time.monotonic() < give_up:
        time.sleep(0.05)  # polling a condition with a deadline, not waiting for time
    return store.lines()


def _bus(bus_url: str, **settings: float) -> BusSettings:
    servers = tuple(bus_url.split(","))
    return BusSettings(servers, **{**SETTINGS, **settings})  # type: ignore[arg-type]


def test_a_refused_batch_is_retried_before_later_posts_and_kept_past_its_ack_wait(
    bus_url: str, tmp_path: Path
) -> None:
    # An ack wait of 1 s and three refusals (backoffs of 0.5, 1 and 2 s): without progress
    # acknowledgements the refused posts would come back a second time.
    bus = _bus(bus_url, ack_wait_seconds=1.0)
    asyncio.run(_init(bus))
    store = LockableStore(tmp_path / "committed.db")
    store.lock()
    asyncio.run(_publish(bus, range(1, FIRST + 1)))
    worker = InProcessWorker(bus, store, "order-worker")
    try:
        store.wait_refused(1)
        # Later posts of the same account, while the refused batch waits for its retry.
        asyncio.run(_publish(bus, range(FIRST + 1, POSTS + 1)))
        store.wait_refused(3)
        store.unlock()
        committed = _committed_all(store)
    finally:
        worker.stop()

    assert committed == list(range(1, POSTS + 1))
    # Each post delivered once: the retries were local, nothing came back from the stream.
    assert asyncio.run(_deliveries(bus)) == POSTS


def test_a_partition_given_up_with_a_refused_batch_reaches_the_next_holder_first(
    bus_url: str, tmp_path: Path
) -> None:
    bus = _bus(bus_url, ack_wait_seconds=30.0)
    asyncio.run(_init(bus))
    store = LockableStore(tmp_path / "committed.db")
    store.lock()
    asyncio.run(_publish(bus, range(1, FIRST + 1)))
    first = InProcessWorker(bus, store, "order-first")
    try:
        store.wait_refused(1)
        asyncio.run(_publish(bus, range(FIRST + 1, POSTS + 1)))
    finally:
        first.stop()  # gives the partition up while its batch waits for a retry
    store.unlock()
    second = InProcessWorker(bus, store, "order-second")
    try:
        committed = _committed_all(store)
    finally:
        second.stop()

    assert committed == list(range(1, POSTS + 1))


def test_a_batch_fetched_while_an_earlier_one_is_refused_is_committed_after_it(
    bus_url: str, tmp_path: Path
) -> None:
    """A partition fetches its next posts while its batch commits; that batch refused, the
    later one waits for it and both are retried in their order."""
    bus = _bus(bus_url, ack_wait_seconds=30.0)
    asyncio.run(_init(bus))
    store = LockableStore(tmp_path / "committed.db")
    store.lock()
    store.hold_first()
    asyncio.run(_publish(bus, range(1, FIRST + 1)))
    worker = InProcessWorker(bus, store, "order-pipelined")
    try:
        assert store.first_held.wait(30), "the first batch never reached the engine"
        asyncio.run(_publish(bus, range(FIRST + 1, POSTS + 1)))
        give_up = time.monotonic() + 30
        # Posts after the held batch fetched while it is in the engine.
        while asyncio.run(_ack_pending(bus)) <= store.first_size:
            assert time.monotonic() < give_up, "nothing fetched while the batch was held"
            time.sleep(0.05)  # polling a condition with a deadline, not waiting for time
        store.release_first()  # and refused: the file is locked
        store.wait_refused(1)
        store.unlock()
        committed = _committed_all(store)
    finally:
        store.release_first()
        worker.stop()

    assert committed == list(range(1, POSTS + 1))
    assert asyncio.run(_deliveries(bus)) == POSTS


def test_posts_a_crashed_holder_fetched_are_committed_before_later_ones(
    bus_url: str, tmp_path: Path
) -> None:
    """The first holder fetched posts 1-5 and died before committing them (its store
    refused them; it halts mid-retry, handing nothing back). Its lease lapses and a second
    worker takes the partition while 1-5 still wait for their ack wait: fetching at once
    would commit the later 6-10 first. It waits them out (Worker._after_a_lapsed_holder)."""
    bus = _bus(bus_url, ack_wait_seconds=5.0, lease_seconds=1.5)
    asyncio.run(_init(bus))
    store = LockableStore(tmp_path / "committed.db")
    store.lock()
    asyncio.run(_publish(bus, range(1, FIRST + 1)))
    first = InProcessWorker(bus, store, "order-crashed")
    store.wait_refused(1)
    first.crash()
    asyncio.run(_publish(bus, range(FIRST + 1, POSTS + 1)))
    store.unlock()
    # The dead holder's, not yet redelivered (and any later post its last pull request, still
    # open on the server, took).
    assert asyncio.run(_ack_pending(bus)) >= FIRST
    second = InProcessWorker(bus, store, "order-after-crash")
    try:
        committed = _committed_all(store)
    finally:
        second.stop()
        first.bury()

    assert committed == list(range(1, POSTS + 1))
