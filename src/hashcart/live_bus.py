"""The live sink with a bus (`bus_url`): listeners and webhooks publish instead of ingesting.

`BusIngest` is the live sink (services/live_ingest.LiveIngest) with one difference: `ingest`
runs the edge's prefilter (services/bus_edge) over the payloads and publishes the kept ones
to the stream, for `hashcart worker` to act on, instead of running the engine here. It
returns once the stream acknowledged every one of them, and only then writes the listener's
cursor: a listener that dies before the acknowledgement reads the same posts again, and a
webhook that cannot publish answers an error so the network delivers again (the stream keeps
one copy of a post published twice). Everything else (cursors read, settings, the parents
already waited for) is the live sink's.

The NATS client lives in a thread of its own with its event loop: the sink is called from the
web app's worker threads and from the listeners' loop alike, and waits on a future."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.publisher import Publisher
from hashcart.domain.products import ShopHosts
from hashcart.ports import Cursor
from hashcart.services.bus_edge import Candidate, Edge
from hashcart.services.ingest import IngestStats, with_sale_replies
from hashcart.services.live_ingest import LiveHost, LiveIngest

if TYPE_CHECKING:
    from nats.aio.client import Client


class BusIngest(LiveIngest):
    def __init__(self, app: LiveHost, bus: BusSettings, **live: Any) -> None:
        super().__init__(app, **live)
        self.bus = bus
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="hashcart-bus-publisher", daemon=True
        )
        self._thread.start()
        self._client: Client | None = None
        # One publisher for every listener's calls, so their posts share its linger.
        self._publisher: Publisher | None = None
        self.published = 0

    def ingest(
        self,
        source: str,
        fmt: str,
        payloads: Sequence[bytes],
        *,
        fetch_parents: bool = True,
        cursor: Cursor | None = None,
    ) -> IngestStats:
        reader = self.app.payload_reader
        named = reader.format_named(fmt)  # ValueError for a format no network reads
        self.learn_new_sales()  # a sale opened since: its replies are kept from now on
        shop = self.shop()
        hosts = ShopHosts((*shop.hosts.names, *self.extra_hosts))
        # Replies to a live sale's posts carry no tag: the edge lets them through too.
        edge = Edge(
            reader, with_sale_replies(reader.prefilter(shop.every_word, hosts), shop), named
        )
        started = time.perf_counter()
        kept: list[Candidate] = []
        for number, payload in enumerate(payloads, start=1):
            kept += edge.candidates(source, reader.as_line(payload), number - 1)
        if kept:
            publishing = asyncio.run_coroutine_threadsafe(self._publish(kept), self._loop)
            # Every publish retries under its own timeout and gives up with PublishFailed;
            # this bound only keeps a caller from waiting forever on a lost loop.
            publishing.result(timeout=self.bus.publish_timeout_seconds * 40 + 30)
            self.published += len(kept)
        if cursor is not None:
            with self.app.unit_of_work() as uow:
                uow.cursors.write(cursor, self.app.clock.now())
        done = IngestStats(lines=edge.counts.lines, posts=edge.counts.kept)
        done.skipped = edge.counts.skipped
        with self._lock:
            self.stats = self.stats + done
        self.counted(done, time.perf_counter() - started)
        return done

    def close(self) -> None:
        """Close the bus connection and stop its thread (the process's end, or a test's)."""

        async def closing() -> None:
            if self._client is not None and not self._client.is_closed:
                await close(self._client)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(closing(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _publish(self, kept: list[Candidate]) -> None:
        if self._client is None or self._client.is_closed:
            self._client = await connect(self.bus, name="hashcart live sink")
            self._publisher = None
        if self._publisher is None:
            self._publisher = Publisher(self._client.jetstream(), self.bus)
        await self._publisher.publish(kept)
