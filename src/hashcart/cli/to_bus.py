"""`hashcart ingest --to-bus FILE...|-`: the prefilter at the edge, the kept lines published
to the bus, each acknowledged by the stream, for `hashcart worker` to act on.

A line over 1 MiB is no message for the bus (NATS refuses payloads over its max_payload): it is
dead-lettered here, in the database, as file ingest would."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from hashcart.cli import console, fail, open_with
from hashcart.sources import open_source

if TYPE_CHECKING:
    from hashcart.config import Settings
    from hashcart.networks.input_format import Format


HEADER_ROOM = 2048


def ingest_to_bus(settings: Settings, files: list[str], fmt: Format) -> None:
    import asyncio

    from hashcart.bus.client import BusSettings, BusUnavailable, close, connect
    from hashcart.bus.publisher import Publisher
    from hashcart.services.bus_edge import Edge
    from hashcart.services.ingest import Ingestor, with_sale_replies
    from hashcart.sources import Oversized, read_blocks

    try:
        bus = BusSettings.of(settings)
    except BusUnavailable as error:
        fail(str(error))
    hashcart = open_with(settings)
    shop = hashcart.shop()
    reader = hashcart.payload_reader
    # Replies to a live sale's posts carry no tag: the edge lets them through too.
    prefilter = with_sale_replies(reader.prefilter(shop.every_word, shop.hosts), shop)
    edge = Edge(reader, prefilter, fmt.value)
    oversized = Ingestor(hashcart.unit_of_work, shop, hashcart.clock, reader=reader)
    started = time.perf_counter()

    async def run() -> Publisher:
        client = await connect(bus, name="hashcart ingest --to-bus")
        try:
            # Block after block, each block's kept lines together and acknowledged before
            # the next: a linger would only make each block wait (bus_publish_linger_ms is
            # for posts arriving one by one, from listeners and webhooks).
            publisher = Publisher(client.jetstream(), bus, linger=False)
            # A line over the servers' max_payload (1 MB by default) cannot be a message:
            # it is dead-lettered here instead, as a line over 1 MiB is in file ingest.
            room = client.max_payload - HEADER_ROOM
            for name in files:
                with open_source(name) as (stream, _size):
                    number = 0
                    for block in read_blocks(stream):
                        if isinstance(block, Oversized):
                            number += 1
                            oversized.dead_letter_line(
                                name, number, "line longer than 1 MiB", block
                            )
                            continue
                        kept = list(edge.candidates(name, block, number))
                        number += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
                        too_big = [c for c in kept if len(c.data) > room]
                        for candidate in too_big:
                            oversized.dead_letter_line(
                                name,
                                candidate.line,
                                f"line longer than the bus takes ({room:,} bytes)",
                                candidate.data[:4096],
                            )
                        await publisher.publish(c for c in kept if len(c.data) <= room)
            return publisher
        finally:
            await close(client)

    publisher = asyncio.run(run())
    elapsed = time.perf_counter() - started
    counts = edge.counts
    rate = counts.lines / elapsed if elapsed > 0 else 0.0
    console.print(
        f"to the bus: {counts.lines:,} lines read, {counts.kept:,} kept and published "
        f"({publisher.counts.published:,} new, {publisher.counts.duplicates:,} already on the "
        f"stream), {counts.skipped:,} skipped by the prefilter, {oversized.stats.dead_letters:,} "
        f"dead-lettered; {rate:,.0f} lines per second",
        markup=False,
        soft_wrap=True,
    )
