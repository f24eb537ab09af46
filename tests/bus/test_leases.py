"""The lease bucket's reads a worker makes at every beat (hashcart.bus.leases).

`live_workers` counts the `worker.<id>` entries from the bucket's stream info, filtered to
their subjects (https://docs.nats.io/reference/jetstream/api, "$JS.API.STREAM.INFO" with
`subjects_filter`), instead of `kv.keys()`, which opens an ordered consumer per call."""

from __future__ import annotations

import asyncio

import pytest

from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.leases import Leases
from hashcart.bus.streams import init_bus


async def _count_beating(bus_url: str, beating: int, monkeypatch: pytest.MonkeyPatch) -> int:
    bus = BusSettings(tuple(bus_url.split(",")), partitions=2, lease_seconds=30)
    client = await connect(bus, name="lease test")
    try:
        js = client.jetstream()
        await init_bus(js, bus)
        workers = [await Leases.open(js, f"w{n}") for n in range(beating)]
        for worker in workers:
            await worker.beat()
        await workers[0].take(0)  # a partition's entry is not a worker
        quiet = await Leases.open(js, "never-beat")

        def no_consumer() -> None:
            raise AssertionError("live_workers opened a consumer (kv.keys)")

        monkeypatch.setattr(quiet.kv, "keys", no_consumer)
        return await quiet.live_workers()
    finally:
        await close(client)


def test_live_workers_counts_the_workers_that_beat_without_opening_a_consumer(
    bus_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert asyncio.run(_count_beating(bus_url, 3, monkeypatch)) == 3
