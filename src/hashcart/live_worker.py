"""What a `hashcart worker` asks of the networks, so that it acts as one process does: a
trigger whose parent no stream brought gets its parent fetched through the network's API,
and a post's short links (bit.ly…) are followed to the product they name.

Both are network calls, and a worker's engine runs one batch at a time for every partition it
holds, so neither happens in the engine (nor, as everywhere, inside a transaction):

- short links are followed in `prepare`, on a thread pool of their own, before the batch
  enters the engine; the engine's resolver then only reads what was followed (this process's
  memory, else the `resolved_links` cache) and never opens a socket. Each walk is bounded
  (networks/shortlinks: 5 s in all, name look-ups included);
- the Mastodon server's longest status (asked once per process, when a first message is
  composed) is asked for when the worker starts, by the thread below;
- parents are fetched after the batch committed, by one background thread, through the same
  live sink as one process (services/live_ingest.LiveIngest: each parent asked once, a failure
  tried again later with backoff, given up after `parent_fetch_attempts`, the fetched parent
  ingested and its waiting triggers acting). Every look-up runs on a daemon thread of its own
  and is waited for at most `parent_fetch_timeout_seconds`: a socket that never answers (or a
  name look-up, which no HTTP timeout covers) costs that thread, never the worker. At most
  MAX_STUCK_LOOKUPS such threads wait at once; past that, a look-up fails at once and is tried
  again later.

A worker that dies before fetching loses nothing: the trigger is committed, waiting, and the
next worker to start asks for every parent that stored triggers wait for and nobody asked
for (`recall_waiting_parents`, as one process does at its start)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

from hashcart.domain.posts import Network, Post
from hashcart.domain.products import ShopHosts
from hashcart.errors import HashcartError
from hashcart.live import fetchers as configured_fetchers
from hashcart.live import link_resolver
from hashcart.metrics import Metrics, metrics
from hashcart.networks.shortlinks import ShortLinkResolver
from hashcart.ports import (
    AUTO_FORMAT,
    Fetched,
    FetchFailed,
    LinkResolver,
    ParentFetcher,
    Repository,
    Resolution,
    ResolvedLinks,
)
from hashcart.services.ingest import Ingestor, IngestStats, ShopChanged
from hashcart.services.live_ingest import LiveHost, LiveIngest

if TYPE_CHECKING:
    from hashcart.bus.worker import BusMessage

log = logging.getLogger(__name__)

# Look-ups waiting at once on a network that does not answer (each holds a daemon thread).
MAX_STUCK_LOOKUPS = 4
# Threads following short links for the partitions' batches at once.
LINK_THREADS = 4
# Short links remembered in memory by a worker (then forgotten, and read from the cache).
REMEMBERED_LINKS = 50_000
# How often a look-up being waited for sees whether the worker stops.
STOP_CHECK_SECONDS = 0.2
# How often the parent thread looks for retries that came due.
PARENT_POLL_SECONDS = 1.0
# How often a worker reads the shop (catalog, hosts, tags) again.
SHOP_REFRESH_SECONDS = 60.0
# How many times a batch is done again because a sale's posts changed during it.
SHOP_CHANGES_PER_BATCH = 3

_Key = tuple[Network, str]


class Stopping(HashcartError):
    """The worker stops while a look-up is waited for."""


class BoundedFetcher:
    """A parent fetcher whose every look-up ends within `timeout` seconds for its caller:
    the look-up runs on a daemon thread, and one that has not answered by then (or when
    the worker stops) is left to finish, or not, on its own and counts as failed
    (FetchFailed, asked again later)."""

    def __init__(
        self,
        inner: ParentFetcher,
        timeout: float,
        slots: threading.Semaphore,
        stopping: threading.Event,
    ) -> None:
        self.inner = inner
        self.timeout = timeout
        self._slots = slots
        self._stopping = stopping

    def fetch(self, post_id: str) -> Fetched:
        if not self._slots.acquire(blocking=False):
            raise FetchFailed(
                f"{MAX_STUCK_LOOKUPS} earlier look-ups are still waiting for the network"
            )
        answer: list[Fetched] = []
        failure: list[BaseException] = []
        done = threading.Event()

        def look_up() -> None:
            try:
                answer.append(self.inner.fetch(post_id))
            except BaseException as error:  # handed to the caller, whatever it is
                failure.append(error)
            finally:
                self._slots.release()
                done.set()

        threading.Thread(target=look_up, name="hashcart-parent-lookup", daemon=True).start()
        give_up = time.monotonic() + self.timeout
        while not done.wait(min(STOP_CHECK_SECONDS, max(0.0, give_up - time.monotonic()))):
            if time.monotonic() >= give_up:
                raise FetchFailed(f"no answer in {self.timeout:g} s")
            if self._stopping.is_set():
                raise Stopping  # not a failure of the network: asked at the next start
        if failure:
            if isinstance(failure[0], FetchFailed):
                raise failure[0]
            raise FetchFailed(f"the look-up failed: {failure[0]!r}") from failure[0]
        return answer[0]


class _Remembered:
    """The short-link cache (ports.ResolvedLinks) with this process's memory in front: what
    `prepare` followed, the engine reads without a query."""

    def __init__(self, inner: ResolvedLinks) -> None:
        self.inner = inner
        self._known: dict[str, Resolution] = {}
        self._lock = threading.Lock()

    def lookup(self, url: str) -> Resolution | None:
        with self._lock:
            known = self._known.get(url)
        if known is None:
            known = self.inner.lookup(url)
            if known is not None:
                self._remember(known)
        return known

    def record(self, resolution: Resolution) -> None:
        self.inner.record(resolution)
        self._remember(resolution)

    def _remember(self, resolution: Resolution) -> None:
        with self._lock:
            if len(self._known) >= REMEMBERED_LINKS:
                self._known.clear()
            self._known[resolution.url] = resolution


class _FollowedOnly(ShortLinkResolver):
    """The engine's resolver: where a short link leads if it was followed (by `prepare`, or
    before), and nothing otherwise; it never follows one itself."""

    def resolve(self, url: str) -> str | None:
        known = self.cache.lookup(url)
        return None if known is None else known.target


class WorkerNetwork:
    """A worker's parent look-ups and short links (see the module's text)."""

    def __init__(
        self,
        app: LiveHost,
        fetchers: Mapping[Network, ParentFetcher],
        resolver: ShortLinkResolver | None,
        *,
        fetch_timeout: float,
        extra_hosts: Sequence[str] = (),
    ) -> None:
        slots = threading.Semaphore(MAX_STUCK_LOOKUPS)
        self._stop = threading.Event()
        bounded = {
            network: BoundedFetcher(fetcher, fetch_timeout, slots, self._stop)
            for network, fetcher in fetchers.items()
        }
        self.app = app
        self.resolver = resolver
        self.engine_links: LinkResolver | None = None
        if resolver is not None:
            resolver.cache = _Remembered(resolver.cache)
            self.engine_links = _FollowedOnly(
                resolver.cache, resolver.hosts, is_shop_url=resolver.is_shop_url
            )
        self.extra_hosts = tuple(extra_hosts)
        # The live sink of one process, for its parents: fetched, recorded, ingested.
        self.parents = LiveIngest(
            app, fetchers=bounded, resolve_links=resolver, extra_hosts=extra_hosts
        )
        self._links = ThreadPoolExecutor(LINK_THREADS, thread_name_prefix="hashcart-shortlinks")
        self._queued: set[_Key] = set()
        self._queue_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, app: LiveHost) -> WorkerNetwork:
        """The configured networks' parent fetchers and the short-link resolver, as
        `hashcart listen` has them."""
        settings = app.settings
        network = cls(
            app,
            configured_fetchers(app),
            link_resolver(app),
            fetch_timeout=settings.parent_fetch_timeout_seconds,
            extra_hosts=settings.shortener_hosts,
        )
        if settings.metrics_port:
            network.parents.on_counted = _measure_parents
        return network

    # --- short links, before a batch enters the engine ------------------------------------

    async def prepare(self, batch: list[BusMessage]) -> None:
        """Follow the batch's short links (bounded, cached) before the engine reads it. Even
        looking for them (about 25 us a 3 KB post) is done off the event loop, which keeps
        the leases and fetches the other partitions' batches."""
        if self.resolver is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._links, self._follow, [m.data for m in batch])

    def _follow(self, lines: list[bytes]) -> None:
        assert self.resolver is not None
        needles = tuple(host.encode() for host in self.resolver.hosts)
        reader = self.app.payload_reader
        for line in lines:
            lowered = line.lower()
            if not any(needle in lowered for needle in needles):
                continue
            try:
                events = reader.decode(line, AUTO_FORMAT)
            except Exception:  # the engine dead-letters it, with its reason
                continue
            for post in events:
                if isinstance(post, Post):
                    self.resolver(post.urls, post.text)

    # --- parents, after a batch committed ---------------------------------------------------

    def committed(self, missing: Iterable[_Key]) -> None:
        """The parents a committed batch's triggers wait for: fetched in the background.
        (Queued here, not in the live sink, whose lock a look-up holds while it waits.)"""
        wanted = set(missing)
        if wanted:
            with self._queue_lock:
                self._queued |= wanted
            self._wake.set()

    def start(self) -> None:
        """Ask for the parents stored triggers wait for, then fetch as they are wanted."""
        self._thread = threading.Thread(
            target=self._run, name="hashcart-parent-fetches", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._links.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        try:
            # A message to Mastodon is cut to the server's limit, asked once per process
            # when the first one is composed, in the engine: asked here first instead.
            self.app.shop().text_limit(Network.MASTODON)
        except Exception as error:  # the database is away: the engine asks when it must
            log.warning("worker: the Mastodon server's limit not asked: %r", error)
        try:
            if self.parents.recall_waiting_parents():
                self._wake.set()
        except Exception as error:  # the database is away: the next start asks again
            log.warning("worker: parents waited for not recalled: %r", error)
        while not self._stop.is_set():
            self._wake.wait(PARENT_POLL_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                break
            with self._queue_lock:
                queued, self._queued = self._queued, set()
            try:
                self.parents.wait_for_parents(queued)
                if self.parents.has_parents_to_fetch():
                    self.parents.fetch_parents()
            except Stopping:
                break
            except Exception as error:  # the database is away: asked again at the next turn
                log.warning("worker: fetching parents: %r", error)
                self.committed(queued)


def _measure_parents(done: IngestStats, seconds: float) -> None:
    """The cart lines a fetched parent let waiting triggers add (and a fetched answer no
    decoder read, kept as a dead letter), in the worker's metrics; the parent itself is no
    post consumed from the bus, and its look-up no batch."""
    metrics().counted(0, 0, done.actions.lines_added, done.dead_letters)


class WorkerEngine:
    """The engine a worker runs its batches through (one at a time): file ingest's, with the
    shop read again as it changes, short links read as `prepare` followed them, and the
    parents its triggers wait for handed to `network`."""

    def __init__(
        self,
        app: LiveHost,
        batch_size: int,
        network: WorkerNetwork,
        measure: Metrics | None = None,
    ) -> None:
        self.app = app
        self.batch_size = batch_size
        self.network = network
        self.measure = measure
        self.ingestor = self._fresh()
        self._read_at = time.monotonic()

    def _refresh(self, stats: IngestStats) -> None:
        self.ingestor = self._fresh()
        self.ingestor.stats, self._read_at = stats, time.monotonic()

    def _fresh(self) -> Ingestor:
        shop = self.app.shop()
        reader = self.app.payload_reader
        hosts = ShopHosts((*shop.hosts.names, *self.network.extra_hosts))
        return Ingestor(
            self.app.unit_of_work,
            shop,
            self.app.clock,
            reader=reader,
            batch_size=self.batch_size,
            prefilter=reader.prefilter(shop.every_word, hosts),
            resolve_links=self.network.engine_links,
            check_shop=partial(same_sales, dict(shop.sale_posts)),
        )

    def __call__(self, batch: list[BusMessage]) -> None:
        # The catalog and the console's settings change under a running worker: its shop
        # (products, hosts, tags) is read again now and then, as the live sink's is. A sale
        # opened since is looked for in every batch's own transaction (check_shop, one small
        # query): its claims carry no tag, and a worker that did not know the sale's post
        # would drop them for good. Then the batch is rolled back and done again with the
        # shop read anew.
        if time.monotonic() - self._read_at > SHOP_REFRESH_SECONDS:
            self._refresh(self.ingestor.stats)
        counted = self.ingestor.stats.snapshot()
        for attempt in itertools.count(1):
            try:
                self.ingestor.ingest_numbered((item.source, item.line, item.data) for item in batch)
                break
            except ShopChanged:
                log.info("worker: a sale opened since the shop was read: batch done again")
                # What the rolled-back attempt counted goes with it.
                self._refresh(counted.snapshot())
                if attempt >= SHOP_CHANGES_PER_BATCH:
                    raise  # the worker's retry of a refused batch takes it from here
        ingestor = self.ingestor
        missing, ingestor.missing_parents = ingestor.missing_parents, set()
        self.network.committed(missing)
        if self.measure is not None:
            stats = ingestor.stats
            self.measure.counted(
                len(batch),
                stats.triggers - counted.triggers,
                stats.actions.lines_added - counted.actions.lines_added,
                stats.dead_letters - counted.dead_letters,
            )
            self.measure.redelivered.inc(sum(1 for item in batch if item.delivered > 1))


def same_sales(known: dict[tuple[str, str], int], repo: Repository) -> None:
    """Ingestor.check_shop for a worker: the sales' posts as the batch's transaction reads
    them are the ones its shop was read with, or ShopChanged."""
    if repo.sales.post_sales() != known:
        raise ShopChanged("a sale's posts changed since the worker read its shop")
