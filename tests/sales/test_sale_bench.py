"""`hashcart bench --shape live-sale` (issue 13) at a tiny size on PostgreSQL: its checks hold
(no oversell, the winners the first claims by platform time, every claim settled and answered
once), with one ingest process and with two on the same database, and its JSON has the shape
`docs/benchmarks.md` describes. Not its speed: that is the machine's."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from hashcart.bench.cpu import postmaster_of
from hashcart.bench.live_sale import ingest_share
from hashcart.synthetic.sale import sale_arrivals
from tests.cli_runner import run_cli

pytestmark = pytest.mark.postgres

PATH_FIELDS = {
    "path",
    "claims",
    "settled",
    "unsettled",
    "seconds",
    "settled_per_second",
    "winners",
    "won_p50",
    "won_p99",
    "won_p50_past_window",
    "won_p99_past_window",
    "answered_p50",
    "answered_p99",
    "late",
    "oversold_units",
    "not_first_by_time",
    "unanswered",
    "answered_twice",
    "correct",
}


@pytest.fixture(scope="module")
def tiny_run(postgres_server: str) -> dict[str, Any]:
    """Two seconds of 300 claims a second on 10 items of 5 units, settled after 1 s."""
    result = run_cli(
        [
            "bench",
            "--shape",
            "live-sale",
            "--seconds",
            "2",
            "--rate",
            "300",
            "--items",
            "10",
            "--stock",
            "5",
            "--database-url",
            postgres_server,
            "--json",
        ],
        env={"HASHCART_CLAIM_SETTLE_SECONDS": "1"},
    )
    assert result.exit_code == 0, result.stderr
    assert "live-sale bench on PostgreSQL at" in result.stderr
    run: dict[str, Any] = json.loads(result.stdout)
    return run


def test_the_live_sale_bench_checks_hold_on_postgresql(tiny_run: dict[str, Any]) -> None:
    ours = tiny_run["paths"]["hashcart"]
    assert ours["correct"] is True
    assert ours["oversold_units"] == 0
    assert ours["not_first_by_time"] == 0
    assert ours["unsettled"] == ours["unanswered"] == ours["answered_twice"] == 0
    assert ours["claims"] == ours["settled"] == tiny_run["claims"] == 600
    # Every unit of every item was won (far more claims than units), none twice.
    assert ours["winners"] == 10 * 5
    # The late ones (posted well before they arrived) are there to be checked.
    assert tiny_run["deliveries"] > tiny_run["claims"]
    assert ours["late"] > 0


def test_the_naive_baseline_ran_the_same_claims(tiny_run: dict[str, Any]) -> None:
    naive = tiny_run["paths"]["naive"]
    assert naive["oversold_units"] == 0  # the row lock holds; the order is arrival's
    assert naive["winners"] <= 10 * 5
    assert naive["claims"] + naive["unsettled"] >= tiny_run["claims"]


def test_the_live_sale_json_has_its_shape(tiny_run: dict[str, Any], postgres_server: str) -> None:
    assert set(tiny_run) == {
        "shape",
        "database",
        "rate",
        "seconds",
        "items",
        "stock",
        "settle_seconds",
        "deliveries",
        "claims",
        "goal_met",
        "paths",
        "ingest_processes",
        "cpu",
    }
    assert tiny_run["shape"] == "live-sale"
    assert tiny_run["settle_seconds"] == 1
    assert set(tiny_run["paths"]) == {"hashcart", "naive"}
    for figures in tiny_run["paths"].values():
        assert set(figures) == PATH_FIELDS
    # One ingest process by default: the bench's own, its CPU and the server's measured
    # (the server's when its processes are visible here: the embedded one's are).
    assert tiny_run["ingest_processes"] == 1
    assert set(tiny_run["cpu"]) == {"hashcart", "naive"}
    visible = postmaster_of(postgres_server) is not None
    for cpu in tiny_run["cpu"].values():
        assert set(cpu) == {"processes", "postgres"}
        assert len(cpu["processes"]) == 1 and cpu["processes"][0] > 0
        assert cpu["postgres"] > 0 if visible else cpu["postgres"] is None
    json.dumps(tiny_run)  # plain JSON all the way down


def test_two_ingest_processes_settle_every_claim_once_first_by_time(
    postgres_server: str,
) -> None:
    """Two spawned ingest processes (X and Bluesky in one, Mastodon in the other), each with
    its settle timer, on one database: every claim settled and answered once, no unit sold
    twice, the winners the first in-time claims by platform time."""
    result = run_cli(
        [
            "bench",
            "--shape",
            "live-sale",
            "--seconds",
            "1",
            "--rate",
            "400",
            "--items",
            "8",
            "--stock",
            "5",
            "--ingest-processes",
            "2",
            "--database-url",
            postgres_server,
            "--json",
        ],
        env={"HASHCART_CLAIM_SETTLE_SECONDS": "1"},
    )
    assert result.exit_code == 0, result.stderr
    assert "2 ingest processes ready" in result.stderr
    run: dict[str, Any] = json.loads(result.stdout)
    assert run["ingest_processes"] == 2
    processes = run["cpu"]["hashcart"]["processes"]
    assert len(processes) == 2 and all(seconds > 0 for seconds in processes)
    ours = run["paths"]["hashcart"]
    assert ours["claims"] == ours["settled"] == run["claims"] == 400
    assert ours["unsettled"] == ours["unanswered"] == ours["answered_twice"] == 0
    assert ours["oversold_units"] == 0
    assert ours["winners"] == 8 * 5
    assert ours["not_first_by_time"] == 0
    assert ours["late"] < ours["claims"]  # in-time claims were there to rank
    assert ours["correct"] is True


def test_ingest_shares_are_networks_then_authors() -> None:
    arrivals = sale_arrivals(1000, 2, 10, 50, seed=3)
    # Up to three processes, one network stays in one process.
    for processes in (1, 2, 3):
        shares = defaultdict(set)
        for arrival in arrivals:
            shares[arrival.network].add(ingest_share(arrival, processes))
        assert all(len(share) == 1 for share in shares.values())
        assert {s for share in shares.values() for s in share} == set(range(processes))
    # More: each author's deliveries in one process, every process handed some.
    by_author = defaultdict(set)
    for arrival in arrivals:
        by_author[(arrival.network, arrival.shopper)].add(ingest_share(arrival, 5))
    assert all(len(share) == 1 for share in by_author.values())
    assert {s for share in by_author.values() for s in share} == set(range(5))


def test_live_sale_runs_alone() -> None:
    result = run_cli(["bench", "--shape", "live-sale", "--shape", "x"])
    assert result.exit_code == 2
    assert "live-sale runs on its own" in result.stderr


def test_live_sale_refuses_a_sqlite_url() -> None:
    result = run_cli(["bench", "--shape", "live-sale", "--database-url", "sqlite:///x.db"])
    assert result.exit_code == 2
    assert "runs on PostgreSQL" in result.stderr
