"""`hashcart bench --shape live-sale` (issue 13) at a tiny size on PostgreSQL: its checks hold
(no oversell, the winners the first claims by platform time, every claim settled and answered
once) and its JSON has the shape `docs/benchmarks.md` describes. Not its speed: that is the
machine's."""

from __future__ import annotations

import json
from typing import Any

import pytest

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


def test_the_live_sale_json_has_its_shape(tiny_run: dict[str, Any]) -> None:
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
    }
    assert tiny_run["shape"] == "live-sale"
    assert tiny_run["settle_seconds"] == 1
    assert set(tiny_run["paths"]) == {"hashcart", "naive"}
    for figures in tiny_run["paths"].values():
        assert set(figures) == PATH_FIELDS
    json.dumps(tiny_run)  # plain JSON all the way down


def test_live_sale_runs_alone() -> None:
    result = run_cli(["bench", "--shape", "live-sale", "--shape", "x"])
    assert result.exit_code == 2
    assert "live-sale runs on its own" in result.stderr


def test_live_sale_refuses_a_sqlite_url() -> None:
    result = run_cli(["bench", "--shape", "live-sale", "--database-url", "sqlite:///x.db"])
    assert result.exit_code == 2
    assert "runs on PostgreSQL" in result.stderr
