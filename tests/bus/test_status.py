"""`hashcart status [--json]` for an operator (the outbox's backlog, the oldest pending trigger,
the stream and each consumer's lag and holder), and the Prometheus metrics a worker serves on
`metrics_port` (the text exposition format, https://prometheus.io/docs/instrumenting/exposition_formats/)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.bus.support import (
    facts_of,
    hashcart_env,
    prepared_shop,
    run_hashcart,
    stream_files,
)
from tests.bus.workers import Workers, wait_until_drained
from tests.cli_runner import run_cli
from tests.peers.nats.cluster import free_port
from tests.polling import wait_until

PARTITIONS = 3


def test_status_without_a_bus_shows_the_database_alone(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    prepared_shop(database).engine.dispose()

    shown = run_cli(["status", "--json"], env={"HASHCART_DATABASE_URL": database})
    text = run_cli(["status"], env={"HASHCART_DATABASE_URL": database})

    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout) == {
        "database": {
            "outbox_queued": 0,
            "outbox_sending": 0,
            "oldest_queued_message": None,
            "pending_triggers": 0,
            "oldest_pending_trigger": None,
        },
        "bus": None,
    }
    assert "bus: none (bus_url is empty" in text.stdout


def test_status_before_bus_init_says_to_run_it(bus_url: str, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    shown = run_cli(
        ["status"], env={"HASHCART_DATABASE_URL": database, "HASHCART_BUS_URL": bus_url}
    )
    assert shown.exit_code == 2
    assert "run `hashcart bus init`" in shown.stderr


def test_status_shows_the_lag_then_the_backlog_and_the_worker_counts_in_its_metrics(
    bus_url: str, tmp_path: Path
) -> None:
    files = stream_files(tmp_path, 1000)
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    app = prepared_shop(database)
    port = free_port()
    env = hashcart_env(
        database,
        bus_url,
        bus_partitions=str(PARTITIONS),
        bus_lease_seconds="3",
        metrics_port=str(port),
    )
    run_hashcart(["bus", "init"], env)
    published = run_hashcart(["ingest", "--to-bus", *map(str, files)], env)
    kept = int(re.search(r"([\d,]+) kept", published).group(1).replace(",", ""))  # type: ignore[union-attr]

    before = json.loads(run_hashcart(["status", "--json"], env))
    assert before["bus"]["stream"]["messages"] == kept
    assert before["bus"]["stream"]["replicas"] == 3
    assert before["bus"]["stream"]["leader"] in {"n0", "n1", "n2"}
    assert sum(c["pending"] for c in before["bus"]["consumers"]) == kept
    assert {c["held_by"] for c in before["bus"]["consumers"]} == {None}

    workers = Workers(env, tmp_path)
    try:
        workers.start()
        wait_until_drained(bus_url, workers)
        after = json.loads(run_hashcart(["status", "--json"], env))
        wait_until(
            lambda: "hashcart_posts_consumed_total" in _metrics(port),
            "the worker serves its metrics",
        )
        wait_until(
            lambda: f"hashcart_posts_consumed_total {kept}.0" in _metrics(port),
            "the metrics count every post",
        )
        metrics = _metrics(port)
    finally:
        workers.stop_all()

    facts = facts_of(app)
    assert all(c["pending"] == c["ack_pending"] == 0 for c in after["bus"]["consumers"])
    holders = {c["held_by"] for c in after["bus"]["consumers"]}
    assert len(holders) == 1 and None not in holders  # one worker holds all three
    # Nothing dispatches here: every message the engine queued waits.
    assert after["database"]["outbox_queued"] == facts.outbox > 0
    assert after["database"]["oldest_queued_message"] is not None
    assert f"hashcart_cart_lines_total {float(facts.cart_lines)}" in metrics
    triggers = re.search(r"^hashcart_triggers_total (\S+)$", metrics, re.MULTILINE)
    # Every trigger acted on, and those whose parent never came (the stream's decoys).
    assert triggers is not None and float(triggers.group(1)) >= facts.actions
    assert "hashcart_batch_seconds_count" in metrics
    assert 'hashcart_consumer_pending{partition="0"}' in metrics


def _metrics(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return ""
