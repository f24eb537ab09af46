"""Publishing kept lines to the stream, each acknowledged before it counts as published.

A JetStream publish is answered by the stream once the message is stored (on a majority of
replicas); only then may a listener's cursor move past it. Asynchronous publish acks never time
out on their own in nats-py, and elections answer 503 at once (recipes-wave2.md section 3),
so every publish waits at most `bus_publish_timeout_seconds`, and a publish that was not
acknowledged is sent again under the same `Nats-Msg-Id` with backoff: the stream keeps one
copy (duplicate window), and the database's unique keys are the guarantee behind it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hashcart.bus.client import BusSettings
from hashcart.bus.subjects import STREAM, partition_of, subject_of
from hashcart.errors import HashcartError

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

_log = logging.getLogger(__name__)
SOURCE_HEADER = "Hashcart-Source"
LINE_HEADER = "Hashcart-Line"
# When the edge first published the line (Unix seconds): the worker measures publish to
# commit from it (hashcart_publish_to_commit_seconds), so clocks of edge and worker count.
PUBLISHED_HEADER = "Hashcart-Published"
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


class Publisher:
    def __init__(self, js: JetStreamContext, bus: BusSettings) -> None:
        self.js = js
        self.bus = bus
        self.counts = PublishCounts()

    async def publish(self, candidates: Iterable[Candidate]) -> None:
        """Publish every candidate; returns once each was acknowledged (in any order)."""
        pending: set[asyncio.Task[None]] = set()
        for candidate in candidates:
            pending.add(asyncio.create_task(self._publish_one(candidate)))
            if len(pending) >= WINDOW:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        if pending:
            done, _ = await asyncio.wait(pending)
            for task in done:
                task.result()

    async def _publish_one(self, candidate: Candidate) -> None:
        partition = partition_of(candidate.order_key, self.bus.partitions)
        subject = subject_of(candidate.network, partition)
        headers = {
            "Nats-Msg-Id": candidate.message_id[:1000],
            SOURCE_HEADER: _header_safe(candidate.source)[:MAX_SOURCE_CHARS],
            LINE_HEADER: str(candidate.line),
            PUBLISHED_HEADER: f"{time.time():.6f}",
        }
        delay = 0.05
        for attempt in range(GIVE_UP_AFTER_ATTEMPTS):
            try:
                ack = await self.js.publish(
                    subject,
                    candidate.data,
                    timeout=self.bus.publish_timeout_seconds,
                    stream=STREAM,
                    headers=headers,
                )
            except Exception as error:  # a timeout, 503 during an election, a reconnect
                self.counts.retries += 1
                if attempt == 0 or attempt % 10 == 9:
                    _log.warning("bus: publish to %s not acknowledged: %r", subject, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if ack.duplicate:
                self.counts.duplicates += 1
            else:
                self.counts.published += 1
            return
        raise PublishFailed(
            f"the stream did not acknowledge {candidate.source} line {candidate.line} "
            f"after {GIVE_UP_AFTER_ATTEMPTS} attempts"
        )


def _header_safe(text: str) -> str:
    """A header value holds no line breaks or NULs (a file name may)."""
    return "".join(" " if ch in "\r\n\0" else ch for ch in text)
