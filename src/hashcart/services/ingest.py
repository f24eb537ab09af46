"""Ingest: lines of payloads in, committed cart lines and queued messages out.

The hot path is the byte prefilter: most posts are noise, so a line is decoded fully only
when it may be a trigger, a deletion, or a post carrying a shop link. Everything decoded is
handled in batches, one transaction each (batching is what makes SQLite fast)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from hashcart.clock import Clock
from hashcart.domain.posts import DecodeError, NotAPost, Post, PostDeleted
from hashcart.domain.triggers import parse_trigger
from hashcart.networks.formats import Format, decode
from hashcart.networks.prefilter import Prefilter, check_well_formed
from hashcart.services.actions import ActionCounts, act
from hashcart.services.shop import Shop
from hashcart.store.repository import Repository, transaction

MAX_LINE_BYTES = 1024 * 1024
EXCERPT_CHARS = 300


class Oversized(bytes):
    """Stands for a line longer than MAX_LINE_BYTES; it holds only the line's start."""


@dataclass
class IngestStats:
    lines: int = 0
    posts: int = 0
    triggers: int = 0
    skipped: int = 0
    dead_letters: int = 0
    duplicates: int = 0
    waiting_for_parent: int = 0
    actions: ActionCounts = field(default_factory=ActionCounts)

    def __add__(self, other: IngestStats) -> IngestStats:
        """Two runs' counts together (the demo ingests in two halves)."""
        mine, theirs = vars(self), vars(other)
        plain = {name: mine[name] + theirs[name] for name in mine if name != "actions"}
        actions = ActionCounts(
            **{
                name: value + vars(other.actions)[name]
                for name, value in vars(self.actions).items()
            }
        )
        return IngestStats(**plain, actions=actions)


@dataclass(frozen=True, slots=True)
class _DeadLetter:
    source: str
    line: int
    reason: str
    excerpt: str


_Work = Post | PostDeleted | _DeadLetter


def excerpt_of(data: bytes) -> str:
    return data[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]


class Ingestor:
    """Feeds lines through prefilter, decoder and engine, committing a batch at a time."""

    def __init__(
        self,
        engine: Engine,
        shop: Shop,
        clock: Clock,
        *,
        fmt: Format = Format.AUTO,
        batch_size: int = 1000,
        prefilter: Prefilter | None = None,
    ) -> None:
        self.engine = engine
        self.shop = shop
        self.clock = clock
        self.fmt = fmt
        self.batch_size = batch_size
        self.prefilter = prefilter or Prefilter.for_shop(shop.words, shop.hosts)
        self.stats = IngestStats()
        self._batch: list[_Work] = []

    def ingest_lines(
        self, source: str, lines: Iterable[bytes], progress: Callable[[int], None] | None = None
    ) -> None:
        """Ingest one source's lines (without their newline is fine; blank lines are ignored)."""
        wants = self.prefilter.wants
        stats = self.stats
        batch = self._batch
        for number, data in enumerate(lines, 1):
            stats.lines += 1
            if isinstance(data, Oversized):
                batch.append(
                    _DeadLetter(source, number, "line longer than 1 MiB", excerpt_of(data))
                )
            elif wants(data):
                self._decode_into_batch(source, number, data)
            elif not data.strip():
                stats.lines -= 1
                continue
            else:
                problem = check_well_formed(data)
                if problem is None:
                    stats.posts += 1
                else:
                    batch.append(_DeadLetter(source, number, problem, excerpt_of(data)))
            if len(batch) >= self.batch_size:
                self.flush()
            if progress is not None and not number & 0x3FF:
                progress(number)
        self.flush()

    def _decode_into_batch(self, source: str, number: int, data: bytes) -> None:
        try:
            events = decode(data, self.fmt)
        except DecodeError as error:
            self._batch.append(_DeadLetter(source, number, str(error), excerpt_of(data)))
            return
        self.stats.posts += 1
        for event in events:
            if isinstance(event, NotAPost):
                self.stats.skipped += 1
            else:
                self._batch.append(event)

    def flush(self) -> None:
        """Commit what is waiting: one transaction for the whole batch."""
        if not self._batch:
            return
        work, self._batch[:] = list(self._batch), []
        now = self.clock.now()
        with transaction(self.engine) as repo:
            for item in work:
                if isinstance(item, Post):
                    self._handle_post(repo, item, now)
                elif isinstance(item, PostDeleted):
                    repo.record_deletion(item.network, item.post_id)
                else:
                    repo.add_dead_letter(item.source, item.line, item.reason, item.excerpt, now)
                    self.stats.dead_letters += 1

    def _handle_post(self, repo: Repository, post: Post, now: datetime) -> None:
        if post.is_edit or post.is_repost:
            # Only a post's first version counts; a repost is never the shopper's own request.
            self.stats.skipped += 1
            return
        shop = self.shop
        request = parse_trigger(post.text, post.tags, shop.words, shop.max_quantity)
        parent_id = post.quote_of_id or post.reply_to_id
        is_trigger = request is not None and parent_id is not None
        shop_links, product_ids = shop.shop_links(post.urls, post.text)
        if not shop_links and not is_trigger:
            return
        values: dict[str, Any] = {
            "network": post.network,
            "post_id": post.post_id,
            "author_id": post.author_id,
            "author_handle": post.author_handle,
            "text": None if repo.is_deleted(post.network, post.post_id) else post.text,
            "created_at": post.created_at,
            "has_shop_link": bool(shop_links),
            "parent_id": parent_id if is_trigger else None,
            "list_kind": request.kind.value if is_trigger and request else None,
            "quantity": request.quantity if is_trigger and request else None,
            "position": request.position if is_trigger and request else None,
        }
        if not repo.add_post(values, product_ids):
            self.stats.duplicates += 1
            return
        counts = self.stats.actions
        # Replies that arrived before this post have waited for it; act on them now.
        for waiting in repo.triggers_waiting_for(post.network, post.post_id):
            act(repo, shop, waiting, now, counts)
        if not is_trigger:
            return
        self.stats.triggers += 1
        assert parent_id is not None
        if repo.post(post.network, parent_id) is None:
            self.stats.waiting_for_parent += 1
            return
        stored = repo.post(post.network, post.post_id)
        assert stored is not None
        act(repo, shop, stored, now, counts)
