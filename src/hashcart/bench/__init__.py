"""`hashcart bench`: posts per second from file to committed cart lines, per network shape,
beside baselines measured in the same run (these machines are noisy, so only same-run
comparisons mean anything)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from hashcart.bootstrap import App, open_app
from hashcart.clock import SystemClock
from hashcart.config import Settings
from hashcart.demo import feed_row
from hashcart.domain.posts import Network
from hashcart.networks.formats import Format
from hashcart.services.ingest import Ingestor
from hashcart.services.live_ingest import LiveIngest
from hashcart.sources import read_blocks
from hashcart.synthetic import BenchShape, bench_accounts, bench_stream, demo_catalog
from hashcart.views import queries

BENCH_HOST = "shop.example"
SHAPE_FORMAT: dict[BenchShape, Format] = {
    "x": Format.X,
    "mastodon": Format.MASTODON,
    "jetstream": Format.JETSTREAM,
}
SHAPE_NETWORK: dict[BenchShape, Network] = {
    "x": Network.X,
    "mastodon": Network.MASTODON,
    "jetstream": Network.BLUESKY,
}


@dataclass(frozen=True)
class ShapeResult:
    shape: str
    posts: int
    mean_bytes: float
    floor: float  # lines per second just reading the file
    json_loads: float  # posts per second with json.loads on every line
    hashcart: float  # posts per second from file to committed cart lines
    hashcart_validate_all: float  # the same, with every line parsed as JSON (--validate-all)
    # The live path: each post handed to the live sink on its own, as a listener or a webhook
    # does, each relevant one committed before the next (no batching to lean on).
    hashcart_live: float
    triggers: int
    lines_added: int

    @property
    def speedup(self) -> float:
        return self.hashcart / self.json_loads


def _rate(posts: int, seconds: list[float]) -> float:
    return posts / statistics.median(seconds)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _read_only(path: Path) -> None:
    """The floor: Python's own line iteration, doing nothing with the lines."""
    with path.open("rb") as stream:
        for _ in stream:
            pass


def _json_loads_every_line(path: Path) -> None:
    """The plain baseline: parse every line with the standard library."""
    loads = json.loads
    with path.open("rb") as stream:
        for line in stream:
            loads(line)


def _fresh_shop(database: Path, shape: BenchShape, seed: int) -> App:
    """A shop with the demo catalog and every bench shopper linked (not timed)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    app = open_app(Settings(database_url=f"sqlite:///{database}"), SystemClock())
    now = app.clock.now()
    network = SHAPE_NETWORK[shape]
    with app.unit_of_work() as uow:
        repo = uow.repository
        repo.upsert_products(feed_row(p).as_values(now) for p in demo_catalog(BENCH_HOST))
        for number, (account_id, handle) in enumerate(bench_accounts(shape, seed)):
            email = f"shopper{number}@bench.example"
            repo.add_customer(email, None, now)
            customer_id = repo.customer_id(email)
            assert customer_id is not None
            repo.add_link(customer_id, network, account_id, handle, now)
    return app


def _ingest(app: App, path: Path, validate_all: bool = False) -> int:
    ingestor = Ingestor(
        app.unit_of_work,
        app.shop(),
        app.clock,
        reader=app.payload_reader,
        validate_all=validate_all,
    )
    with path.open("rb") as stream:
        ingestor.ingest_blocks(str(path), read_blocks(stream))
    return ingestor.stats.triggers


def _ingest_live(app: App, path: Path, shape: BenchShape) -> int:
    sink = LiveIngest(app)
    fmt = SHAPE_FORMAT[shape]
    ingest = sink.ingest
    with path.open("rb") as stream:
        for line in stream:
            ingest("bench-live", fmt, (line,), fetch_parents=False)
    return sink.stats.triggers


def bench_shape(
    shape: BenchShape, posts: int, runs: int, workdir: Path, seed: int = 1
) -> ShapeResult:
    data = workdir / f"{shape}.jsonl"
    with data.open("wb") as out:
        for line in bench_stream(shape, posts, seed=seed, host=BENCH_HOST):
            out.write(line + b"\n")
    floor: list[float] = []
    baseline: list[float] = []
    ours: list[float] = []
    ours_validating: list[float] = []
    live: list[float] = []
    triggers = lines_added = 0
    for _ in range(runs):
        floor.append(_timed(lambda: _read_only(data)))
        baseline.append(_timed(lambda: _json_loads_every_line(data)))
        for validate_all, times in ((False, ours), (True, ours_validating)):
            app = _fresh_shop(workdir / f"{shape}.db", shape, seed)
            started = time.perf_counter()
            triggers = _ingest(app, data, validate_all)
            times.append(time.perf_counter() - started)
            with app.engine.connect() as connection:
                counted = queries.counts(connection)
            lines_added = counted["cart_lines"] + counted["wishlist_entries"]
            app.engine.dispose()
        app = _fresh_shop(workdir / f"{shape}-live.db", shape, seed)
        started = time.perf_counter()
        live_triggers = _ingest_live(app, data, shape)
        live.append(time.perf_counter() - started)
        app.engine.dispose()
        # The same stream through either door does the same work.
        assert live_triggers == triggers, (live_triggers, triggers)
    return ShapeResult(
        shape,
        posts,
        data.stat().st_size / posts,
        _rate(posts, floor),
        _rate(posts, baseline),
        _rate(posts, ours),
        _rate(posts, ours_validating),
        _rate(posts, live),
        triggers,
        lines_added,
    )


def run_bench(
    shapes: Iterable[BenchShape],
    posts: int,
    runs: int,
    workdir: Path,
    on_result: Callable[[ShapeResult], None] | None = None,
) -> list[ShapeResult]:
    results = []
    for shape in shapes:
        result = bench_shape(shape, posts, runs, workdir)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
