"""A worker's beat reads each held partition's lag for the metrics (Worker._report_lag). A
consumer that does not answer (its node down, which with `bus_consumer_replicas` 1 lasts as
long as the node is down) must not stop the beat before the worker takes its share of the
free partitions. Here the held partition's consumer is deleted, so its read fails at once."""

from __future__ import annotations

import asyncio
import contextlib

from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.leases import Leases
from hashcart.bus.streams import init_bus
from hashcart.bus.subjects import STREAM, consumer_of
from hashcart.bus.worker import ConsumerLag, Worker


async def _one_beat(bus_url: str) -> tuple[set[int], dict[int, ConsumerLag]]:
    bus = BusSettings(tuple(bus_url.split(",")), partitions=2, lease_seconds=30)
    client = await connect(bus, name="lag test")
    try:
        js = client.jetstream()
        await init_bus(js, bus)
        await js.delete_consumer(STREAM, consumer_of(1))
        leases = await Leases.open(js, "lag-test")
        assert await leases.take(1)  # held, but its consumer does not answer
        lags: dict[int, ConsumerLag] = {}
        stop = asyncio.Event()
        worker = Worker(
            js,
            leases,
            bus,
            lambda batch: None,
            stop,
            on_lag=lambda partition, lag: lags.__setitem__(partition, lag),
            nc=client,
        )
        await worker._keep_leases()
        taken = set(leases.held)
        stop.set()
        tasks = list(worker._tasks.values())
        await asyncio.gather(*tasks, return_exceptions=True)
        for partition in list(leases.held):
            with contextlib.suppress(Exception):
                await leases.release(partition)
        return taken, lags
    finally:
        await close(client)


def test_a_consumer_that_does_not_answer_its_lag_read_does_not_stop_a_beat(
    bus_url: str,
) -> None:
    taken, lags = asyncio.run(_one_beat(bus_url))

    assert taken == {0, 1}  # partition 0 taken in the same beat
    assert set(lags) == {0}  # the partition that answered is still reported
    assert lags[0] == ConsumerLag(0, 0, 0)
