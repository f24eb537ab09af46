"""The one door live payloads come in by: stream listeners and webhooks call `ingest`
(LiveIngest implements the live-sink port of hashcart.ports; hashcart/live.py builds it with
the registered networks' parent fetchers and the short-link resolver).

Each call commits before it returns, with the listener's cursor in the same transaction as
the batch's last commit. Parents that triggers wait for are then fetched through the
network's API (once each) and ingested, and the waiting triggers act. A fetch that fails is
tried again later, each time after a longer wait (FETCH_BACKOFF), and after
`parent_fetch_attempts` failures no more: the parent is recorded as unanswered and its
trigger waits as one whose parent the network does not know (it acts if the parent comes in
by the stream). Calls are serialised: the engine is one writer anyway."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from pydantic import SecretStr

from hashcart.backoff import Backoff
from hashcart.domain.link_codes import parse_link_request
from hashcart.domain.posts import Network, Post
from hashcart.domain.products import ShopHosts
from hashcart.domain.triggers import parse_trigger
from hashcart.ports import (
    Cursor,
    Fetched,
    FetchFailed,
    LinkResolver,
    ParentFetcher,
    PayloadReader,
)
from hashcart.services.ingest import Ingestor, IngestStats
from hashcart.services.sales import sale_posts_now
from hashcart.services.settle_first import SettleFirst
from hashcart.services.shop import Shop, ShopHost

log = logging.getLogger(__name__)

# How often the shop (catalog, tags, hosts) is re-read, so console changes reach listeners.
SHOP_REFRESH = timedelta(seconds=2)
# A parent whose fetch failed is asked again after this long, then after twice as long each
# further failure, up to an hour (then `parent_fetch_attempts` ends it).
FETCH_RETRY = timedelta(minutes=1)
FETCH_BACKOFF = Backoff(first=FETCH_RETRY.total_seconds(), cap=3600.0, jitter=False)


@dataclass
class _FetchState:
    retry_at: dict[tuple[Network, str], datetime] = field(default_factory=dict)
    failures: dict[tuple[Network, str], int] = field(default_factory=dict)


class LiveHost(ShopHost, Protocol):
    """What the live sink runs on: the host, the shop as it stands, and the registered
    networks' payload reader (bootstrap.App is one)."""

    @property
    def payload_reader(self) -> PayloadReader: ...

    # Buy with a post (issue 12): pays for the buys a committed batch's `#confirm` claimed.
    def settle_buys(self) -> int: ...


class LiveIngest:
    def __init__(
        self,
        app: LiveHost,
        fetchers: Mapping[Network, ParentFetcher] | None = None,
        resolve_links: LinkResolver | None = None,
        extra_hosts: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.fetchers = dict(fetchers or {})
        self.resolve_links = resolve_links
        # Hosts the prefilter must let through besides the shop's (the shorteners).
        self.extra_hosts = tuple(extra_hosts)
        self.stats = IngestStats()
        # Told what each call did and how long it took (the process's metrics: live.py).
        self.on_counted: Callable[[IngestStats, float], None] | None = None
        self._lock = threading.Lock()
        self._shop: Shop | None = None
        self._shop_read_at: datetime | None = None
        self._ingestor: Ingestor | None = None
        self._fetch = _FetchState()
        # Parents triggers wait for, not fetched yet (see `fetch_parents`).
        self._missing: set[tuple[Network, str]] = set()
        # The process's settle timer, whose passes go first (services/settle_first).
        self.settle_first: SettleFirst | None = None

    def shop(self) -> Shop:
        """The shop as it stands (re-read every SHOP_REFRESH)."""
        now = self.app.clock.now()
        if (
            self._shop is None
            or self._shop_read_at is None
            or now - self._shop_read_at >= SHOP_REFRESH
        ):
            self._shop = self.app.shop()
            self._shop_read_at = now
            self._ingestor = None
        return self._shop

    def learn_new_sales(self) -> None:
        """Read the shop again now (not at the next SHOP_REFRESH) when a sale was opened
        since it was read: a claim (`sold 12`) carries no tag, only its parent names it, so a
        reply to a sale post the prefilter does not know yet would be skipped for good. One
        small query a call (a batch of a stream, a webhook delivery)."""
        if self._shop is None:
            return
        reading = partial(self.app.unit_of_work, read_only=True)
        if sale_posts_now(reading) != dict(self._shop.sale_posts):
            self._shop_read_at = None

    def _ingestor_now(self) -> Ingestor:
        shop = self.shop()
        if self._ingestor is None:
            hosts = ShopHosts((*shop.hosts.names, *self.extra_hosts))
            reader = self.app.payload_reader
            self._ingestor = Ingestor(
                self.app.unit_of_work,
                shop,
                self.app.clock,
                reader=reader,
                batch_size=self.app.settings.ingest_batch_size,
                prefilter=reader.prefilter(shop.every_word, hosts),
                resolve_links=self.resolve_links,
                settle_buys=self.app.settle_buys,
            )
        return self._ingestor

    def current_tags(self) -> Shop:
        """The shop's trigger and link tags as they stand (the shop, re-read as `shop`)."""
        return self.shop()

    def now(self) -> datetime:
        return self.app.clock.now()

    def read_cursor(self, name: str) -> str | None:
        with self.app.unit_of_work() as uow:
            return uow.cursors.read(name)

    def read_revisions(self, dids: Sequence[str]) -> dict[str, str]:
        if not dids:
            return {}
        with self.app.unit_of_work() as uow:
            return uow.cursors.read_revisions(dids)

    def setting(self, key: str) -> str | None:
        """One setting in force (the console's over the file's); None when unset or empty."""
        value = getattr(self.app.effective_settings(), key)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return str(value) if value else None

    def needs_confirmation(self, post: Post) -> bool:
        """Whether `post` would change a cart or a link: an unsigned source (Jetstream) must
        confirm it against the author's own repository before handing it over."""
        shop = self.shop()
        if parse_link_request(post.text, post.tags, shop.link_words) is not None:
            return True
        if post.reply_to_id is None and post.quote_of_id is None:
            return False
        return parse_trigger(post.text, post.tags, shop.words, shop.max_quantity) is not None

    def ingest(
        self,
        source: str,
        fmt: str,
        payloads: Sequence[bytes],
        *,
        fetch_parents: bool = True,
        cursor: Cursor | None = None,
    ) -> IngestStats:
        """Ingest payloads (one JSON document each, any whitespace) and commit, writing
        `cursor` (if given) in the transaction of the last commit; then fetch the parents
        that triggers wait for, unless the caller will call `fetch_parents` later (a webhook
        answers first: X wants its answer within 10 seconds). Returns what this call did."""

        reader = self.app.payload_reader
        named = reader.format_named(fmt)  # ValueError for a format no network reads
        if self.settle_first is not None:
            self.settle_first.wait_turn()
        self.learn_new_sales()

        def work(ingestor: Ingestor) -> None:
            ingestor.fmt = named
            lines = [reader.as_line(payload) for payload in payloads]
            ingestor.ingest_lines(source, lines, cursor=cursor)
            self._missing |= ingestor.missing_parents
            ingestor.missing_parents = set()
            if fetch_parents:
                self._fetch_parents(ingestor)

        done = self._counted(work)
        if done.dead_letters:  # kept with its reason; a live source cannot be run again
            log.warning(
                "%s: %d payloads dead-lettered (hashcart deadletters shows why)",
                source,
                done.dead_letters,
                extra={"source": source},
            )
        return done

    def fetch_parents(self) -> IngestStats:
        """Fetch the parents that triggers wait for and let those triggers act."""
        return self._counted(self._fetch_parents)

    def _counted(self, work: Callable[[Ingestor], None]) -> IngestStats:
        """Run `work` on the ingestor, one caller at a time; what it did, also added up in
        `stats`."""
        with self._lock:
            started = time.perf_counter()
            ingestor = self._ingestor_now()
            ingestor.stats = IngestStats()
            work(ingestor)
            done = ingestor.stats
            self.stats = self.stats + done
        self.counted(done, time.perf_counter() - started)
        return done

    def counted(self, done: IngestStats, seconds: float) -> None:
        if self.on_counted is not None:
            self.on_counted(done, seconds)

    def _fetch_parents(self, ingestor: Ingestor) -> None:
        wanted, self._missing = self._missing, set()
        now = self.app.clock.now()
        keys = sorted(key for key in wanted | self._due_retries(now) if key[0] in self.fetchers)
        if not keys:
            return
        with self.app.unit_of_work(read_only=True) as uow:
            asked = uow.parent_fetches.asked_among(keys)
            # Came in by a stream since it was wanted (a bus worker's look-ups wait their turn).
            asked |= uow.repository.existing_posts(keys)
        reader = self.app.payload_reader
        for key in keys:
            network, post_id = key
            fetcher = self.fetchers[network]
            if key in asked:
                self._fetch.retry_at.pop(key, None)
                self._fetch.failures.pop(key, None)
                continue
            try:
                fetched = fetcher.fetch(post_id)
            except FetchFailed as failed:
                self._failed(key, failed, now)
                continue
            self._fetch.retry_at.pop(key, None)
            self._fetch.failures.pop(key, None)
            self._record_fetch(key, fetched, now)
            if fetched.lines:
                ingestor.fmt = reader.format_named(fetched.fmt)
                ingestor.ingest_lines(f"{network}-api", [reader.as_line(x) for x in fetched.lines])
                # A fetched parent can be a reply waiting for its own parent: not fetched
                # further (one level is what a trigger needs).
                ingestor.missing_parents.clear()

    def _failed(self, key: tuple[Network, str], failed: FetchFailed, now: datetime) -> None:
        """Ask again later, or, after `parent_fetch_attempts` failures, never again."""
        failures = self._fetch.failures.get(key, 0) + 1
        if failures < self.app.settings.parent_fetch_attempts:
            self._fetch.failures[key] = failures
            delay = timedelta(seconds=FETCH_BACKOFF.delay(failures))
            self._fetch.retry_at[key] = now + delay
            return
        self._fetch.failures.pop(key, None)
        self._fetch.retry_at.pop(key, None)
        log.warning(
            "%s parent %s not fetched after %d tries (last: %s): its trigger waits for it",
            key[0],
            key[1],
            failures,
            failed,
            extra={"network": str(key[0]), "post_id": key[1]},
        )
        with self.app.unit_of_work() as uow:
            uow.parent_fetches.record_unanswered(key[0], key[1], at=self.app.clock.now())

    def wait_for_parents(self, keys: Iterable[tuple[Network, str]]) -> None:
        """Queue parents that triggers committed elsewhere wait for (a bus worker's batch),
        to be fetched by the next `fetch_parents`."""
        wanted = {key for key in keys if key[0] in self.fetchers}
        with self._lock:
            self._missing |= wanted

    def has_parents_to_fetch(self) -> bool:
        """Whether `fetch_parents` has anything to do now: parents queued, or retries due."""
        with self._lock:
            return bool(self._missing) or bool(self._due_retries(self.app.clock.now()))

    def recall_waiting_parents(self, limit: int = 1000) -> int:
        """Queue for fetching the parents that stored triggers still wait for (from an
        earlier run, or file ingest) and that were never asked for; how many."""
        with self.app.unit_of_work() as uow:
            found = uow.parent_fetches.waiting_parents(limit)
        wanted = {key for key in found if key[0] in self.fetchers}
        with self._lock:
            self._missing |= wanted
        return len(wanted)

    def _due_retries(self, now: datetime) -> set[tuple[Network, str]]:
        return {key for key, at in self._fetch.retry_at.items() if at <= now}

    def _record_fetch(self, key: tuple[Network, str], fetched: Fetched, now: datetime) -> None:
        with self.app.unit_of_work() as uow:
            uow.parent_fetches.record(key[0], key[1], found=bool(fetched.lines), at=now)
