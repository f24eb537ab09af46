"""Publishing kept lines to the stream, each acknowledged before it counts as published.

A JetStream publish is answered by the stream once the message is stored (on a majority of
replicas); only then may a listener's cursor move past it. Asynchronous publish acks never time
out on their own in nats-py, and elections answer 503 at once (recipes-wave2.md section 3),
so every publish waits at most `bus_publish_timeout_seconds`, and a publish that was not
acknowledged is sent again under the same `Nats-Msg-Id` with backoff: the stream keeps one
copy (duplicate window), and the database's unique keys are the guarantee behind it.

Publishes leave at most once every `bus_publish_linger_ms` (a first one after a quiet spell
leaves at once; the ones that come meanwhile leave together when the linger ends; one call's
posts always together). What a JetStream cluster spends is per wake-up of its servers, not
per message: a three-node R3 stream on two cores cost ~650 us of server CPU a message
published one by one at 1,000/s, ~240 us in groups of ten, ~53 us in one burst
(docs/benchmarks.md, "The bus, fourth pass"). Each post still has its own publish,
`Nats-Msg-Id` and acknowledgement; the stamp the worker measures latency from
(Hashcart-Published) is taken before the linger, so it counts. `ingest --to-bus`, which
publishes a backlog block after block, does not linger."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hashcart.bus.client import BusSettings
from hashcart.bus.subjects import STREAM, partition_of, subject_of
from hashcart.errors import HashcartError

if TYPE_CHECKING:
    from nats.js.api import PubAck
    from nats.js.client import JetStreamContext

_log = logging.getLogger(__name__)
SOURCE_HEADER = "Hashcart-Source"
LINE_HEADER = "Hashcart-Line"
# When the edge first published the line (Unix seconds): the worker measures publish to
# commit from it (hashcart_publish_to_commit_seconds), so clocks of edge and worker count.
PUBLISHED_HEADER = "Hashcart-Published"
# JetStream's header naming the stream a post is meant for (nats.js.api.Header).
EXPECTED_STREAM_HEADER = "Nats-Expected-Stream"
MAX_SOURCE_CHARS = 200
# Publishes in flight at once: enough to keep three servers busy, few enough that a lost
# connection leaves little to send again.
WINDOW = 256
GIVE_UP_AFTER_ATTEMPTS = 30


class Candidate(Protocol):
    """A line to publish (services/bus_edge.Candidate has this shape)."""

    @property
    def source(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def data(self) -> bytes: ...
    @property
    def network(self) -> str: ...
    @property
    def order_key(self) -> str: ...
    @property
    def message_id(self) -> str: ...


class PublishFailed(HashcartError):
    """The stream did not acknowledge a post after every attempt: nothing after it counts."""


@dataclass
class PublishCounts:
    published: int = 0
    duplicates: int = 0  # the stream already had this Nats-Msg-Id
    retries: int = 0


class Linger:
    """Lets publishes leave at most once every `seconds`: the first after a quiet spell at
    once, the others together when the gate opens (one write to the server, which handles
    them in one wake-up), or as soon as `most` wait (a burst leaves at once). Used from one
    event loop."""

    def __init__(self, seconds: float, most: int = WINDOW) -> None:
        self.seconds = seconds
        self.most = most
        self._next = 0.0  # the loop's time when the next group may leave
        self._gate: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.waiting = 0

    async def turn(self, count: int = 1) -> None:
        """Until `count` publishes may leave."""
        if self.seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        if self._gate is None:
            now = loop.time()
            if now >= self._next:
                self._next = now + self.seconds
                return
            self._gate = loop.create_future()
            self._timer = loop.call_at(self._next, self.open)
        gate = self._gate
        self.waiting += count
        if self.waiting >= self.most:
            self.open()
        # Shielded: one publish cancelled must not cancel the others waiting on the gate.
        await asyncio.shield(gate)

    def open(self) -> None:
        """Let the publishes waiting leave now, together."""
        gate, self._gate, self.waiting = self._gate, None, 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._next = asyncio.get_running_loop().time() + self.seconds
        if gate is not None and not gate.done():
            gate.set_result(None)


@dataclass(slots=True)
class _Outgoing:
    """One post as it goes out, built once and sent again as it is on a retry."""

    candidate: Candidate
    subject: str
    headers: dict[str, str]


class Publisher:
    def __init__(self, js: JetStreamContext, bus: BusSettings, *, linger: bool = True) -> None:
        """`linger=False`: every call's posts leave at once (a caller that publishes a
        backlog call after call, each waiting for its acknowledgements)."""
        self.js = js
        self.bus = bus
        self.counts = PublishCounts()
        self.linger = Linger(bus.publish_linger_seconds if linger else 0.0)

    async def publish(
        self, candidates: Iterable[Candidate], *, arrived: float | None = None
    ) -> None:
        """Publish every candidate; returns once each was acknowledged (in any order). The
        candidates of one call leave together, after the linger.

        Each post is a `publish_async` (a buffered write whose acknowledgement settles a
        future), not a task and a request each: a post's own task, request inbox future
        and timeout wrapper were about 40 % of the publisher's CPU a post in a burst
        (docs/benchmarks.md, "s28-busnats"). What was not acknowledged within
        `bus_publish_timeout_seconds` of its send is sent again, all of it together, after
        the backoff.

        `arrived`: when the posts came (Unix seconds), if earlier than this call (a caller
        that gathers posts before publishing them); their latency is measured from it."""
        kept = list(candidates)
        if not kept:
            return
        # Stamped before the linger, so a post's measured latency includes it.
        published = f"{time.time() if arrived is None else arrived:.6f}"
        await self.linger.turn(len(kept))
        waiting = [self._outgoing(candidate, published) for candidate in kept]
        delay = 0.05
        for attempt in range(GIVE_UP_AFTER_ATTEMPTS):
            waiting, error = await self._send(waiting)
            if not waiting:
                return
            self.counts.retries += len(waiting)
            if attempt == 0 or attempt % 10 == 9:
                _log.warning(
                    "bus: %d publishes (to %s first) not acknowledged: %r",
                    len(waiting),
                    waiting[0].subject,
                    error,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        first = waiting[0].candidate
        raise PublishFailed(
            f"the stream did not acknowledge {first.source} line {first.line} "
            f"after {GIVE_UP_AFTER_ATTEMPTS} attempts"
        )

    def _outgoing(self, candidate: Candidate, published: str) -> _Outgoing:
        partition = partition_of(candidate.order_key, self.bus.partitions)
        return _Outgoing(
            candidate,
            subject_of(candidate.network, partition),
            {
                "Nats-Msg-Id": candidate.message_id[:1000],
                SOURCE_HEADER: _header_safe(candidate.source)[:MAX_SOURCE_CHARS],
                LINE_HEADER: str(candidate.line),
                PUBLISHED_HEADER: published,
                # What `stream=STREAM` would add (the stream refuses a post meant for
                # another), written here so a retry sends the same dict unchanged.
                EXPECTED_STREAM_HEADER: STREAM,
            },
        )

    async def _send(
        self, outgoing: list[_Outgoing]
    ) -> tuple[list[_Outgoing], BaseException | None]:
        """Send each post, at most WINDOW unacknowledged at once, and wait for every
        acknowledgement, each at most `bus_publish_timeout_seconds` after its send; the
        posts not acknowledged (timed out, refused, not sent) and the last error."""
        loop = asyncio.get_running_loop()
        timeout = self.bus.publish_timeout_seconds
        in_flight: deque[tuple[_Outgoing, asyncio.Future[PubAck], float]] = deque()
        failed: list[_Outgoing] = []
        error: BaseException | None = None
        try:
            for item in outgoing:
                if len(in_flight) >= WINDOW:
                    error = await self._settle(in_flight[0], failed, loop) or error
                    in_flight.popleft()
                try:
                    future = await self.js.publish_async(
                        item.subject, item.candidate.data, headers=item.headers
                    )
                except Exception as refused:  # the connection is closed, its buffer full
                    failed.append(item)
                    error = refused
                    continue
                in_flight.append((item, future, loop.time() + timeout))
            while in_flight:
                error = await self._settle(in_flight[0], failed, loop) or error
                in_flight.popleft()
        finally:
            # The caller cancelled (a listener stopping): the acknowledgements it will not
            # wait for must not hold nats-py's slots for publishes in flight for good.
            for _, future, _ in in_flight:
                future.cancel()
        return failed, error

    async def _settle(
        self,
        sent: tuple[_Outgoing, asyncio.Future[PubAck], float],
        failed: list[_Outgoing],
        loop: asyncio.AbstractEventLoop,
    ) -> BaseException | None:
        """One sent post's acknowledgement, waited for until its deadline: counted, or the
        post put in `failed` (and the error returned)."""
        item, future, deadline = sent
        if not future.done():
            await asyncio.wait((future,), timeout=max(0.0, deadline - loop.time()))
            if not future.done():
                # Cancelling frees its slot; a late acknowledgement is then ignored, and
                # the post's retry under the same Nats-Msg-Id is stored once.
                future.cancel()
                failed.append(item)
                return TimeoutError(
                    f"no acknowledgement within {self.bus.publish_timeout_seconds} s"
                )
        if future.cancelled():  # not by this call (it returns above): sent again all the same
            failed.append(item)
            return asyncio.CancelledError("acknowledgement cancelled")
        error = future.exception()
        if error is not None:  # 503 during an election, no responders
            failed.append(item)
            return error
        if future.result().duplicate:
            self.counts.duplicates += 1
        else:
            self.counts.published += 1
        return None


def _header_safe(text: str) -> str:
    """A header value holds no line breaks or NULs (a file name may)."""
    return "".join(" " if ch in "\r\n\0" else ch for ch in text)
