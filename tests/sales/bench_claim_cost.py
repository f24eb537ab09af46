"""What a live sale's claim costs in CPU, whatever the machine's load (docs/benchmarks.md,
"A live sale's burst, fewer settle steps"):

    python -m tests.sales.bench_claim_cost [SECONDS] [RATE]   # default 5 s at 10,000/s

`hashcart bench --shape live-sale`'s arrivals (bench/live_sale, synthetic/sale: its sale,
shoppers and payloads) handed to the live sink as its feed hands them (every 50 ms, one call
per network), but on a clock the script moves instead of real time, with the settle timer's
pass every second of that clock. The work is then the same on a quiet and on an overloaded
machine (the wall-clock bench's batches grow when the path falls behind, and a batch's size
changes its cost a claim). Prints the CPU seconds of this thread and of the PostgreSQL
server (embedded, its own: every process under its postmaster, read from /proc)."""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hashcart.bench.live_sale import NETWORK_FORMAT, LiveSaleConfig, _open_shop, _provisional
from hashcart.bench.postgres import bench_server
from hashcart.bootstrap import open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.services.live_ingest import LiveIngest
from hashcart.services.sales import settle_sales
from hashcart.synthetic.sale import sale_arrivals, sale_payload, sale_posts, start_us_of

TICK_US = 50_000


def _server_cpu(database: str) -> float:
    """CPU seconds of every process of the PostgreSQL server that serves `database`."""
    stats = {}
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            command = (folder / "cmdline").read_bytes()
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[folder.name] = (command, fields)
    parents = {fields[1] for command, fields in stats.values() if database.encode() in command}
    ticks = sum(
        int(fields[11]) + int(fields[12])
        for pid, (_, fields) in stats.items()
        if fields[1] in parents or pid in parents
    )
    return ticks / os.sysconf("SC_CLK_TCK")


def main(seconds: float, rate: int) -> None:
    config = LiveSaleConfig(rate=rate, seconds=seconds)
    arrivals = sale_arrivals(rate, seconds, config.items, config.shoppers, config.seed)
    with bench_server(None) as server, server.database("cost") as url:
        start = datetime.now(UTC).replace(microsecond=0)
        clock = FixedClock(start)
        app = open_app(Settings().model_copy(update={"database_url": url}), clock)
        try:
            _open_shop(app, config)
            posts = sale_posts()
            payloads = [sale_payload(a, start_us_of(start), posts) for a in arrivals]
            sink, shop = LiveIngest(app), app.shop()
            size = app.settings.ingest_batch_size
            database = url.rsplit("/", 1)[-1].split("?")[0]
            server_before, before = _server_cpu(database), time.thread_time()
            index, now_us, beat_us = 0, 0, 1_000_000
            while index < len(arrivals) or now_us < (seconds + 4) * 1_000_000:
                now_us += TICK_US
                clock.advance(timedelta(microseconds=TICK_US))
                by_network: dict[str, list[bytes]] = defaultdict(list)
                while index < len(arrivals) and arrivals[index].arrives_us <= now_us:
                    by_network[arrivals[index].network].append(payloads[index])
                    index += 1
                for network, batch in by_network.items():
                    for at in range(0, len(batch), size):
                        chunk = batch[at : at + size]
                        sink.ingest("cost", NETWORK_FORMAT[network], chunk, fetch_parents=False)
                if now_us >= beat_us:
                    settle_sales(app.unit_of_work, shop, clock, skip_busy=True)
                    beat_us += 1_000_000
            python = time.thread_time() - before
            postgres = _server_cpu(database) - server_before
            each = 1000 / len(arrivals)
            print(
                f"{len(arrivals):,} deliveries, {_provisional(app)} left provisional: "
                f"python {python:.2f} s ({python * each:.3f} ms a claim), postgresql "
                f"{postgres:.2f} s ({postgres * each:.3f} ms), together "
                f"{(python + postgres) * each:.3f} ms a claim"
            )
        finally:
            app.engine.dispose()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(float(arguments[0]) if arguments else 5.0, int(arguments[1]) if arguments[1:] else 10_000)
