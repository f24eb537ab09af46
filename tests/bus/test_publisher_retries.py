"""The publisher (hashcart.bus.publisher) against a real three-node cluster: posts the stream
refuses (here: no stream yet, so nobody answers) are sent again until stored, each once, and
the call returns only once every one of them was acknowledged (a listener's cursor moves only
then). More posts than one window (WINDOW) in flight, so the window's sliding is part of it."""

from __future__ import annotations

import asyncio

from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.publisher import PUBLISHED_HEADER, WINDOW, Publisher
from hashcart.bus.streams import init_bus
from hashcart.bus.subjects import STREAM
from hashcart.config import Settings
from hashcart.services.bus_edge import Candidate

POSTS = WINDOW + 44
# A deadline for a condition, not a wait: the publisher retries within a fraction of it.
DEADLINE_SECONDS = 60


def _candidates() -> list[Candidate]:
    return [
        Candidate("retry-test", n, f"post {n}".encode(), "x", f"account-{n % 7}", f"x:{n}")
        for n in range(1, POSTS + 1)
    ]


async def _scenario(url: str) -> tuple[Publisher, int, int, set[str]]:
    bus = BusSettings.of(Settings(bus_url=url, bus_partitions=4))  # type: ignore[arg-type]
    client = await connect(bus, name="publisher retry test")
    try:
        js = client.jetstream()
        publisher = Publisher(js, bus, linger=False)
        publishing = asyncio.create_task(publisher.publish(_candidates()))
        loop = asyncio.get_running_loop()
        give_up = loop.time() + DEADLINE_SECONDS
        # Every post refused once (no stream answers) before the stream exists.
        while publisher.counts.retries < POSTS and loop.time() < give_up:
            assert not publishing.done(), "returned before the stream stored anything"
            await asyncio.sleep(0.01)  # polling a condition under a deadline
        refused_first = publisher.counts.retries
        await init_bus(js, bus)
        await asyncio.wait_for(publishing, DEADLINE_SECONDS)
        stored = (await js.stream_info(STREAM)).state.messages
        ids = set()
        info = await js.stream_info(STREAM)
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(STREAM, sequence)
            ids.add((message.headers or {}).get("Nats-Msg-Id", ""))
        return publisher, refused_first, stored, ids
    finally:
        await close(client)


def test_posts_the_stream_refused_are_sent_again_until_each_is_stored_once(bus_url: str) -> None:
    publisher, refused_first, stored, ids = asyncio.run(_scenario(bus_url))
    assert refused_first >= POSTS
    assert publisher.counts.published == POSTS
    assert stored == POSTS
    assert ids == {f"x:{n}" for n in range(1, POSTS + 1)}


ARRIVED = 1_800_000_000.25  # a caller's own arrival time, in Unix seconds


async def _twice(url: str) -> tuple[Publisher, int, set[str]]:
    bus = BusSettings.of(Settings(bus_url=url, bus_partitions=4))  # type: ignore[arg-type]
    client = await connect(bus, name="publisher duplicate test")
    try:
        js = client.jetstream()
        await init_bus(js, bus)
        publisher = Publisher(js, bus, linger=False)
        await publisher.publish(_candidates(), arrived=ARRIVED)
        await publisher.publish(_candidates())
        info = await js.stream_info(STREAM)
        stamps = set()
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(STREAM, sequence)
            stamps.add((message.headers or {}).get(PUBLISHED_HEADER, ""))
        return publisher, info.state.messages, stamps
    finally:
        await close(client)


def test_posts_published_twice_are_stored_once_and_counted_as_duplicates(bus_url: str) -> None:
    """The first copy is stored, stamped with the arrival time its caller gave."""
    publisher, stored, stamps = asyncio.run(_twice(bus_url))
    assert stamps == {"1800000000.250000"}
    assert (publisher.counts.published, publisher.counts.duplicates) == (POSTS, POSTS)
    assert publisher.counts.retries == 0
    assert stored == POSTS
