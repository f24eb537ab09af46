"""A held partition's own pull loop on its JetStream consumer: a standing pull request, topped
up before it runs out, in place of a `fetch` per batch.

nats-py's `fetch` sends one pull request a batch, awaits each message with its own
`asyncio.wait_for` (a task a message), and ends on the server's 404/408 status: per batch, a
request and a status for the servers (across a route two times in three) and a task a message
for the worker. Here a partition keeps one request standing on the server (`batch` messages,
`expires` seconds) and issues the next shortly before it expires or runs low, so messages
arrive as they are published with about one request and one 408 a second per partition,
whatever the batches. They land by the subscription's callback (no task a message) in
`arrived`, in stream order, and `take` hands out what has arrived.

No idle heartbeats: with one-second requests a lost one (a leader change, a reconnect) is
noticed at its expiry plus END_MARGIN_SECONDS as soon as a heartbeat would say it, and
heartbeats cost the servers a message per idle partition and second.

The end of every request is tracked on this side too (`ended`): a partition given up must
not unsubscribe while the server may still deliver into its inbox, or that message would be
stranded until its ack wait and the next holder would commit later posts first. A request
ends when it got its `batch` messages, when its status (408 expired, 409 leader change or
consumer gone, 404) arrives, or at its expiry plus a margin when neither came (lost). The
server spreads its deliveries over a consumer's waiting requests (not first in, first out),
so which request a message filled is not known here: what is counted is the messages all
outstanding requests may still deliver (`_open`: their batches, less each delivery, less
the `Nats-Pending-Messages` a status reports as never to come). At 0, none is open. A
status ends one request, taken as the oldest (they expire in the order they were sent): a
request filled without a status leaves its record to a later status or to its expiry, so
the count errs on waiting longer, never on ending early.

A message that arrives again (a redelivery after its ack wait) while its first copy is still
held is not handed out twice: waiting here, the new copy takes the first one's place (its
reply is the one the server now expects); already handed out, the new copy is dropped, as
the first one's outcome settles it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

_log = logging.getLogger(__name__)

# Past a request's expiry (counted from its sending) before it is taken as lost: the server
# counts from its own receipt, later on a loaded machine, and its last delivery or 408 may
# still be on the way.
END_MARGIN_SECONDS = 1.0
# The next request goes out when the newest has this share of its life left, so the server
# always holds one while messages are published.
TOP_UP_LEAD_SHARE = 0.25
_STATUS = "Status"
_HEARTBEAT = "100"
_PENDING = "Nats-Pending-Messages"


@dataclass(slots=True)
class _Request:
    expires_at: float  # loop time: the server's expiry, counted from the sending
    ends: float  # loop time: after this, taken as ended even with no status (lost)


@dataclass
class PullCounts:
    requests: int = 0
    statuses: int = 0
    # Requests forgotten at their expiry plus the margin: lost, or filled with no status.
    lost: int = 0
    duplicates: int = 0  # redeliveries of a message still held


class PartitionPull:
    """One partition consumer's messages, pulled by standing requests into one inbox."""

    def __init__(
        self, nc: Client, stream: str, consumer: str, *, batch: int, expires: float
    ) -> None:
        self._nc = nc
        self._next = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._batch = max(1, batch)
        self._expires = expires
        self._request = json.dumps(
            {"batch": self._batch, "expires": int(expires * 1_000_000_000)}
        ).encode()
        self._inbox = nc.new_inbox()
        self._subscription: Subscription | None = None
        self._requests: deque[_Request] = deque()  # outstanding, oldest first
        self._open = 0  # messages the outstanding requests may still deliver
        # Stream sequence -> message, in arrival order: arrived and not yet taken.
        self._arrived: dict[int, Msg] = {}
        # Taken and maybe not yet acknowledged: a redelivery of one of them is dropped.
        self._taken: dict[int, Msg] = {}
        self._waiter: asyncio.Future[None] | None = None
        self.requesting = True
        self.counts = PullCounts()

    async def open(self) -> None:
        """Subscribe the inbox; no request goes out before the first `take`."""
        self._subscription = await self._nc.subscribe(self._inbox, cb=self._on_message)

    async def close(self) -> None:
        """Unsubscribe: only once `ended` said no request can deliver any more."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    @property
    def outstanding(self) -> int:
        """Requests that may still deliver."""
        return len(self._requests)

    @property
    def waiting(self) -> int:
        """Messages arrived and not taken."""
        return len(self._arrived)

    async def take(self, most: int, wait: float) -> list[Msg]:
        """Up to `most` of the messages arrived, oldest first, waiting up to `wait` seconds
        for the first; tops the requests up as it goes (while `requesting`)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        while True:
            now = loop.time()
            await self._top_up(now)
            if self._arrived or now >= until:
                return self._pop(most)
            await self._until_arrival(min(until, self._next_due(now)) - now)

    def drain(self) -> list[Msg]:
        """Every message arrived and not taken, oldest first (kept or handed back)."""
        return self._pop(len(self._arrived))

    async def ended(self) -> None:
        """Once no request is outstanding: each got its messages or its status, or is past
        its expiry plus the margin. Call with `requesting` off; what arrives meanwhile
        waits in `arrived` (`drain`)."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self._forget_lost(now)
            if not self._requests:
                return
            await self._until_arrival(self._requests[0].ends - now)

    async def give_up(self, held: list[Msg]) -> None:
        """The partition is let go: no more requests; once every outstanding one has ended
        (after that the server delivers nothing more into this inbox), hand back `held`
        (what was taken and not committed, oldest first) then what arrived and was not
        taken, with plain naks in that order: the server redelivers them before any later
        message of the partition, so the next holder gets them first, at once. A nak with
        a delay would let later posts overtake them."""
        self.requesting = False
        await self.ended()
        for message in held + self.drain():
            if not message.is_acked:
                with contextlib.suppress(Exception):  # lost: redelivered after its ack wait
                    await message.nak()

    def _pop(self, most: int) -> list[Msg]:
        taken: list[Msg] = []
        arrived = self._arrived
        while arrived and len(taken) < most:
            sequence = next(iter(arrived))
            message = arrived.pop(sequence)
            self._taken[sequence] = message
            taken.append(message)
        # The settled ones (acknowledged, or handed back) need no watching any more; they
        # are settled in order, so from the oldest.
        held = self._taken
        while held:
            oldest = next(iter(held))
            if not held[oldest].is_acked:
                break
            del held[oldest]
        return taken

    def _next_due(self, now: float) -> float:
        """When the requests need looking at again: the newest's top-up time while
        requesting, else the oldest's end."""
        if not self._requests:
            return now + self._expires
        if self.requesting:
            return self._top_up_at(self._requests[-1])
        return self._requests[0].ends

    def _top_up_at(self, request: _Request) -> float:
        return request.expires_at - self._expires * TOP_UP_LEAD_SHARE

    async def _top_up(self, now: float) -> None:
        self._forget_lost(now)
        if not self.requesting:
            return
        requests = self._requests
        if requests and self._open * 2 > self._batch and now < self._top_up_at(requests[-1]):
            return
        # The server caps what it delivers at the consumer's `max_ack_pending`, so asking for
        # a whole batch again is safe, and one request lasts while the partition is busy.
        requests.append(_Request(now + self._expires, now + self._expires + END_MARGIN_SECONDS))
        self._open += self._batch
        self.counts.requests += 1
        await self._nc.publish(self._next, self._request, reply=self._inbox)

    def _forget_lost(self, now: float) -> None:
        requests = self._requests
        while requests and requests[0].ends <= now:
            requests.popleft()
            self.counts.lost += 1
        if not requests:
            self._open = 0

    async def _until_arrival(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # never a loop that starves the callbacks it waits for
            return
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(seconds, self._wake)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _on_message(self, message: Msg) -> None:
        headers = message.headers
        status = headers.get(_STATUS) if headers else None
        if status is not None and not message.reply:
            self._on_status(status, message)
            return
        self._open -= 1
        if self._open <= 0:
            self._ended_all()
        sequence = message.metadata.sequence.stream
        held = self._taken.get(sequence)
        if held is not None and not held.is_acked:
            self.counts.duplicates += 1  # handed out already: its first copy settles it
            return
        if sequence in self._arrived:
            self.counts.duplicates += 1  # keeps its place (a dict keeps the first position)
        self._arrived[sequence] = message
        self._wake()

    def _on_status(self, status: str, message: Msg) -> None:
        if status == _HEARTBEAT:
            return
        self.counts.statuses += 1
        if self._requests:
            self._requests.popleft()  # a request ended (408, 409, 404): its record, the oldest
        # Not said (a 409 without it): its record's expiry or a later count ends the rest.
        with contextlib.suppress(ValueError):
            self._open -= int((message.headers or {}).get(_PENDING, ""))
        if self._open <= 0 or not self._requests:
            self._ended_all()
        if status != "408":
            description = (message.headers or {}).get("Description", "")
            _log.info("bus: %s: pull request ended: %s %s", self._next, status, description)
        self._wake()

    def _ended_all(self) -> None:
        self._requests.clear()
        self._open = 0
