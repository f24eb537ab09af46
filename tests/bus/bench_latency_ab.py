"""The latency bench with two kinds of worker in one run: one worker runs another copy of
hashcart (OTHER, e.g. a `git archive` of main), the other this one, so both see the same
load, and each worker's own publish-to-commit histogram is read. On a machine shared with
other work, wall-clock latencies move by 2-3x from one run to the next; a same-run pair does
not (docs/benchmarks.md, "s26-worker").

    python -m tests.bus.bench_latency_ab OTHER [SECONDS] [RATE] [NODES] [ORDER]
    # ORDER: "other,this" (default) or "this,other": which worker starts first (it takes
    # every partition, then hands half to the second: swap it between runs)

It prints one JSON object: the whole run's figures (tests/bus/bench_latency) and, for each
side, the posts its partitions carried and their p50, p99 and share within 100 ms."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bus import bench_latency
from tests.bus.workers import Workers, lease_holders
from tests.peers.nats.cluster import free_port


def run_pair(
    other: Path, seconds: float, rate: float, nodes: int, order: list[str]
) -> dict[str, Any]:
    scraped: list[dict[int, dict[float, float]]] = []
    ports_of: dict[str, int] = {}

    def start_workers(
        env: dict[str, str], root: Path, count: int, url: str
    ) -> tuple[Workers, list[int]]:
        workers = Workers(env, root)
        for side in order:
            port = free_port()
            path = {"PYTHONPATH": f"{other / 'src'}:{other}"} if side == "other" else {}
            workers.env = {**env, "HASHCART_METRICS_PORT": str(port), **path}
            workers.start()
            ports_of[side] = port
        workers.env = env
        give_up = time.monotonic() + bench_latency.START_DEADLINE_SECONDS
        while True:
            holders = asyncio.run(lease_holders(url))
            if len(holders) == bench_latency.PARTITIONS and len(set(holders.values())) == count:
                return workers, list(ports_of.values())
            if time.monotonic() > give_up:
                workers.stop_all()
                raise RuntimeError(f"workers did not take the partitions: {holders}")
            time.sleep(0.1)  # polling a condition with a deadline, not waiting for time

    whole = bench_latency.scraped_buckets

    def each_worker(ports: Any) -> dict[float, float]:
        scraped.append({port: whole([port]) for port in ports})
        return whole(ports)

    bench_latency.start_workers = start_workers
    bench_latency.scraped_buckets = each_worker
    with tempfile.TemporaryDirectory() as folder:
        figures = bench_latency.run(seconds, rate, len(order), Path(folder), nodes)
    before, after = scraped[0], scraped[-1]
    for side, port in ports_of.items():
        buckets = {
            bound: after[port][bound] - before[port].get(bound, 0.0) for bound in after[port]
        }
        count = max(1.0, buckets[math.inf])
        figures[side] = {
            "observed": int(buckets[math.inf]),
            "p50_ms": round(bench_latency.quantile(buckets, 0.5) * 1000, 1),
            "p99_ms": round(bench_latency.quantile(buckets, 0.99) * 1000, 1),
            "within_100ms": round(buckets.get(0.1, 0.0) / count, 4),
        }
    figures["order"] = order
    return figures


if __name__ == "__main__":
    other_folder = Path(sys.argv[1])
    numbers = [float(a) for a in sys.argv[2:5]]
    seconds, rate, nodes = (numbers + [20.0, 1000.0, 1.0][len(numbers) :])[:3]
    sides = (sys.argv[5] if len(sys.argv) > 5 else "other,this").split(",")
    print(json.dumps(run_pair(other_folder, seconds, rate, int(nodes), sides)))
