"""A partition's standing pull requests (`hashcart.bus.pulls.PartitionPull`) against a real
three-node cluster (tests/peers/nats): messages in order across the requests' top-ups, a
request lost with the consumer's leader replaced, nothing stranded by a give-up, and a
redelivery handed out once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg

from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.publisher import LINE_HEADER, SOURCE_HEADER
from hashcart.bus.pulls import END_MARGIN_SECONDS, PartitionPull
from hashcart.bus.streams import init_bus
from hashcart.bus.subjects import STREAM, consumer_of, subject_of
from tests.peers.nats.cluster import Cluster

DEADLINE_SECONDS = 20.0


def _bus(url: str, **settings: object) -> BusSettings:
    base: dict[str, object] = dict(partitions=1, replicas=3, lease_seconds=3.0, batch_size=50)
    base.update(settings)
    return BusSettings(servers=tuple(url.split(",")), **base)  # type: ignore[arg-type]


async def _publish(client: Client, lines: range) -> None:
    js = client.jetstream()
    for line in lines:
        headers = {SOURCE_HEADER: "pull-test", LINE_HEADER: str(line)}
        await js.publish(subject_of("x", 0), f"post {line}".encode(), headers=headers)


def _lines(messages: list[Msg]) -> list[int]:
    return [int((message.headers or {})[LINE_HEADER]) for message in messages]


async def _take_until(
    pull: PartitionPull,
    count: int,
    *,
    ack: bool = True,
    also: Callable[[], Awaitable[None]] | None = None,
) -> list[Msg]:
    """Take (and acknowledge) until `count` messages came, within the deadline."""
    got: list[Msg] = []
    ends = time.monotonic() + DEADLINE_SECONDS
    while len(got) < count and time.monotonic() < ends:
        taken = await pull.take(count, 0.2)
        for message in taken:
            if ack:
                await message.ack()
        got += taken
        if also is not None:
            await also()
    return got


def _pull(client: Client, bus: BusSettings, expires: float = 1.0) -> PartitionPull:
    return PartitionPull(client, STREAM, consumer_of(0), batch=bus.batch_size, expires=expires)


def test_messages_arrive_in_order_across_request_top_ups(bus_url: str) -> None:
    """Published over several request lifetimes, in bursts larger than a request's batch:
    every message arrives once, in order, from more than one request. Fails when `_top_up`
    issues only the first request (nothing after its 8 messages)."""
    bus = _bus(bus_url, batch_size=8)

    async def scenario() -> tuple[list[int], int]:
        client = await connect(bus, name="pull test")
        try:
            await init_bus(client.jetstream(), bus)
            pull = _pull(client, bus, expires=0.3)
            await pull.open()
            published = 0

            async def publish_more() -> None:
                nonlocal published
                if published < 60:
                    await _publish(client, range(published + 1, published + 13))
                    published += 12

            got = await _take_until(pull, 60, also=publish_more)
            await pull.give_up([])
            await pull.close()
            return _lines(got), pull.counts.requests
        finally:
            await close(client)

    lines, requests = asyncio.run(scenario())
    assert lines == list(range(1, 61))
    assert requests >= 3


def test_a_request_lost_with_the_consumers_leader_is_replaced(own_cluster: Cluster) -> None:
    """The consumer's leader node is killed (-9) while a request stands on it: the pull
    replaces the request, every message arrives once, in order, and a give-up ends in time.
    nats-server 2.15.1 answers such a request with "409 Leadership Change" even then, so
    this covers a request ended by a 409; one lost in silence ends at its expiry plus the
    margin (`_forget_lost`), which this test does not force. Fails when only a 408 ends a
    request and lost ones are never forgotten (`_on_status` ignoring 409, `_forget_lost` a
    no-op): the give-up then waits for ever."""
    bus = _bus(own_cluster.url, batch_size=50)

    async def scenario() -> list[int]:
        client = await connect(bus, name="pull test")
        try:
            js = client.jetstream()
            await init_bus(js, bus)
            await _publish(client, range(1, 11))
            pull = _pull(client, bus)
            await pull.open()
            first = await _take_until(pull, 10)
            info = await js.consumer_info(STREAM, consumer_of(0))
            assert info.cluster is not None and info.cluster.leader
            own_cluster.kill(own_cluster.node_named(info.cluster.leader))
            try:
                ends = time.monotonic() + DEADLINE_SECONDS
                while True:  # the publish is refused while the stream elects
                    try:
                        await _publish(client, range(11, 21))
                        break
                    except Exception:
                        assert time.monotonic() < ends, "the stream never came back"
                        await asyncio.sleep(0.2)
                rest = await _take_until(pull, 10)
            finally:
                own_cluster.start(own_cluster.node_named(info.cluster.leader))
                own_cluster.wait_healthy()
            # The request the dead leader held ends by its expiry, with no status.
            await asyncio.wait_for(pull.give_up([]), 1.0 + END_MARGIN_SECONDS + 2.0)
            await pull.close()
            return _lines(first + rest)
        finally:
            await close(client)

    assert asyncio.run(scenario()) == list(range(1, 21))


def test_giving_up_strands_nothing_the_next_holder_gets_the_held_first(bus_url: str) -> None:
    """A holder takes some messages, holds more arrived, and gives the partition up; posts
    published the moment it has let go must not land in its inbox. The next holder gets the
    held messages first, then the new ones, all well within the ack wait. Fails when
    `give_up` does not wait for the requests' end (`ended`): the new posts go to the old
    holder's standing request and wait out the ack wait."""
    bus = _bus(bus_url, batch_size=50, ack_wait_seconds=10.0)

    async def scenario() -> tuple[list[int], float]:
        client = await connect(bus, name="pull test")
        try:
            await init_bus(client.jetstream(), bus)
            await _publish(client, range(1, 11))
            first = _pull(client, bus)
            await first.open()
            held = await _take_until(first, 4, ack=False)
            ends = time.monotonic() + DEADLINE_SECONDS
            # The rest arrives and waits; the request stays standing for most of a second.
            while first.waiting < 6 and time.monotonic() < ends:
                await asyncio.sleep(0.02)
            assert first.outstanding
            await first.give_up(held)
            await first.close()
            await _publish(client, range(11, 16))
            started = time.monotonic()
            second = _pull(client, bus)
            await second.open()
            got = await _take_until(second, 15)
            took = time.monotonic() - started
            await second.give_up([])
            await second.close()
            return _lines(got), took
        finally:
            await close(client)

    lines, took = asyncio.run(scenario())
    assert lines == list(range(1, 16))
    assert took < bus.ack_wait_seconds / 2


def test_a_redelivered_message_is_handed_out_once_in_its_place(bus_url: str) -> None:
    """Messages held past their ack wait are redelivered: the ones taken are not handed out
    again, the ones waiting keep their place with their new delivery, and acknowledging
    what was handed out leaves nothing pending. Fails when a redelivery is queued as a new
    message (`_on_message` without its duplicate checks)."""
    # Two seconds: short for the test, long enough that a loaded machine acknowledges the
    # redelivered copies before a second round of redeliveries.
    bus = _bus(bus_url, batch_size=50, ack_wait_seconds=2.0)

    async def scenario() -> tuple[list[int], list[int], list[int], int]:
        client = await connect(bus, name="pull test")
        try:
            js = client.jetstream()
            await init_bus(js, bus)
            await _publish(client, range(1, 6))
            pull = _pull(client, bus)
            await pull.open()
            taken = await _take_until(pull, 2, ack=False)
            ends = time.monotonic() + DEADLINE_SECONDS
            # Until all five were redelivered (the ack wait ran out), topping up meanwhile.
            while pull.counts.duplicates < 5 and time.monotonic() < ends:
                await pull.take(0, 0.1)
                await asyncio.sleep(0.05)
            rest = await pull.take(50, 0.5)
            for message in taken + rest:
                await message.ack()
            more = await pull.take(50, 0.5)
            await pull.give_up([])
            await pull.close()
            pending = 1
            while pending and time.monotonic() < ends:
                info = await js.consumer_info(STREAM, consumer_of(0))
                pending = int(info.num_ack_pending or 0)
            delivered = [message.metadata.num_delivered for message in rest]
            return _lines(taken + rest), _lines(more), delivered, pending
        finally:
            await close(client)

    lines, more, delivered, pending = asyncio.run(scenario())
    assert lines == [1, 2, 3, 4, 5]
    assert more == []
    assert all(count >= 2 for count in delivered)  # the new copies, in the first ones' places
    assert pending == 0
