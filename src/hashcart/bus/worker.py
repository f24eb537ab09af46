"""`hashcart worker`'s loop: take partitions by lease, pull their messages, hand each batch to
the engine (which commits it), then acknowledge each message.

Order matters: commit, then acknowledge, each message on its own (never ack-all, which would
acknowledge other workers' in-flight messages on a shared consumer). A worker killed between
the two leaves the batch unacknowledged: the stream redelivers it after `bus_ack_wait_seconds`
to whoever holds the partition then, and the engine's unique keys make the second pass change
nothing. A batch the engine cannot commit (the database is down) is kept, not handed back:
its partition retries the same messages, in the same order, after a backoff, and fetches
nothing meanwhile, keeping them its own with progress acknowledgements (`in_progress`, which
restarts their ack wait). A nak with a delay would not keep the order: JetStream may deliver
the partition's later posts to the next fetch before the delayed redelivery (session 25 saw
it), and after `MAX_DELIVER` naks it stops offering the messages at all. Only a partition
given up (lease lost, stop) hands its kept messages back, with a plain nak in their order,
which the server redelivers before any newer message, so the next holder gets them first.
A holder that dies hands nothing back: the next one waits out its unacknowledged posts'
ack wait before fetching (`_after_a_lapsed_holder`), for the same reason.

A partition's messages come by its own standing pull request (`bus/pulls.PartitionPull`),
topped up before it runs out: about one request a second per partition instead of one per
batch. Giving a partition up therefore first stops its requests and waits until each has
ended (its status, or its expiry plus a margin), so nothing is delivered into an inbox no
one reads any more; only then is what it holds handed back. While a batch is refused, no
request goes out, and what the standing ones still deliver joins the kept messages, behind
them, in the retry.

One task per held partition takes what its pull received and hands it to the worker's one
engine task, and takes its next posts while that batch commits (at most two batches of a
partition in flight), settling their outcomes in order. Once a partition's batch is
refused, the engine refuses the partition's later batches too until the partition retries
the refused messages with those later ones, in their order: so no post of an account is
committed before an earlier one. The engine task runs one batch at a time in a thread (its
ingestor is not shared between threads; SQLAlchemy is synchronous), and each batch is what
the partitions have handed over since the last one began (up to `bus_batch_size` posts): a
batch costs about two dozen statements and a commit whatever its size, so a partition's few
posts do not wait behind the other partitions' batches one by one, and the partitions'
pulls overlap the commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hashcart.bus.client import BusSettings
from hashcart.bus.leases import Leases, fair_share
from hashcart.bus.publisher import (
    LINE_HEADER,
    MAX_SOURCE_CHARS,
    PUBLISHED_HEADER,
    SOURCE_HEADER,
)
from hashcart.bus.pulls import PartitionPull
from hashcart.bus.subjects import STREAM, consumer_of

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js.client import JetStreamContext

_log = logging.getLogger(__name__)
FETCH_WAIT_SECONDS = 1.0
MAX_LINE_NUMBER = 10**12
# A batch the engine could not commit is retried after these, doubling in between.
FIRST_BACKOFF_SECONDS = 0.5
LAST_BACKOFF_SECONDS = 10.0
# How often a partition backing off looks whether it still holds its lease.
HOLDING_CHECK_SECONDS = 0.1
# Past a lapsed holder's ack wait before a new holder fetches (its redelivery timer).
LAPSED_MARGIN_SECONDS = 0.5
# A partition's batches in the engine or waiting for it: one committing, the next fetched.
PIPELINE_DEPTH = 2
# How long a beat waits for one partition's lag (metrics) before it skips it.
LAG_READ_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One post line from the bus, with where the edge read it."""

    source: str
    line: int
    data: bytes
    partition: int
    delivered: int  # 1 the first time; more on redelivery
    published: float | None = None  # when the edge published it (Unix seconds), if it said


BatchHandler = Callable[[list[BusMessage]], None]
# Network work a batch needs before the engine (short links): awaited outside the engine, so
# other partitions' batches commit meanwhile (hashcart.live_worker).
BatchPreparer = Callable[[list[BusMessage]], Awaitable[None]]
# A batch just committed, and the wall-clock time (Unix seconds) right after its commit.
CommitHook = Callable[[list[BusMessage], float], None]


@dataclass(frozen=True, slots=True)
class ConsumerLag:
    pending: int  # in the partition, not yet delivered
    ack_pending: int  # delivered, not yet acknowledged
    redelivered: int  # delivered more than once, not yet acknowledged


@dataclass
class _Handed:
    """What one partition fetched, waiting for the engine; `done` says whether it was
    committed (and acknowledged)."""

    partition: int
    messages: list[Msg]
    read: list[BusMessage]  # the messages as the engine reads them, read once (message_of)
    done: asyncio.Future[bool]


@dataclass
class _Sent:
    """A partition's batch handed to the engine, and its outcome to come."""

    messages: list[Msg]
    done: asyncio.Future[bool]


@dataclass
class WorkerCounts:
    batches: int = 0
    messages: int = 0
    redelivered: int = 0
    failed_batches: int = 0
    partitions_taken: int = 0
    partitions_lost: int = 0
    # Partitions taken from a lapsed holder whose unacknowledged posts were waited out.
    lapsed_waits: int = 0
    batch_seconds: list[float] = field(default_factory=list)


def message_of(message: Msg, partition: int) -> BusMessage:
    """The message as the engine reads it. Headers come from whoever could publish to the
    stream: a missing or hostile source or line falls back to the stream's own position."""
    headers = message.headers or {}
    sequence = message.metadata.sequence.stream
    source = headers.get(SOURCE_HEADER) or f"bus:{message.subject}"
    try:
        line = int(headers.get(LINE_HEADER, ""))
    except ValueError:
        line = 0
    if not 1 <= line <= MAX_LINE_NUMBER:
        source, line = f"bus:{message.subject}", max(1, sequence)
    return BusMessage(
        source=source[:MAX_SOURCE_CHARS],
        line=line,
        # One line: a newline inside would make it two, and shift every number after it.
        data=message.data.replace(b"\n", b" "),
        partition=partition,
        delivered=message.metadata.num_delivered,
        published=_published(headers.get(PUBLISHED_HEADER)),
    )


def _published(header: str | None) -> float | None:
    """The edge's publish time, or None when missing or not a time (anyone who can publish
    to the stream writes headers)."""
    try:
        moment = float(header or "")
    except ValueError:
        return None
    return moment if math.isfinite(moment) and moment > 0 else None


class Worker:
    def __init__(
        self,
        js: JetStreamContext,
        leases: Leases,
        bus: BusSettings,
        handle: BatchHandler,
        stop: asyncio.Event,
        *,
        on_batch: Callable[[list[BusMessage], float], None] | None = None,
        on_lag: Callable[[int, ConsumerLag], None] | None = None,
        on_commit: CommitHook | None = None,
        prepare: BatchPreparer | None = None,
        nc: Client,
    ) -> None:
        self.js = js
        self.nc = nc  # the connection `js` was made of: the partitions' pull requests go on it
        self.leases = leases
        self.bus = bus
        self.handle = handle
        self.stop = stop
        self.on_batch = on_batch
        self.on_lag = on_lag
        self.on_commit = on_commit
        self.prepare = prepare
        self.counts = WorkerCounts()
        self._handed: deque[_Handed] = deque()
        self._handing = asyncio.Event()  # something was handed to the engine
        self._woken = asyncio.Event()  # another worker came, or a partition was let go
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._leaving: set[int] = set()
        # Partitions whose batch the engine could not commit: their later batches are
        # refused too until the refused one is retried (a partition's order).
        self._refused: set[int] = set()

    async def run(self) -> None:
        period = self.bus.lease_seconds / 3
        engine = asyncio.create_task(self._run_engine())
        watching = asyncio.create_task(self.leases.watch(self._woken.set))
        try:
            while not self.stop.is_set():
                self._woken.clear()
                await self._keep_leases()
                await self._until_woken(period)
        finally:
            for partition in list(self._tasks):
                self._leaving.add(partition)
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            for task in (engine, watching):
                task.cancel()
            await asyncio.gather(engine, watching, return_exceptions=True)
            for partition in list(self.leases.held):
                await self.leases.release(partition)

    async def _until_woken(self, seconds: float) -> None:
        """Until the next beat, the stop, or a change of the leases that moves partitions."""
        waits = [asyncio.create_task(self.stop.wait()), asyncio.create_task(self._woken.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def _keep_leases(self) -> None:
        try:
            await self.leases.beat()
            for partition in list(self.leases.held):
                if not await self.leases.renew(partition):
                    self.counts.partitions_lost += 1
                    self._leaving.add(partition)
            await self._forget_finished()
            share = fair_share(self.bus.partitions, await self.leases.live_workers())
            running = [p for p in self._tasks if p not in self._leaving]
            for partition in running[share:]:  # more than our share: hand some back
                self._leaving.add(partition)
            wanted = share - min(share, len(running))
            free = [p for p in range(self.bus.partitions) if p not in self.leases.held]
            random.shuffle(free)  # workers starting together do not all race for partition 0
            for partition in free:
                if wanted <= 0:
                    break
                if await self.leases.take(partition):
                    wanted -= 1
                    self.counts.partitions_taken += 1
                    self._leaving.discard(partition)
                    self._tasks[partition] = asyncio.create_task(self._run_partition(partition))
                    _log.info("bus: took partition %d", partition)
            # Last: the metrics must not hold up the leases' work (see _report_lag).
            await self._report_lag()
        except Exception as error:  # the cluster is electing or unreachable: try again
            _log.warning("bus: keeping leases: %r", error)

    async def _forget_finished(self) -> None:
        for partition, task in list(self._tasks.items()):
            if task.done():
                del self._tasks[partition]
                self._leaving.discard(partition)
                if partition in self.leases.held:
                    # It ended on its own (an error): give the partition back to be retaken.
                    await self.leases.release(partition)

    async def _report_lag(self) -> None:
        """Each held partition's lag, as JetStream counts it, for the metrics. A consumer
        that does not answer (its node is down: with `bus_consumer_replicas` 1 for as long
        as the node is, or an election) is skipped, each within LAG_READ_SECONDS: one
        unanswered read used to end the beat before the worker took its share of free
        partitions, and a read waits 5 s by default, four of them past a lease's renewal."""
        if self.on_lag is None:
            return
        for partition in sorted(self.leases.held):
            try:
                info = await self.js.consumer_info(
                    STREAM, consumer_of(partition), timeout=LAG_READ_SECONDS
                )
            except Exception as error:
                _log.info("bus: partition %d: no lag read: %r", partition, error)
                continue
            self.on_lag(
                partition,
                ConsumerLag(
                    info.num_pending or 0, info.num_ack_pending or 0, info.num_redelivered or 0
                ),
            )

    def _holding(self, partition: int) -> bool:
        return (
            partition in self.leases.held
            and partition not in self._leaving
            and not self.stop.is_set()
        )

    async def _run_partition(self, partition: int) -> None:
        pull = PartitionPull(
            self.nc,
            STREAM,
            consumer_of(partition),
            batch=self.bus.batch_size,
            expires=FETCH_WAIT_SECONDS,
        )
        try:
            await pull.open()
        except Exception as error:
            _log.warning("bus: partition %d: %r", partition, error)
            return
        backoff = FIRST_BACKOFF_SECONDS
        in_flight: deque[_Sent] = deque()  # this partition's batches, oldest first
        kept: list[Msg] = []  # refused, or taken once let go: not committed, in order
        try:
            # Before the first request: a lapsed holder's posts come first.
            await self._after_a_lapsed_holder(partition)
            while self._holding(partition):
                # Outcomes in order. One batch may be taken while the last one commits:
                # that halves a post's wait for its partition, and a refusal keeps the order
                # because the engine refuses the partition's later batches with it.
                if in_flight and (len(in_flight) >= PIPELINE_DEPTH or in_flight[0].done.done()):
                    if not await self._settled(partition, pull, in_flight, kept):
                        break  # given up
                    continue
                try:
                    taken = await pull.take(self._room(in_flight), FETCH_WAIT_SECONDS)
                except Exception as error:  # the connection closed under a request
                    _log.warning("bus: pulling partition %d: %r", partition, error)
                    await self._pause(backoff)
                    backoff = min(backoff * 2, LAST_BACKOFF_SECONDS)
                    continue
                backoff = FIRST_BACKOFF_SECONDS
                if not taken:
                    continue
                if not self._holding(partition):
                    kept += taken  # after the batches in flight, before what is still held
                    break
                in_flight.append(_Sent(taken, await self._hand(partition, taken)))
        finally:
            with contextlib.suppress(Exception):
                await self._give_up(pull, in_flight, kept)
            self._refused.discard(partition)  # taken again later: a fresh start
            with contextlib.suppress(Exception):
                await pull.close()
            if partition in self._leaving or self.stop.is_set():
                await self.leases.release(partition)

    async def _after_a_lapsed_holder(self, partition: int) -> None:
        """A partition taken from a holder whose lease lapsed (it died, or lost the bus)
        may have posts that holder fetched and never acknowledged: the stream redelivers
        them only when their ack wait ends, and a fetch before then would get the
        partition's later posts first, so an account's posts would be committed out of
        order. Wait until none is unacknowledged (the old holder finished them after all)
        or until their ack wait has surely ended (counted from now: they were fetched
        before the lease lapsed); after that the redeliveries come before anything newer.
        A holder that let go handed its posts back with plain naks, served first at once,
        so no wait then; nor when nothing is unacknowledged (a partition never held)."""
        if partition not in self.leases.lapsed:
            return
        loop = asyncio.get_running_loop()
        # A margin past the ack wait for the server's redelivery timer.
        ends = loop.time() + self.bus.ack_wait_seconds * 1.05 + LAPSED_MARGIN_SECONDS
        while self._holding(partition) and loop.time() < ends:
            try:
                info = await self.js.consumer_info(STREAM, consumer_of(partition))
            except Exception as error:  # an election: ask again
                _log.warning("bus: partition %d: reading its consumer: %r", partition, error)
            else:
                if not info.num_ack_pending:
                    return
            await self._pause(min(HOLDING_CHECK_SECONDS * 5, ends - loop.time()))
        self.counts.lapsed_waits += 1

    def _room(self, in_flight: deque[_Sent]) -> int:
        """A fetch's size: what `max_ack_pending` (the batch size) leaves beside the
        partition's messages still in flight, at least one."""
        return max(1, self.bus.batch_size - sum(len(sent.messages) for sent in in_flight))

    async def _settled(
        self, partition: int, pull: PartitionPull, in_flight: deque[_Sent], kept: list[Msg]
    ) -> bool:
        """The oldest batch's outcome. Refused: it and every later batch in flight (which
        the engine refused with it), then what arrived after them, are kept and retried as
        one, in their order, until committed (True) or the partition is given up (False:
        `kept` holds them then, for the give-up)."""
        oldest = in_flight.popleft()
        if await oldest.done:
            return True
        kept += oldest.messages
        while in_flight:
            later = in_flight.popleft()
            await later.done  # refused (the engine refuses the partition's later batches)
            kept += later.messages
        return await self._retried_until_committed(partition, pull, kept)

    async def _give_up(self, pull: PartitionPull, in_flight: deque[_Sent], kept: list[Msg]) -> None:
        """The partition is let go: wait for its batches in the engine, then hand back what
        was not committed, in order: the batches in flight, the kept messages, what arrived
        and was not taken (`PartitionPull.give_up`: once its requests have ended)."""
        pull.requesting = False
        uncommitted: list[Msg] = []
        while in_flight:
            sent = in_flight.popleft()
            if not await sent.done:
                uncommitted += sent.messages
        held = uncommitted + kept
        kept.clear()
        await pull.give_up(held)

    async def _retried_until_committed(
        self, partition: int, pull: PartitionPull, kept: list[Msg]
    ) -> bool:
        """Retry the refused messages, the same ones in the same order (with what arrived
        behind them meanwhile), after a growing backoff, until they are committed (True), or
        until the partition is given up (False: `kept` holds them for the give-up, which
        hands them back once the requests have ended). No request goes out meanwhile, so
        no later post of an account overtakes them."""
        pull.requesting = False
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            # A batch committed whose acknowledgements failed part-way (a lost connection)
            # keeps only the unacknowledged: committing those again changes nothing.
            kept[:] = [message for message in kept + pull.drain() if not message.is_acked]
            if not kept:
                pull.requesting = True
                return True
            if not await self._kept_through(partition, pull, kept, backoff):
                return False
            kept += pull.drain()
            if await (await self._hand(partition, list(kept), retry=True)):
                kept.clear()
                pull.requesting = True
                return True
            backoff = min(backoff * 2, LAST_BACKOFF_SECONDS)

    async def _kept_through(
        self, partition: int, pull: PartitionPull, kept: list[Msg], seconds: float
    ) -> bool:
        """Wait `seconds` before a retry while holding the partition, telling JetStream the
        kept messages are still being worked on (their ack wait starts again at each
        progress acknowledgement, sent at least three times an ack wait), with what arrives
        meanwhile joining them; False as soon as the partition is let go or the worker
        stops."""
        loop = asyncio.get_running_loop()
        retry_at = loop.time() + seconds
        progress_every = self.bus.ack_wait_seconds / 3
        next_progress = loop.time()
        while self._holding(partition):
            now = loop.time()
            if now >= retry_at:
                return True
            if now >= next_progress:
                kept += pull.drain()
                for message in kept:
                    with contextlib.suppress(Exception):  # lost: redelivered after ack wait
                        await message.in_progress()
                next_progress = now + progress_every
            # Short steps: losing the lease is noticed by the lease loop, not by an event.
            await self._pause(min(retry_at, next_progress, now + HOLDING_CHECK_SECONDS) - now)
        return False

    async def _hand(
        self, partition: int, fetched: list[Msg], *, retry: bool = False
    ) -> asyncio.Future[bool]:
        """Hand the partition's messages to the engine; the future says whether they were
        committed. Their short links are followed first (`prepare`), by this partition's
        task, so the engine never waits on a network while other partitions' batches
        queue behind it. A retry lifts the refusal of the partition's later batches."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        # Read once, here: each read parses the message's metadata and headers again.
        read = [message_of(message, partition) for message in fetched]
        if self.prepare is not None:
            try:
                await self.prepare(read)
            except Exception as error:  # not committed: retried after a backoff
                _log.warning("bus: partition %d: preparing a batch: %r", partition, error)
                self._refused.add(partition)  # none of its later batches before this one
                done.set_result(False)
                return done
        if retry:
            self._refused.discard(partition)
        self._handed.append(_Handed(partition, fetched, read, done))
        self._handing.set()
        return done

    async def _run_engine(self) -> None:
        """Every batch: what the partitions handed over until now, committed together, at
        most `bus_batch_size` posts (more than one partition's fetch when that is larger),
        so a batch's commit, and a partition handed back after it, never waits for long."""
        while True:
            while not self._handed:
                self._handing.clear()
                await self._handing.wait()
            taken: list[_Handed] = []
            size = 0
            while self._handed and (
                not taken or size + len(self._handed[0].messages) <= self.bus.batch_size
            ):
                handed = self._handed.popleft()
                if handed.partition in self._refused:
                    # An earlier batch of its partition was refused: this one waits for
                    # that one's retry, never committed before it.
                    handed.done.set_result(False)
                    continue
                size += len(handed.messages)
                taken.append(handed)
            if not taken:
                continue
            committed = False
            try:
                committed = await self._process(taken)
            except Exception as error:  # an ack on a lost connection: retried, kept in order
                _log.warning("bus: acknowledging a batch: %r", error)
            finally:  # the partitions waiting for it always hear (cancelled: not committed)
                if not committed:
                    self._refused.update(handed.partition for handed in taken)
                for handed in taken:
                    if not handed.done.done():
                        handed.done.set_result(committed)

    async def _process(self, taken: list[_Handed]) -> bool:
        # Each partition's messages stay in their order: the engine keeps an account's
        # posts in the order it reads them.
        batch = [item for h in taken for item in h.read]
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self.handle, batch)
        except Exception as error:
            self.counts.failed_batches += 1
            partitions = sorted({h.partition for h in taken})
            _log.warning("bus: partitions %s: batch not committed: %r", partitions, error)
            return False
        if self.on_commit is not None:
            self.on_commit(batch, time.time())
        # Committed: now, and only now, each message is acknowledged, one by one. An ack is
        # a publish into the client's buffer, flushed with the others, not a round trip.
        for handed in taken:
            for message in handed.messages:
                await message.ack()
        elapsed = time.perf_counter() - started
        self.counts.batches += 1
        self.counts.messages += len(batch)
        self.counts.redelivered += sum(1 for item in batch if item.delivered > 1)
        if self.on_batch is not None:
            self.on_batch(batch, elapsed)
        return True

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
