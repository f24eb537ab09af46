"""`hashcart worker`: partitions taken by lease, batches run through the same engine and
committed, then each message acknowledged. The truth is what one process makes of the same
files with `hashcart ingest` today (tests/bus/support.facts_of).

JetStream's pull consumers and acknowledgements are documented at
https://docs.nats.io/using-nats/developer/develop_jetstream/consumers."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.bus.support import (
    facts_of,
    hashcart_env,
    ingest_files,
    prepared_shop,
    run_hashcart,
    stream_files,
)
from tests.bus.workers import (
    LEASE_POLL_SECONDS,
    Workers,
    lease_holders,
    live_workers,
    state_of,
    wait_until_drained,
)
from tests.polling import wait_until

PARTITIONS = 6
# Short enough that a killed worker's partitions move, and its unacknowledged batch comes
# back, within seconds.
QUICK = {
    "bus_partitions": str(PARTITIONS),
    "bus_lease_seconds": "3",
    "bus_ack_wait_seconds": "5",
    "bus_batch_size": "100",
}


BEAT_SECONDS = 30
SLOW_BEATS = {"bus_lease_seconds": str(3 * BEAT_SECONDS)}


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], object]:
    folder = tmp_path_factory.mktemp("stream")
    files = stream_files(folder, 3000)
    truth = prepared_shop(f"sqlite:///{folder / 'truth.db'}")
    ingest_files(truth, files)
    return files, facts_of(truth)


def test_two_workers_make_exactly_what_one_process_makes(
    bus_url: str, database_url: str, tmp_path: Path, stream: tuple[list[Path], object]
) -> None:
    files, truth = stream
    app = prepared_shop(database_url)
    env = hashcart_env(database_url, bus_url, **QUICK)
    run_hashcart(["bus", "init"], env)
    workers = Workers(env, tmp_path)
    try:
        workers.start()
        workers.start()
        run_hashcart(["ingest", "--to-bus", *map(str, files)], env)
        wait_until_drained(bus_url, workers)
        # The first worker took every partition before the second came; they end up shared,
        # each partition held by one of them (one key per partition in the lease bucket).
        wait_until(
            lambda: _shared(asyncio.run(lease_holders(bus_url))),
            "the two workers share the partitions",
            deadline=60,
            poll=LEASE_POLL_SECONDS,
        )
    finally:
        workers.stop_all()

    assert facts_of(app) == truth


def _shared(holders: dict[str, str]) -> bool:
    counts = Counter(holders.values())
    return len(holders) == PARTITIONS and sorted(counts.values()) == [3, 3]


def test_a_worker_that_joins_gets_its_share_at_once_not_at_the_next_beat(
    bus_url: str, tmp_path: Path
) -> None:
    # Beats every 30 s: without the workers' watch of the lease bucket, the first would hand
    # partitions back at its next beat and the second take them at its own, 30 s after it
    # said it was alive.
    env = hashcart_env(f"sqlite:///{tmp_path / 'shop.db'}", bus_url, **{**QUICK, **SLOW_BEATS})
    run_hashcart(["bus", "init"], env)
    workers = Workers(env, tmp_path)
    try:
        workers.start()
        wait_until(
            lambda: len(asyncio.run(lease_holders(bus_url))) == PARTITIONS,
            "the first worker holds every partition",
            deadline=60,
            poll=LEASE_POLL_SECONDS,
        )
        workers.start()
        wait_until(
            lambda: asyncio.run(live_workers(bus_url)) == 2,
            "the second worker says it is alive",
            deadline=60,
        )
        wait_until(
            lambda: _shared(asyncio.run(lease_holders(bus_url))),
            "the two workers share the partitions",
            deadline=BEAT_SECONDS * 2 / 3,
            poll=LEASE_POLL_SECONDS,
        )
    finally:
        workers.stop_all()


def test_a_worker_killed_mid_stream_hands_its_partitions_on_and_nothing_is_lost_or_doubled(
    bus_url: str, postgres_server: str, tmp_path: Path, stream: tuple[list[Path], object]
) -> None:
    from tests.databases import fresh_postgres_database

    files, truth = stream
    database_url = fresh_postgres_database(postgres_server)
    app = prepared_shop(database_url)
    env = hashcart_env(database_url, bus_url, **QUICK)
    run_hashcart(["bus", "init"], env)
    run_hashcart(["ingest", "--to-bus", *map(str, files)], env)
    workers = Workers(env, tmp_path)
    try:
        first = workers.start()
        wait_until(
            lambda: sum(c["delivered"] for c in state_of(bus_url).values()) > 0,
            "the first worker has taken a batch",
            deadline=60,
        )
        workers.kill(first)
        workers.start()
        wait_until_drained(bus_url, workers)
    finally:
        workers.stop_all()

    assert facts_of(app) == truth
