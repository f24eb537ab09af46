"""Live-sale claims through the bus (issue 15, with issue 13's property): real `hashcart
worker` processes on the three-node NATS cluster and PostgreSQL settle a sale's claims,
published through the edge (services/bus_edge, the prefilter that keeps untagged replies to
a sale's posts). Whatever the arrival order across partitions and workers, the duplicates
(the same post published again under its `Nats-Msg-Id`) and a worker killed (SIGKILL) in the
middle, as long as each claim arrives inside its settle window the winners are exactly the
first claims by platform time (then post id) up to the stock, nothing is oversold, each
claim is recorded and told once; so the same claims always give the same winners.

The workers read their time from a file the test writes (tests/bus/clocked.py): time moves
in steps, never by waiting. Each step publishes the claims that have arrived by then, waits
until the workers committed them and settled what is due, then moves on; the workers learn
each example's sale (opened while they run) from the database, before the batch that
carries its first claim.

JetStream's message deduplication (`Nats-Msg-Id`) is documented at
https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hashcart.bus.client import BusSettings, close, connect
from hashcart.bus.publisher import Publisher
from hashcart.bus.streams import init_bus
from hashcart.config import Settings
from hashcart.domain.sales import rank_key
from hashcart.ports import NewSaleItem
from hashcart.services.bus_edge import Candidate, Edge
from hashcart.services.ingest import with_sale_replies
from hashcart.services.sales import open_sale
from hashcart.store import schema as t
from tests.bus.clocked import CLOCK_FILE, set_clock
from tests.bus.conftest import _wipe
from tests.bus.support import hashcart_env
from tests.bus.workers import Workers, state_of, wait_until_drained
from tests.peers.nats.cluster import Cluster
from tests.peers.nats.fixture import bus_url_of
from tests.polling import wait_until
from tests.sales.support import SETTLE, SaleShop, link_everyone, moment, shopper

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

pytestmark = pytest.mark.postgres
NETWORK = "mastodon"
MOST_CLAIMS = 8
# Short enough that the killed worker's partitions move and its unacknowledged batch comes
# back within seconds.
QUICK = {
    "bus_partitions": "4",
    "bus_lease_seconds": "3",
    "bus_ack_wait_seconds": "4",
    "bus_batch_size": "50",
    "claim_settle_seconds": str(int(SETTLE.total_seconds())),
}
_sales = itertools.count(1)
_posts = itertools.count(1)


class ClockedWorkers(Workers):
    """`hashcart worker` processes on the test's clock file (tests/bus/clocked.py)."""

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.logs / f"worker-{self.started}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bus.clocked", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.running.append(process)
        return process


@dataclass
class Fleet:
    shop: SaleShop
    bus: BusSettings
    clock_file: Path
    workers: ClockedWorkers
    killed: list[int] = field(default_factory=list)

    @property
    def bus_url(self) -> str:
        return ",".join(self.bus.servers)

    def at(self, when: datetime) -> None:
        """The workers' time (and the test shop's) to `when`."""
        set_clock(self.clock_file, when)
        self.shop.at(max(when, self.shop.clock.now()))


@pytest.fixture(scope="module")
def fleet(
    nats_cluster: Cluster | str, postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    from tests.databases import fresh_postgres_database

    folder = tmp_path_factory.mktemp("sale-bus")
    bus_url = bus_url_of(nats_cluster)
    asyncio.run(_wipe(bus_url))
    database_url = fresh_postgres_database(postgres_server)
    shop = SaleShop(database_url)
    link_everyone(shop, NETWORK, MOST_CLAIMS + 1)
    clock_file = folder / "clock.txt"
    set_clock(clock_file, shop.clock.now())
    env = hashcart_env(database_url, bus_url, **QUICK)
    env[CLOCK_FILE] = str(clock_file)
    bus = BusSettings.of(Settings(database_url=database_url, bus_url=bus_url, **QUICK))
    asyncio.run(_on_the_bus(bus, lambda js: init_bus(js, bus)))  # `hashcart bus init`
    workers = ClockedWorkers(env, folder)
    workers.start()
    workers.start()
    try:
        yield Fleet(shop, bus, clock_file, workers)
    finally:
        workers.stop_all()
        shop.app.engine.dispose()


@dataclass(frozen=True)
class Arrival:
    at: datetime
    post: str
    line: bytes


def _steps(arrivals: list[Arrival], made: dict[str, datetime]) -> list[list[Arrival]]:
    """The arrivals cut into steps, each published with the clock at its last arrival: a
    step ends before that clock would pass the settle window of a claim it carries, so a
    worker settling at that time has every claim due recorded already."""
    steps: list[list[Arrival]] = []
    earliest: datetime | None = None
    for arrival in arrivals:
        made_at = made[arrival.post]
        if steps and earliest is not None and arrival.at < min(earliest, made_at) + SETTLE:
            steps[-1].append(arrival)
            earliest = min(earliest, made_at)
        else:
            steps.append([arrival])
            earliest = made_at
    return steps


def _publish(fleet: Fleet, lines: list[bytes]) -> int:
    """The lines through the edge, as a listener's or `ingest --to-bus`'s: how many it
    kept (replies to the sale's post carry no tag: the prefilter must know the post)."""
    app = fleet.shop.app
    shop = app.shop()
    reader = app.payload_reader
    edge = Edge(reader, with_sale_replies(reader.prefilter(shop.every_word, shop.hosts), shop))
    kept: list[Candidate] = []
    for number, line in enumerate(lines, start=1):
        kept += edge.candidates("sale-claims.jsonl", line, number - 1)
    asyncio.run(_on_the_bus(fleet.bus, lambda js: Publisher(js, fleet.bus).publish(kept)))
    return len(kept)


async def _on_the_bus(bus: BusSettings, work: Callable[[JetStreamContext], Awaitable[Any]]) -> None:
    client = await connect(bus, name="sale claims test")
    try:
        await work(client.jetstream())
    finally:
        await close(client)


def _claims_of(fleet: Fleet, sale_id: int) -> list[dict[str, Any]]:
    return [c for c in fleet.shop.claims() if c["sale_id"] == sale_id]


def _settled_until(fleet: Fleet, sale_id: int, now: datetime) -> bool:
    """Every claim of the sale due at `now` is settled (a worker's beat settles them)."""
    due = now - SETTLE
    return all(
        c["status"] != "provisional" for c in _claims_of(fleet, sale_id) if c["posted_at"] <= due
    )


def _wait_for_the_workers(fleet: Fleet, sale_id: int, posts: int, now: datetime) -> None:
    wait_until_drained(fleet.bus_url, fleet.workers, deadline=90)
    wait_until(
        lambda: len(_claims_of(fleet, sale_id)) >= posts and _settled_until(fleet, sale_id, now),
        f"the workers recorded the sale's {posts} claims and settled those due",
        deadline=60,
    )


_claim = st.tuples(
    st.integers(0, 20),  # the claim's own time, in tenths of a second
    st.integers(0, 24),  # how late it arrives, in tenths (under the 3 s window)
    st.booleans(),  # published twice, under the same Nats-Msg-Id
    st.integers(0, 30),  # when the second copy comes, in tenths after the first
)


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,  # a fixed set of examples: CI's time is counted
    phases=[Phase.explicit, Phase.generate],  # no shrinking: an example costs seconds
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    claims=st.lists(_claim, min_size=2, max_size=MOST_CLAIMS),
    stock=st.integers(1, 3),
    order=st.randoms(use_true_random=False),
)
def test_workers_give_the_first_claims_by_platform_time_whatever_the_arrival(
    fleet: Fleet, claims: list[tuple[int, int, bool, int]], stock: int, order: Any
) -> None:
    sale_number = next(_sales)
    parent = str(9_100_000 + sale_number)
    base = moment(sale_number * 60)
    fleet.at(base)
    # Opened while the workers run: they learn its post before the batch of its first claim.
    sale = open_sale(
        fleet.shop.app.unit_of_work,
        f"bus sale {sale_number}",
        [(NETWORK, parent)],
        [NewSaleItem("12", "mug", stock)],
        24,
        base,
    )
    arrivals: list[Arrival] = []
    made: dict[str, datetime] = {}
    for number, (tenths, late, twice, again) in enumerate(claims):
        made_at = base + timedelta(seconds=tenths / 10)
        post = str(next(_posts) + 20_000_000)
        who = shopper(NETWORK, number + 1)
        minutes = (made_at - moment(0)).total_seconds() / 60
        line = who.reply(post, parent, "sold 12", minutes=minutes)
        made[post] = made_at
        arrivals.append(Arrival(made_at + timedelta(seconds=late / 10), post, line))
        if twice:
            arrivals.append(Arrival(made_at + timedelta(seconds=(late + again) / 10), post, line))
    # Arrival order, ties shuffled; within a step the partitions go in any order anyway.
    order.shuffle(arrivals)
    arrivals.sort(key=lambda arrival: arrival.at)
    steps = _steps(arrivals, made)

    seen: set[str] = set()
    for number, step in enumerate(steps):
        now = step[-1].at
        fleet.at(now)
        assert _publish(fleet, [arrival.line for arrival in step]) == len(step)
        if number == 0 and not fleet.killed:
            _kill_a_worker_mid_way(fleet)
        seen |= {arrival.post for arrival in step}
        _wait_for_the_workers(fleet, sale.id, len(seen), now)
    end = max(made.values()) + SETTLE + timedelta(seconds=1)
    fleet.at(end)
    _wait_for_the_workers(fleet, sale.id, len(made), end)

    mine = _claims_of(fleet, sale.id)
    assert sorted(c["post_id"] for c in mine) == sorted(made)  # each recorded once
    ranked = sorted(made, key=lambda post: rank_key(made[post], post, NETWORK))
    won = {c["post_id"] for c in mine if c["status"] == "held"}
    assert won == set(ranked[:stock])
    assert {c["status"] for c in mine} <= {"held", "waitlisted"}
    _check_told_once_and_held_once(fleet, sale.id, won, len(made))


def _kill_a_worker_mid_way(fleet: Fleet) -> None:
    """`kill -9` a worker once it has taken a message of the step, before the step is
    drained; another takes its place. Its unacknowledged batch comes back to whoever holds
    the partition next."""
    wait_until(
        lambda: sum(c["delivered"] for c in state_of(fleet.bus_url).values()) > 0,
        "a worker has taken a message",
        deadline=60,
    )
    victim = fleet.workers.running[0]
    fleet.killed.append(victim.pid)
    fleet.workers.kill(victim)
    fleet.workers.start()


def _check_told_once_and_held_once(fleet: Fleet, sale_id: int, won: set[str], claims: int) -> None:
    outbox = fleet.shop.outbox()
    mine = {c["post_id"] for c in _claims_of(fleet, sale_id)}
    told = [m for m in outbox if m["in_reply_to"] in mine]
    assert sorted(m["in_reply_to"] for m in told if m["reason"] == "claim_won") == sorted(won)
    # One message a claim: won, or waitlisted.
    assert sorted(m["in_reply_to"] for m in told) == sorted(mine)
    assert len(told) == claims
    holders = [f"sale:{c['id']}" for c in _claims_of(fleet, sale_id)]
    r = t.reservations
    with fleet.shop.app.engine.connect() as connection:
        held = connection.execute(
            select(r.c.holder, func.sum(r.c.quantity))
            .where(r.c.holder.in_(holders), r.c.status == "held")
            .group_by(r.c.holder)
        ).all()
    winners = {f"sale:{c['id']}" for c in _claims_of(fleet, sale_id) if c["post_id"] in won}
    # One unit held per winner and none for anyone else: nothing oversold.
    assert {holder: int(units) for holder, units in held} == dict.fromkeys(winners, 1)
