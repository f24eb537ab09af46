"""The chaos test of issue 15: a generated stream of at least 100,000 posts in the three
networks' shapes, with a known truth (what one process makes of it with `hashcart ingest`),
published through `hashcart ingest --to-bus` while the test kills -9, at moments a seeded
random generator picks, a worker (three times), the stream's leader node (then restarts it), a
dispatcher, and PostgreSQL itself (restarted on the same data). At the end every cart line,
action and engine message of the truth exists exactly once, none extra, and every X reply the
dispatchers sent reached the (loopback stand-in) network exactly once.

Size: HASHCART_CHAOS_POSTS posts per shape (default 34,000: 102,000 in all, about a minute
here); `HASHCART_CHAOS_POSTS=400000 pytest tests/bus/test_chaos.py` is the larger run
(README, Run at scale). HASHCART_CHAOS_SEED picks other moments."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hashcart.bootstrap import open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.outbox.dispatcher import build_senders, dispatch_once
from hashcart.store import schema as t
from tests.bus.own_postgres import OwnPostgres
from tests.bus.support import (
    differences,
    facts_of,
    hashcart,
    hashcart_env,
    ingest_files,
    prepared_shop,
    run_hashcart,
    stream_files,
)
from tests.bus.workers import Workers, wait_until_drained
from tests.databases import fresh_postgres_database
from tests.loopback import LiveServer
from tests.networks.x.stand_in import SHOP_USER_ID, USER_TOKEN, XStandIn
from tests.peers.nats.cluster import Cluster
from tests.polling import wait_until

POSTS_PER_SHAPE = int(os.environ.get("HASHCART_CHAOS_POSTS", "34000"))
SEED = int(os.environ.get("HASHCART_CHAOS_SEED", "15"))
SETTINGS = {
    "bus_partitions": "6",
    "bus_lease_seconds": "3",
    "bus_ack_wait_seconds": "5",
    "bus_batch_size": "200",
}


class Publisher(threading.Thread):
    """`hashcart ingest --to-bus` of each file in turn; a run that fails (PostgreSQL or the
    stream's leader was down as it started) runs again: publishing twice stores once."""

    def __init__(self, files: list[Path], env: dict[str, str], logs: Path) -> None:
        super().__init__(daemon=True)
        self.files, self.env, self.logs = files, env, logs
        self.runs: list[int] = []
        self.error: str | None = None

    def run(self) -> None:
        for path in self.files:
            for attempt in range(10):
                log = (self.logs / f"publish-{path.stem}-{attempt}.log").open("wb")
                process = hashcart(
                    ["ingest", "--to-bus", str(path)], self.env, stdout=log, stderr=log
                )
                code = process.wait(timeout=600)
                log.close()
                self.runs.append(code)
                if code == 0:
                    break
            else:
                self.error = f"publishing {path} failed 10 times: see {self.logs}"
                return


class Dispatchers:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        log = (self.logs / f"dispatch-{len(self.running)}-{time.monotonic_ns()}.log").open("wb")
        self.running.append(hashcart(["dispatch"], self.env, stdout=log, stderr=log))
        log.close()

    def kill_one(self) -> None:
        victim = self.running.pop(0)
        victim.kill()
        victim.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        self.running.clear()


def _stream_leader(url: str) -> str | None:
    async def ask() -> str | None:
        import nats

        client = await nats.connect(servers=url.split(","), connect_timeout=5)
        try:
            info = await client.jetstream().stream_info("HASHCART_POSTS")
            return info.cluster.leader if info.cluster else None
        finally:
            await client.close()

    try:
        return asyncio.run(ask())
    except Exception:  # electing
        return None


def _actions(app: Any) -> int:
    try:
        with app.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(t.actions)).scalar_one())
    except Exception:  # PostgreSQL is down right now
        return -1


@pytest.fixture
def chaos_postgres(tmp_path: Path) -> Iterator[OwnPostgres]:
    postgres = OwnPostgres(tmp_path / "pgdata")
    yield postgres
    postgres.stop()


def test_nothing_lost_or_doubled_when_workers_the_leader_a_dispatcher_and_postgres_die(
    own_cluster: Cluster, tmp_path: Path, chaos_postgres: OwnPostgres
) -> None:
    rng = random.Random(SEED)
    files = stream_files(tmp_path, POSTS_PER_SHAPE)
    truth_app = prepared_shop(f"sqlite:///{tmp_path / 'truth.db'}")
    ingest_files(truth_app, files)
    truth = facts_of(truth_app)
    assert truth.actions > 0 and truth.cart_lines > 0

    postgres = chaos_postgres
    database_url = fresh_postgres_database(postgres.url)
    app = prepared_shop(database_url)
    x = XStandIn(lambda: datetime.now(UTC))
    logs = tmp_path / "logs"
    logs.mkdir()
    with LiveServer(x.app) as x_server:
        env = hashcart_env(
            database_url,
            own_cluster.url,
            x_api_url=x_server.url,
            x_access_token=USER_TOKEN,
            x_shop_user_id=SHOP_USER_ID,
            **SETTINGS,
        )
        run_hashcart(["bus", "init"], env)
        workers, dispatchers = Workers(env, logs), Dispatchers(env, logs)
        publisher = Publisher(files, env, logs)
        try:
            workers.start()
            workers.start()
            dispatchers.start()
            dispatchers.start()
            publisher.start()

            def after(share: float) -> None:
                wait_until(
                    lambda: _actions(app) >= share * truth.actions,
                    f"{share:.0%} of the triggers acted on",
                    deadline=180,
                )

            # A worker, at a random moment.
            after(rng.uniform(0.05, 0.15))
            workers.kill(workers.running[0])
            workers.start()
            # A dispatcher.
            after(rng.uniform(0.2, 0.3))
            dispatchers.kill_one()
            dispatchers.start()
            # The stream's leader node, restarted once another leads.
            after(rng.uniform(0.35, 0.45))
            leader = _stream_leader(own_cluster.url)
            assert leader is not None
            own_cluster.kill(own_cluster.node_named(leader))
            wait_until(
                lambda: _stream_leader(own_cluster.url) not in (None, leader),
                "another node leads the stream",
                deadline=60,
            )
            own_cluster.start(own_cluster.node_named(leader))
            own_cluster.wait_healthy()
            # A worker again.
            after(rng.uniform(0.5, 0.6))
            workers.kill(workers.running[-1])
            workers.start()
            # PostgreSQL, restarted on the same data.
            after(rng.uniform(0.65, 0.75))
            postgres.kill()
            postgres.restart()
            # And a third worker death.
            after(rng.uniform(0.8, 0.9))
            workers.kill(workers.running[0])
            workers.start()

            publisher.join(timeout=600)
            assert publisher.error is None, publisher.error
            wait_until_drained(own_cluster.url, workers)
            wait_until(
                lambda: _actions(app) == truth.actions,
                "every trigger acted on",
                deadline=120,
            )
        finally:
            workers.stop_all()
            dispatchers.stop_all()

        # Replies a killed dispatcher left `sending` are claimed again once the claim's lease
        # (5 minutes) ran out: a dispatcher on a clock moved past it finishes them, first
        # looking on X for what the dead one may have sent.
        later = FixedClock(datetime.now(UTC) + timedelta(minutes=6))
        sweeper = open_app(Settings(database_url=database_url), later)
        senders = build_senders(
            open_app(
                Settings(
                    database_url=database_url,
                    x_api_url=x_server.url,
                    x_access_token=USER_TOKEN,
                    x_shop_user_id=SHOP_USER_ID,
                ),
                later,
            )
        )
        while dispatch_once(sweeper, {"x": senders["x"]}).handled:
            pass

    # The engine: exactly the truth, none lost, none doubled.
    assert facts_of(app) == truth, differences(app, truth_app)
    # The dispatchers: every X reply ended sent or failed, and X got each one once.
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox.c.status, t.outbox.c.in_reply_to, t.outbox.c.remote_id).where(
                t.outbox.c.network == "x"
            )
        ).all()
    statuses = Counter(row.status for row in rows)
    assert set(statuses) <= {"sent", "failed"}, statuses
    posted = Counter((post["referenced_tweets"][0]["id"], post["text"]) for post in x.timeline)
    assert all(count == 1 for count in posted.values())
    sent = [row for row in rows if row.status == "sent"]
    assert len(sent) == len(x.timeline) > 0
    assert {row.remote_id for row in sent} == {post["id"] for post in x.timeline}
    # The generated posts were published as their files' prefiltered share.
    assert publisher.runs.count(0) == len(files)
