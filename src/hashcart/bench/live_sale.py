"""`hashcart bench --shape live-sale` (issue 13, "Correctness under load"): a live sale's
burst of claims on PostgreSQL, through the listeners' door, beside the obvious way.

**hashcart**: claims arrive at `rate` a second for `seconds` (synthetic/sale: the three
networks' payloads, some late, some twice) and are handed to the live sink
(services/live_ingest.LiveIngest, as the listeners and webhooks hand them: each call a batch
through the unit of work, the claim handler recording the claims), while listen's settle
timer (services/sales.SettleTimer) settles them beside it, its passes first
(services/settle_first: the sink's next call waits while a pass commits its winners). The feed then
waits until every claim is settled. With `ingest_processes` N above 1 the path runs in N
spawned processes, as N listeners of one shop would: each is handed its share of the same
feed (`ingest_share`: by network up to 3, else by the author, so one shopper's posts stay in
one process), ingests and settles it with its own settle timer, all on the same database,
and the figures are taken over all of them as for one.

**naive**: the same claims in the same arrival order, each in its own transaction: lock the
item's row, count its holds, hold a unit or waitlist, queue the reply. It serves claims as
they arrive, not by the platform's time: the check says how often that picks other winners.

Each claim's answer is queued in the transaction that settles it; that transaction's commit
is timed (the clock's readings taken inside it, stamped with the moment the call that ran it
returned), so "queued" means visible to the dispatcher. The checks read the database: no
item's holds over its stock, no product's reservations over its count, every claim settled
and answered once, and the winners of each item the first claims by platform time
(domain/sales.rank_key) among those that reached the database inside their settle window
(the rest are late by the rule: they may still win what is left, never a settled slot).
"""

from __future__ import annotations

import gc
import multiprocessing
import statistics
import threading
import time
import traceback
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from hashcart.bench.cpu import postgres_cpu_seconds, postmaster_of
from hashcart.bench.postgres import BenchServer
from hashcart.bootstrap import App, open_app
from hashcart.clock import SystemClock
from hashcart.config import Settings
from hashcart.domain.messages import Reason, SaleFacts
from hashcart.domain.posts import Post
from hashcart.domain.sales import parse_claim, rank_key
from hashcart.networks.formats import Format
from hashcart.ports import NewClaim, NewSaleItem, Sale
from hashcart.services.catalog import FeedRow
from hashcart.services.live_ingest import LiveIngest
from hashcart.services.notify import Notices
from hashcart.services.sales import SettleTimer, invoice_url, open_sale
from hashcart.services.settle_first import SettleFirst
from hashcart.services.shop import Shop
from hashcart.store import schema as t
from hashcart.store.database import write_transaction
from hashcart.store.unit_of_work import SqlUnitOfWork
from hashcart.synthetic.sale import (
    SALE_NETWORKS,
    SaleArrival,
    sale_arrivals,
    sale_payload,
    sale_post_id,
    sale_posts,
    sale_shopper,
    start_us_of,
)

__all__ = [
    "LiveSaleConfig",
    "LiveSaleResult",
    "PathCpu",
    "PathFigures",
    "ingest_share",
    "run_live_sale",
]

BENCH_HOST = "shop.example"
NETWORK_FORMAT = {"x": Format.X, "mastodon": Format.MASTODON, "bluesky": Format.JETSTREAM}
# The feed hands over what has arrived every TICK seconds at most (a listener's frames).
TICK = 0.05
# The share of the shoppers linked to a shop account (the others are asked to link).
LINKED_SHARE = 0.9
# How fast the feed's payloads are assumed to reach ingest processes through their pipes
# when the feed's start is chosen (bytes a second): about half of what a spawned process
# took in, unpickled, at load 8 (115 MB/s of 784-byte payloads). A process handed its share
# after the start says so (`_run_hashcart_processes`).
HANDOVER_BYTES_PER_SECOND = 50_000_000


@dataclass(frozen=True)
class LiveSaleConfig:
    rate: int = 10_000
    seconds: float = 60.0
    items: int = 100
    stock: int = 20
    seed: int = 1
    # Shoppers per network (most of them linked to a shop account).
    shoppers: int = 1000
    # How long past the feed the bench waits for the last claims to settle.
    drain_seconds: float = 120.0
    # A path that falls behind is handed claims until the feed's time plus this, no longer
    # (the naive one may never catch up); what it never got counts as unsettled.
    overtime: float = 60.0
    # The hashcart path's ingest processes (1: in the bench's own process, as before).
    ingest_processes: int = 1


@dataclass
class PathFigures:
    """What one path did, as the database shows it afterwards."""

    path: str
    claims: int  # distinct claims recorded
    settled: int
    unsettled: int
    seconds: float  # first arrival to the last settle's commit
    settled_per_second: float
    winners: int
    won_p50: float | None  # arrival to the winner's reply queued (s)
    won_p99: float | None
    won_p50_past_window: float | None  # the same minus claim_settle_seconds
    won_p99_past_window: float | None
    answered_p50: float | None  # arrival to any claim's answer queued (s)
    answered_p99: float | None
    late: int  # claims that reached the database after their settle window
    oversold_units: int
    not_first_by_time: int  # in-time claims whose outcome the ranking rule gives otherwise
    unanswered: int  # settled claims without a queued answer
    answered_twice: int

    @property
    def correct(self) -> bool:
        return (
            self.oversold_units == 0
            and self.not_first_by_time == 0
            and self.unanswered == 0
            and self.answered_twice == 0
            and self.unsettled == 0
        )


@dataclass
class PathCpu:
    """CPU seconds a path took while its feed ran and drained: each process that ingested
    (the bench's own for one), and the PostgreSQL server's (None when it runs elsewhere)."""

    processes: list[float]
    postgres: float | None


@dataclass
class LiveSaleResult:
    database: str
    rate: int
    seconds: float
    items: int
    stock: int
    settle_seconds: float
    deliveries: int  # payloads handed over, redeliveries included
    claims: int  # distinct claims
    paths: list[PathFigures] = field(default_factory=list)
    ingest_processes: int = 1
    cpu: dict[str, PathCpu] = field(default_factory=dict)

    @property
    def goal_met(self) -> bool:
        """Issue 13's goal: every claim settled, p99 under 1 s past the settle window."""
        ours = self.paths[0]
        return (
            ours.unsettled == 0
            and ours.claims == self.claims
            and ours.won_p99_past_window is not None
            and ours.won_p99_past_window < 1.0
        )

    def check_line(self) -> str:
        """The end-of-run check, in words."""
        ours = self.paths[0]

        def said(good: bool) -> str:
            return "ok" if good else "FAILED"

        answered = ours.unsettled == ours.unanswered == ours.answered_twice == 0
        goal = "met" if self.goal_met else "not met"
        return (
            f"check (hashcart): no oversell {said(ours.oversold_units == 0)}; winners = first "
            f"claims by platform time {said(ours.not_first_by_time == 0)}; every claim settled "
            f"and answered once {said(answered)}; goal (all settled, p99 under 1 s past the "
            f"settle window) {goal}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "shape": "live-sale",
            "database": self.database,
            "rate": self.rate,
            "seconds": self.seconds,
            "items": self.items,
            "stock": self.stock,
            "settle_seconds": self.settle_seconds,
            "deliveries": self.deliveries,
            "claims": self.claims,
            "goal_met": self.goal_met,
            "paths": {p.path: {**asdict(p), "correct": p.correct} for p in self.paths},
            "ingest_processes": self.ingest_processes,
            "cpu": {path: asdict(cpu) for path, cpu in self.cpu.items()},
        }


# --- when a transaction's work became visible ---


class _Stamps:
    """The clock's readings taken in each thread since its last `commit`, and the moment each
    was committed (the return of the call that took it: its transaction had committed)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.committed: dict[datetime, datetime] = {}

    def taken(self, moment: datetime) -> None:
        readings = getattr(self._local, "readings", None)
        if readings is None:
            readings = self._local.readings = []
        readings.append(moment)

    def commit(self) -> None:
        done = datetime.now(UTC)
        for moment in getattr(self._local, "readings", ()):
            self.committed[moment] = done
        self._local.readings = []


class _StampingClock(SystemClock):
    def __init__(self, stamps: _Stamps) -> None:
        self.stamps = stamps

    def now(self) -> datetime:
        moment = super().now()
        self.stamps.taken(moment)
        return moment


class _StampedUnitOfWork(SqlUnitOfWork):
    """A unit of work whose commit stamps the readings its thread took before it: a settle
    step commits its winners before its waitlisted (services/sales.settle_winners_first),
    and the winners' answers are queued at the first commit, not at the call's return."""

    def __init__(self, app: App, stamps: _Stamps, *, read_only: bool = False) -> None:
        super().__init__(app.engine, read_only=read_only)
        self.stamps = stamps

    def __exit__(self, *raised: Any) -> None:
        super().__exit__(*raised)
        if raised[0] is None:  # committed
            self.stamps.commit()


def _stamp_commits(app: App, stamps: _Stamps) -> None:
    """The app's units of work stamp their commits (the bench's own app: its store is the
    built-in one, so a plain SqlUnitOfWork is what `App.unit_of_work` makes)."""
    assert app.settings.store == "builtin"

    def stamped(*, read_only: bool = False) -> SqlUnitOfWork:
        return _StampedUnitOfWork(app, stamps, read_only=read_only)

    vars(app)["unit_of_work"] = stamped


class _StampedSettleTimer(SettleTimer):
    """Listen's settle step, its commits stamped; its passes go before the sink's batches
    (`first`, as `hashcart listen` wires them)."""

    def __init__(self, app: App, stamps: _Stamps, first: SettleFirst) -> None:
        super().__init__(app.unit_of_work, app.shop, app.clock, first=first)
        self.stamps = stamps

    def beat(self) -> None:
        try:
            super().beat()
        finally:
            self.stamps.commit()


# --- the shop ---


def _open_shop(app: App, config: LiveSaleConfig) -> Sale:
    """The sale's products (one per item, counted stock), its shoppers (most linked) and the
    sale on one post per network (not timed)."""
    now = app.clock.now()
    with app.unit_of_work() as uow:
        repo = uow.repository
        repo.upsert_products(
            FeedRow(
                f"live-{n}",
                f"Live item {n}",
                f"https://{BENCH_HOST}/products/live-{n}",
                Decimal("24.00"),
                "USD",
                "in_stock",
                stock=config.stock,
                stock_given=True,
            ).as_values(now)
            for n in range(1, config.items + 1)
        )
    # The shoppers in two statements (one by one, thousands took a minute on a busy machine).
    linked = int(config.shoppers * LINKED_SHARE)
    with write_transaction(app.engine) as connection:
        emails = [
            f"{network}-buyer{number}@bench.example"
            for network in SALE_NETWORKS
            for number in range(linked)
        ]
        connection.execute(
            insert(t.customers), [{"email": email, "created_at": now} for email in emails]
        )
        ids = {
            email: customer
            for email, customer in connection.execute(select(t.customers.c.email, t.customers.c.id))
        }
        links = []
        for network in SALE_NETWORKS:
            for number in range(linked):
                account, handle = sale_shopper(network, number)
                customer = ids[f"{network}-buyer{number}@bench.example"]
                links.append(
                    {
                        "customer_id": customer,
                        "network": network,
                        "account_id": account,
                        "handle": handle,
                        "created_at": now,
                    }
                )
        connection.execute(insert(t.account_links), links)
    posts = sale_posts()
    return open_sale(
        app.unit_of_work,
        "Bench live",
        [(network, posts.key(network)) for network in SALE_NETWORKS],
        [NewSaleItem(str(n), f"live-{n}", config.stock, None) for n in range(1, config.items + 1)],
        24,
        now,
    )


# --- the feed ---


@dataclass
class _Feed:
    """The arrivals, handed over in real time; `arrived` is each claim's first handover.
    Their payloads are made before the clock starts (`_made_feed`): a network makes them,
    not hashcart, and making them as they arrived took about a tenth of the path's thread;
    both paths get the same."""

    arrivals: list[SaleArrival]
    start_us: int
    # Seconds from the start after which nothing more is handed over (a path behind).
    limit: float
    arrived: dict[int, datetime] = field(default_factory=dict)
    began: float = 0.0
    payloads: list[bytes] = field(default_factory=list)

    def overdue(self) -> bool:
        return time.perf_counter() - self.began > self.limit

    def ticks(self) -> Iterator[list[tuple[SaleArrival, bytes]]]:
        """What has arrived since the last tick, with its payload. The first tick waits
        for the moment the payloads count from (`start_us`)."""
        wait = self.start_us / 1_000_000 - time.time()
        if wait > 0:
            time.sleep(wait)
        began = self.began = time.perf_counter()
        index = 0
        while index < len(self.arrivals):
            elapsed_us = (time.perf_counter() - began) * 1_000_000
            if self.overdue():
                return
            end = index
            while end < len(self.arrivals) and self.arrivals[end].arrives_us <= elapsed_us:
                end += 1
            if end == index:
                wait = (self.arrivals[index].arrives_us - elapsed_us) / 1_000_000
                time.sleep(min(max(wait, 0.001), TICK))
                continue
            now = datetime.now(UTC)
            batch = []
            for at in range(index, end):
                arrival = self.arrivals[at]
                self.arrived.setdefault(arrival.index, now)
                batch.append((arrival, self.payloads[at]))
            index = end
            yield batch
            spent = time.perf_counter() - began - elapsed_us / 1_000_000
            if spent < TICK:
                time.sleep(TICK - spent)


def _made_feed(arrivals: list[SaleArrival], limit: float, *, handed_over: bool = False) -> _Feed:
    """The feed with every payload made, its clock starting a moment after they are: the
    payloads' times count from that moment, so it is chosen before they are made (from the
    time the first thousand took, with room to spare) and they are made again should the
    machine be slower than that. `handed_over`: the payloads go to ingest processes
    through pipes before the start, which the room allows for too."""
    posts = sale_posts()
    sample = arrivals[:1000]
    began = time.perf_counter()
    sample_bytes = sum(len(sale_payload(arrival, 0, posts)) for arrival in sample)
    each = (time.perf_counter() - began) / max(len(sample), 1)
    handover = 0.0
    if handed_over:
        mean_bytes = sample_bytes / max(len(sample), 1)
        handover = 1.0 + mean_bytes * len(arrivals) / HANDOVER_BYTES_PER_SECOND
    while True:
        room = 2 * each * len(arrivals) + 1.0 + handover
        start = start_us_of(datetime.now(UTC) + timedelta(seconds=room))
        payloads = [sale_payload(arrival, start, posts) for arrival in arrivals]
        if start_us_of(datetime.now(UTC)) < start:
            return _Feed(arrivals, start, limit, payloads=payloads)
        each *= 2


def _run_hashcart(
    app: App, feed: _Feed, stamps: _Stamps, config: LiveSaleConfig, say: Callable[[str], None]
) -> None:
    sink = LiveIngest(app)
    sink.settle_first = SettleFirst()
    timer = _StampedSettleTimer(app, stamps, sink.settle_first)
    timer.start()
    try:
        size = app.settings.ingest_batch_size
        for batch in feed.ticks():
            by_network: dict[str, list[bytes]] = defaultdict(list)
            for arrival, payload in batch:
                by_network[arrival.network].append(payload)
            for network, payloads in by_network.items():
                for start in range(0, len(payloads), size):
                    if feed.overdue():
                        break
                    sink.ingest(
                        "bench-live-sale",
                        NETWORK_FORMAT[network],
                        payloads[start : start + size],
                        fetch_parents=False,
                    )
                    stamps.commit()
        say("hashcart: the feed is over; waiting for the last claims to settle")
        deadline = time.monotonic() + app.settings.claim_settle_seconds + config.drain_seconds
        while time.monotonic() < deadline and _provisional(app) > 0:
            time.sleep(0.2)
    finally:
        timer.stop()


# --- several ingest processes ---


def ingest_share(arrival: SaleArrival, processes: int) -> int:
    """Which of `processes` ingest processes is handed `arrival`: as one listener a network
    when there are no more processes than networks (two: X and Bluesky in one, Mastodon in
    the other), else by a stable hash of the author's account, so each shopper's posts,
    redeliveries included, stay in one process in their order."""
    if processes <= len(SALE_NETWORKS):
        return SALE_NETWORKS.index(arrival.network) % processes
    account, _ = sale_shopper(arrival.network, arrival.shopper)
    return zlib.crc32(f"{arrival.network} {account}".encode()) % processes


@dataclass
class _ShareReport:
    """What one ingest process sends back: its CPU, how long before the feed's start its
    payloads reached it, and its feed's handovers and its commits' stamps."""

    cpu: float
    margin: float
    arrived: dict[int, datetime]
    committed: dict[datetime, datetime]


def _ingest_process(
    connection: Any, values: dict[str, Any], config: LiveSaleConfig, number: int
) -> None:
    """One spawned ingest process: it opens the app on the bench's database and makes its
    share of the arrivals, says it is ready, is handed its payloads and the feed's start,
    then ingests and settles them as the one-process path does and sends its report.
    `values`: the bench's settings as values (their class may be local to `load_settings`,
    which pickle cannot name), validated again here without reading the environment."""
    app: App | None = None
    try:
        stamps = _Stamps()
        app = open_app(Settings.model_validate(values), _StampingClock(stamps))
        _stamp_commits(app, stamps)
        arrivals = sale_arrivals(
            config.rate, config.seconds, config.items, config.shoppers, config.seed
        )
        mine = [a for a in arrivals if ingest_share(a, config.ingest_processes) == number]
        del arrivals
        gc.freeze()  # as the CLI does once imported (hashcart.cli.freeze_imports)
        connection.send(("ready", len(mine)))
        start_us, limit, payloads = connection.recv()
        margin = start_us / 1_000_000 - time.time()
        feed = _Feed(mine, start_us, limit, payloads=payloads)
        began = time.process_time()
        _run_hashcart(app, feed, stamps, config, lambda _: None)
        cpu = time.process_time() - began
        connection.send(("done", _ShareReport(cpu, margin, feed.arrived, stamps.committed)))
    except BaseException:
        connection.send(("failed", traceback.format_exc()))
        raise
    finally:
        if app is not None:
            app.engine.dispose()
        connection.close()


def _answer(connection: Any, expected: str) -> Any:
    kind, value = connection.recv()
    if kind != expected:
        raise RuntimeError(f"an ingest process failed:\n{value}")
    return value


def _run_hashcart_processes(
    settings: Settings,
    config: LiveSaleConfig,
    arrivals: list[SaleArrival],
    stamps: _Stamps,
    postmaster: int | None,
    say: Callable[[str], None],
) -> tuple[_Feed, PathCpu]:
    """The hashcart path in `config.ingest_processes` spawned processes on the database
    `settings` names (its sale opened): the feed made here, each share handed to its
    process, their handovers and stamps gathered into the feed and `stamps`. A reading of
    the same microsecond in two processes keeps the later commit (a latency counted long,
    never short)."""
    count = config.ingest_processes
    spawn = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    try:
        for number in range(count):
            ours, theirs = spawn.Pipe()
            process = spawn.Process(
                target=_ingest_process,
                args=(theirs, settings.model_dump(), config, number),
                name=f"hashcart-bench-ingest-{number}",
                daemon=True,
            )
            process.start()
            theirs.close()
            pipes.append(ours)
            processes.append(process)
        sizes = [_answer(pipe, "ready") for pipe in pipes]
        shown = " + ".join(f"{size:,}" for size in sizes)
        say(f"hashcart: {count} ingest processes ready, with {shown} deliveries")
        feed = _made_feed(arrivals, config.seconds + config.overtime, handed_over=True)
        shares: list[list[bytes]] = [[] for _ in range(count)]
        for arrival, payload in zip(arrivals, feed.payloads, strict=True):
            shares[ingest_share(arrival, count)].append(payload)
        postgres = _PostgresCpu(postmaster)
        for pipe, share in zip(pipes, shares, strict=True):
            pipe.send((feed.start_us, feed.limit, share))
        del shares
        reports: list[_ShareReport] = [_answer(pipe, "done") for pipe in pipes]
        postgres_spent = postgres.spent()
        for process in processes:
            process.join()
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
        for pipe in pipes:
            pipe.close()
    late = [round(-r.margin, 3) for r in reports if r.margin < 0]
    if late:
        say(f"hashcart: payloads reached ingest processes after the feed's start by {late} s")
    for report in reports:
        feed.arrived.update(report.arrived)  # each claim's deliveries are in one share
        for moment, done in report.committed.items():
            known = stamps.committed.get(moment)
            stamps.committed[moment] = done if known is None else max(known, done)
    return feed, PathCpu([round(r.cpu, 2) for r in reports], postgres_spent)


class _PostgresCpu:
    """The PostgreSQL server's CPU seconds from its making to `spent` (None: not visible)."""

    def __init__(self, postmaster: int | None) -> None:
        self.postmaster = postmaster
        self.began = postgres_cpu_seconds(postmaster) if postmaster else None

    def spent(self) -> float | None:
        if self.postmaster is None or self.began is None:
            return None
        now = postgres_cpu_seconds(self.postmaster)
        return None if now is None else round(now - self.began, 2)


def _provisional(app: App) -> int:
    sc = t.sale_claims
    with app.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(sc).where(sc.c.status == "provisional")
            ).scalar_one()
        )


def _run_naive(app: App, feed: _Feed, stamps: _Stamps, config: LiveSaleConfig, sale: Sale) -> None:
    """One transaction a claim, in arrival order, each stamped when it commits."""
    reader = app.payload_reader
    shop = app.shop()
    items = {item.number: item for item in sale.items}
    for batch in feed.ticks():
        for arrival, payload in batch:
            if feed.overdue():
                return
            for event in reader.decode(payload, NETWORK_FORMAT[arrival.network]):
                if isinstance(event, Post):
                    _naive_claim(app, shop, sale, items, event)
            stamps.commit()


def _naive_claim(app: App, shop: Shop, sale: Sale, items: dict[str, Any], post: Post) -> None:
    claim = parse_claim(post.text, shop.claim_words, shop.max_quantity)
    if claim is None or claim.item not in items:
        return
    item = items[claim.item]
    with app.unit_of_work() as uow:
        repo = uow.repository
        now = app.clock.now()
        locked = repo.sales.lock_item(item.id)
        new = NewClaim(
            sale.id,
            post.network,
            post.post_id,
            post.author_id,
            post.author_handle,
            claim.action,
            claim.item,
            claim.words,
            claim.quantity,
            post.created_at,
        )
        if not repo.sales.add_claims([new], now):
            return  # delivered before
        (mine,) = repo.sales.claims_of_item(item.id, ("provisional",))
        held = sum(c.quantity for c in repo.sales.claims_of_item(item.id, ("held", "paid")))
        customer = repo.customer_for_account(post.network, post.author_id)
        contact = repo.contacts_for_accounts([(post.network, post.author_id)])
        notices = Notices(shop)
        facts: dict[str, Any] = {}
        if held + mine.quantity <= locked.stock and repo.sales.hold_stock(
            mine.id, item.product_id, mine.quantity, now, now + timedelta(hours=sale.hold_hours)
        ):
            values: dict[str, Any] = {"status": "held", "product_id": item.product_id}
            reason = Reason.CLAIM_WON if customer is not None else Reason.LINK_NEEDED
            if customer is not None:
                invoice = repo.sales.invoice_for(sale.id, customer, now)
                values.update(customer_id=customer, invoice_id=invoice)
                facts["link"] = invoice_url(shop, invoice)
            repo.sales.update_claim(mine.id, settled_at=now, **values)
        else:
            repo.sales.update_claim(mine.id, status="waitlisted", settled_at=now)
            reason = Reason.CLAIM_WAITLISTED
            facts["place"] = 1
        notices.tell(
            post.network,
            post.author_id,
            post.author_handle,
            post.post_id,
            reason,
            contact.get((post.network, post.author_id)),
            title=shop.title(item.product_id),
            sale=SaleFacts(item=claim.item, **facts),
        )
        notices.flush(repo, now)


# --- what the database shows afterwards ---


def _figures(
    path: str,
    app: App,
    feed: _Feed,
    stamps: _Stamps,
    config: LiveSaleConfig,
    ids: dict[tuple[str, str], int],
) -> PathFigures:
    window = timedelta(seconds=app.settings.claim_settle_seconds)
    sc, si, out = t.sale_claims, t.sale_items, t.outbox
    with app.engine.connect() as connection:
        claims = connection.execute(
            select(
                sc.c.id,
                sc.c.item_id,
                sc.c.network,
                sc.c.post_id,
                sc.c.posted_at,
                sc.c.arrived_at,
                sc.c.settled_at,
                sc.c.status,
                sc.c.quantity,
            )
        ).all()
        stock = {item: units for item, units in connection.execute(select(si.c.id, si.c.stock))}
        told = connection.execute(
            select(out.c.network, out.c.in_reply_to, func.count()).group_by(
                out.c.network, out.c.in_reply_to
            )
        ).all()
        reservations = connection.execute(
            select(t.products.c.product_id, t.products.c.stock, t.products.c.reserved)
        ).all()
    answers = {(row.network, row.in_reply_to): int(row[2]) for row in told}
    won, answered, won_past = [], [], []
    settled = unsettled = late = unanswered = twice = 0
    last_commit: datetime | None = None
    per_item: dict[int, list[Any]] = defaultdict(list)
    for claim in claims:
        index = ids.get((claim.network, claim.post_id))
        arrived = feed.arrived.get(index) if index is not None else None
        recorded = stamps.committed.get(claim.arrived_at, claim.arrived_at)
        is_late = recorded > claim.posted_at + window
        late += is_late
        per_item[claim.item_id].append((claim, is_late))
        if claim.status == "provisional":
            unsettled += 1
            continue
        settled += 1
        count = answers.get((claim.network, claim.post_id), 0)
        unanswered += count == 0
        twice += count > 1
        queued = stamps.committed.get(claim.settled_at) if claim.settled_at else None
        if queued is None or arrived is None:
            continue
        last_commit = queued if last_commit is None else max(last_commit, queued)
        latency = (queued - arrived).total_seconds()
        answered.append(latency)
        if claim.status in ("held", "paid"):
            won.append(latency)
            won_past.append(latency - window.total_seconds())
    oversold = mismatched = 0
    for item_id, rows in per_item.items():
        holders = [c for c, _ in rows if c.status in ("held", "paid")]
        oversold += max(0, sum(c.quantity for c in holders) - stock.get(item_id, 0))
        mismatched += _not_first_by_time(rows, stock.get(item_id, 0))
    for row in reservations:
        if row.stock is not None and row.reserved > row.stock:
            oversold += int(row.reserved - row.stock)
    first = min(feed.arrived.values()) if feed.arrived else None
    span = (last_commit - first).total_seconds() if last_commit and first else 0.0
    return PathFigures(
        path=path,
        claims=len(claims),
        settled=settled,
        unsettled=unsettled + max(0, len(ids) - len(claims)),
        seconds=round(span, 3),
        settled_per_second=round(settled / span, 1) if span else 0.0,
        winners=len(won),
        won_p50=_percentile(won, 50),
        won_p99=_percentile(won, 99),
        won_p50_past_window=_percentile(won_past, 50),
        won_p99_past_window=_percentile(won_past, 99),
        answered_p50=_percentile(answered, 50),
        answered_p99=_percentile(answered, 99),
        late=late,
        oversold_units=oversold,
        not_first_by_time=mismatched,
        unanswered=unanswered,
        answered_twice=twice,
    )


def _not_first_by_time(rows: list[tuple[Any, bool]], stock: int) -> int:
    """How many in-time claims of one item won where the ranking rule says lose, or lost
    where it says win: the in-time winners must be the first in-time claims by platform time
    (each of quantity 1 here, no per-shopper limit), as many as the units the late winners
    left."""
    late_units = sum(c.quantity for c, late in rows if late and c.status in ("held", "paid"))
    in_time = sorted(
        (c for c, late in rows if not late and c.status != "provisional"),
        key=lambda c: rank_key(c.posted_at, c.post_id, c.network),
    )
    expected = {c.id for c in in_time[: max(0, stock - late_units)]}
    actual = {c.id for c in in_time if c.status in ("held", "paid")}
    return len(expected ^ actual)


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 4)
    return round(statistics.quantiles(values, n=100, method="inclusive")[percent - 1], 4)


# --- the run ---


def run_live_sale(
    server: BenchServer,
    settings: Settings,
    config: LiveSaleConfig,
    say: Callable[[str], None] = lambda _: None,
) -> LiveSaleResult:
    """Both paths on fresh databases of `server`, one after the other (the machine's CPUs
    are shared: never both at once)."""
    arrivals = sale_arrivals(
        config.rate, config.seconds, config.items, config.shoppers, config.seed
    )
    distinct = len({a.index for a in arrivals})
    result = LiveSaleResult(
        database=server.described,
        rate=config.rate,
        seconds=config.seconds,
        items=config.items,
        stock=config.stock,
        settle_seconds=settings.claim_settle_seconds,
        deliveries=len(arrivals),
        claims=distinct,
    )
    result.ingest_processes = config.ingest_processes
    postmaster = postmaster_of(server.url)
    for path in ("hashcart", "naive"):
        with server.database(path) as url:
            stamps = _Stamps()
            path_settings = settings.model_copy(update={"database_url": url})
            app = open_app(path_settings, _StampingClock(stamps))
            _stamp_commits(app, stamps)
            try:
                sale = _open_shop(app, config)
                say(f"{path}: {distinct:,} claims at {config.rate:,}/s for {config.seconds:g} s")
                if path == "hashcart" and config.ingest_processes > 1:
                    feed, cpu = _run_hashcart_processes(
                        path_settings, config, arrivals, stamps, postmaster, say
                    )
                else:
                    # The burst starts once its payloads are made: their times count from then.
                    feed = _made_feed(arrivals, config.seconds + config.overtime)
                    postgres = _PostgresCpu(postmaster)
                    began = time.process_time()  # every thread's: the settle timer's too
                    if path == "hashcart":
                        _run_hashcart(app, feed, stamps, config, say)
                    else:
                        _run_naive(app, feed, stamps, config, sale)
                    cpu = PathCpu([round(time.process_time() - began, 2)], postgres.spent())
                result.cpu[path] = cpu
                ids = {
                    (a.network, sale_post_id(a, feed.start_us)): a.index
                    for a in arrivals
                    if not a.duplicate
                }
                figures = _figures(path, app, feed, stamps, config, ids)
                result.paths.append(figures)
                say(
                    f"{path}: {figures.settled:,} settled, "
                    f"{figures.settled_per_second:,.0f}/s, winners' p99 {figures.won_p99} s; "
                    f"CPU {cpu.processes} s, PostgreSQL {cpu.postgres} s"
                )
            finally:
                app.engine.dispose()
    return result
