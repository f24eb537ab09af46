"""The latency bench (tests/bus/bench_latency.py) run small: posts published at a paced rate
to two workers are each committed, and make exactly what one process makes of them. Its
latencies are printed, never asserted (a shared CI machine's); docs/benchmarks.md has a full
run's."""

from __future__ import annotations

from pathlib import Path

from tests.bus.bench_latency import measure, truth_of
from tests.bus.support import with_history
from tests.databases import fresh_postgres_database

STORED = 300  # a small past (store_history): the full bench stores 100,000


def test_posts_published_at_a_steady_rate_are_each_committed_once(
    bus_url: str, postgres_server: str, tmp_path: Path
) -> None:
    database = fresh_postgres_database(postgres_server)
    figures, result, candidates = measure(
        bus_url, database, tmp_path, 0.3, 1000.0, 2, stored=STORED
    )
    print(figures)
    assert figures["published"] == 300
    truth = truth_of(candidates, f"sqlite:///{tmp_path / 'truth.db'}")
    assert result == with_history(truth, STORED)
    assert result.posts == truth.posts + STORED  # the past was stored, and kept apart
    # Most of them triggers, each acted once.
    assert result.actions - STORED // 2 > 0.6 * len(candidates)
    # Every paced post passed a commit that measured it (a redelivery may measure one twice).
    assert figures["observed"] >= figures["published"]
    # The batches committed are counted (at most one a post; the warm-up's are left out).
    assert 1 <= figures["batches"] <= figures["published"]
