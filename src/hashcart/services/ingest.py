"""Ingest: lines of payloads in, committed cart lines and queued messages out.

The hot path is the byte prefilter: most posts are noise, so a line is decoded fully only
when it may be a trigger, a deletion, or a post carrying a shop link. Everything decoded is
handled in batches, one transaction each (batching is what makes SQLite fast)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

import hashcart.services.link_kind  # noqa: F401  (registers the link kind: see handlers)
from hashcart.clock import Clock
from hashcart.domain.digests import digest_of
from hashcart.domain.kinds import CART, WISHLIST
from hashcart.domain.posts import AccountGone, DecodeError, Network, NotAPost, Post, PostDeleted
from hashcart.domain.triggers import parse_trigger_and_words
from hashcart.errors import HashcartError
from hashcart.ports import (
    AUTO_FORMAT,
    Cursor,
    Line,
    LinePrefilter,
    LinkResolver,
    PayloadReader,
    Repository,
    StoredPost,
    UnitsOfWork,
)
from hashcart.services.actions import ActedMeanwhile, act_on_triggers
from hashcart.services.counts import IngestStats as IngestStats  # where callers find it
from hashcart.services.handlers import PostHandler, post_handlers
from hashcart.services.handlers.base import AfterCommit
from hashcart.services.shop import Shop
from hashcart.services.undo import undo_deleted_triggers, without_deleted
from hashcart.sources import Oversized, blocks_of

_OPEN_BRACE, _CLOSE_BRACE = ord("{"), ord("}")
WANTED, NOT_A_POST = Line.WANTED, Line.NOT_A_POST
EXCERPT_CHARS = 300
# How far ahead of our clock a post's own date may be before it is taken as now.
MAX_CLOCK_SKEW = timedelta(days=1)
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _DeadLetter:
    source: str
    line: int
    reason: str
    excerpt: str
    key: str


@dataclass(frozen=True, slots=True)
class _Decoded:
    """A post or deletion, and the line it came from (to dead-letter it if it cannot be
    stored)."""

    event: Post | PostDeleted | AccountGone
    source: str
    line: int
    data: bytes


_Work = _Decoded | _DeadLetter
# Failures of the database itself, not of the data: a batch that meets one is not split into
# dead letters but raised, so the source stops before it and is read again later.
_INFRASTRUCTURE = (OperationalError, InterfaceError, DisconnectionError, MemoryError)
MAX_REASON_CHARS = 500


def excerpt_of(data: bytes) -> str:
    return data[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]


def dead_letter(source: str, line: int, reason: str, data: bytes) -> _DeadLetter:
    """A dead letter for `data`, keyed by where it was read, why, and its bytes: a rerun of
    the same file or a redelivery of the same body gives the same key, and adds nothing."""
    reason = reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 3] + "..."
    key = digest_of(source, str(line), reason, data)
    return _DeadLetter(source, line, reason, excerpt_of(data), key)


def _failure_reason(error: BaseException) -> str:
    """One line saying why storing a post failed: the driver's own message, not SQLAlchemy's
    (which quotes the whole statement and its parameters)."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}".rstrip(": ")


class ShopChanged(HashcartError):
    """The shop an ingestor acts for changed in the database (Ingestor.check_shop): the
    batch's transaction is rolled back, and nothing of it is kept or dead-lettered."""


class Ingestor:
    """Feeds lines through prefilter, decoder and engine, committing a batch at a time."""

    def __init__(
        self,
        units: UnitsOfWork,
        shop: Shop,
        clock: Clock,
        *,
        reader: PayloadReader,
        fmt: str = AUTO_FORMAT,
        batch_size: int = 1000,
        prefilter: LinePrefilter | None = None,
        validate_all: bool = False,
        resolve_links: LinkResolver | None = None,
        settle_buys: Callable[[], object] | None = None,
        check_shop: Callable[[Repository], None] | None = None,
    ) -> None:
        # Each batch commits in a unit of work of its own (App.unit_of_work).
        self.units = units
        self.shop = shop
        self.clock = clock
        # The registered networks' prefilter, decoders and checks (bootstrap's App gives
        # them): ingest itself knows no network's JSON.
        self.reader = reader
        # A format name (networks/input_format.Format); AUTO_FORMAT detects it line by line.
        self.fmt = fmt
        self.batch_size = batch_size
        self.prefilter = with_sale_replies(
            prefilter or reader.prefilter(shop.every_word, shop.hosts), shop
        )
        # Lines the prefilter skips get a framing and UTF-8 check; a full JSON check of every
        # line costs about 2 µs more a line on X-shaped posts (see docs/benchmarks.md).
        self.validate_all = validate_all
        self.stats = IngestStats()
        self._batch: list[_Work] = []
        # Live ingest follows short links (bit.ly, amzn.to…) to the product they name;
        # file ingest stays offline and leaves this None.
        self.resolve_links = resolve_links
        # Parents that triggers wait for, as (network, post id): live ingest fetches them.
        self.missing_parents: set[tuple[Network, str]] = set()
        # Lines of the batch being flushed that were dead-lettered when stored (see flush).
        self._moved_lines: set[tuple[str, int]] = set()
        # The kinds whose posts ask on their own (`#cartlink CODE`), with their handlers.
        self._post_kinds: list[tuple[str, PostHandler]] = post_handlers()
        # Buy with a post (issue 12): pays for the buys a batch's `#confirm CODE` posts
        # claimed, once that batch has committed (never inside it: the gateway is asked
        # between units of work). App.settle_buys; None: the payment sweep of `serve` does.
        self.settle_buys = settle_buys
        self._confirmed_seen = 0
        # Run first inside each batch's transaction: it raises ShopChanged when the shop
        # this ingestor acts for is no longer the database's (live_worker: a sale opened
        # since), so the caller redoes the batch with the shop read again. Inside, not
        # before: a transaction of its own for one small read cost a bus worker more than
        # the read (docs/benchmarks.md, "s27-pgbatch").
        self.check_shop = check_shop

    def ingest_lines(
        self, source: str, lines: Iterable[bytes], *, cursor: Cursor | None = None
    ) -> None:
        """Ingest lines already in memory (tests, the demo, the live sink); see
        ingest_blocks."""
        self.ingest_blocks(source, blocks_of(list(lines)), cursor=cursor)

    def ingest_blocks(
        self,
        source: str,
        blocks: Iterable[bytes],
        progress: Callable[[int], None] | None = None,
        *,
        live: bool = False,
        cursor: Cursor | None = None,
    ) -> None:
        """Ingest one source, given as blocks of whole lines (see sources.read_blocks).

        Blank lines are ignored; `progress` hears the bytes done after each block. A `live`
        source (a pipe that may stay open) commits after every block, so its triggers act
        as they arrive rather than a thousand posts later. `cursor` (a stream's position
        after these lines) is written with the last commit, in its transaction.
        """
        number = done = 0
        for block in blocks:
            if isinstance(block, Oversized):
                number += 1
                self.stats.lines += 1
                self._dead_letter(source, number, "line longer than 1 MiB", block)
            else:
                number = self._ingest_block(source, block, number)
            done += len(block)
            if progress is not None:
                progress(done)
            if live:
                self.flush()
        self.flush(cursor)

    def ingest_numbered(self, lines: Iterable[tuple[str, int, bytes]]) -> None:
        """Ingest lines each read elsewhere (a worker's batch from the bus: the source and
        line number the edge read them at), then commit them all. A dead letter gets the key
        file ingest of that source would give it, so a line redelivered is kept once."""
        read = False
        for source, number, data in lines:
            if number < 1 or b"\n" in data:
                raise ValueError("one line a time, numbered from 1")
            self._ingest_block(source, data, number - 1)
            read = True
        if read and not self._batch and self.check_shop is not None:
            # Nothing kept: no batch transaction for the check to run in, and the lines the
            # prefilter dropped may be replies to a sale opened since (they carry no tag).
            with self.units() as uow:
                self.check_shop(uow.repository)
        self.flush()

    def dead_letter_line(self, source: str, number: int, reason: str, data: bytes) -> None:
        """Keep one line read elsewhere as a dead letter, now (the bus's edge: a line too long
        to be a message)."""
        self.stats.lines += 1
        self._dead_letter(source, number, reason, data)
        self.flush()

    def _ingest_block(self, source: str, block: bytes, number: int) -> int:
        """Ingest the lines of one block, numbered on from `number`; returns the last number.

        This loop runs once per post of the whole stream, so it reads each line in place,
        keeps to local names, and leaves all but the cheapest checks to the rare lines the
        prefilter wants.
        """
        first = number
        classify = self.prefilter.classify
        ascii_block = block.isascii()
        # Valid UTF-8 as a whole means valid line by line; only a failing block is checked
        # line by line, to find the culprits.
        clean_text = ascii_block or self.reader.utf8_problem(block) is None
        validate_all = self.validate_all
        find = block.find
        size = len(block)
        start = quiet = blank = not_posts = 0
        while start < size:
            end = find(b"\n", start)
            if end < 0:
                end = size
            number += 1
            kind = classify(block, start, end, ascii_block)
            if kind is WANTED:
                self._decode_into_batch(source, number, block[start:end])
            elif (
                clean_text
                and not validate_all
                and block[start] == _OPEN_BRACE
                and (block[end - 1] == _CLOSE_BRACE or block[end - 2 : end] == b"}\r")
            ):
                # Braced like one JSON object: the cheap check passes in place.
                if kind is NOT_A_POST:
                    not_posts += 1
                else:
                    quiet += 1
            else:
                line = block[start:end]
                reader = self.reader
                problem = (
                    reader.check_well_formed(line) if validate_all else reader.check_framing(line)
                )
                if problem is None and kind is NOT_A_POST:
                    not_posts += 1
                elif problem is None:
                    quiet += 1
                elif line.strip():
                    self._dead_letter(source, number, problem, line)
                else:
                    blank += 1
            start = end + 1
        self.stats.lines += number - first - blank
        self.stats.posts += quiet
        self.stats.skipped += not_posts
        return number

    def _dead_letter(self, source: str, number: int, reason: str, data: bytes) -> None:
        self.stats.dead_letters += 1
        self._batch.append(dead_letter(source, number, reason, data))
        if len(self._batch) >= self.batch_size:
            self.flush()

    def _decode_into_batch(self, source: str, number: int, data: bytes) -> None:
        try:
            events = self.reader.decode(data, self.fmt)
        except DecodeError as error:
            self._dead_letter(source, number, str(error), data)
            return
        except Exception as error:
            # A decoder met a payload nobody foresaw (and raised what it should not have):
            # that payload goes, with the reason, not the source.
            reason = f"could not decode it: {_failure_reason(error)}"
            self._dead_letter(source, number, reason, data)
            return
        posts = [event for event in events if not isinstance(event, NotAPost)]
        if not posts:
            self.stats.skipped += 1
            return
        self.stats.posts += 1
        self.stats.other_events += len(events) - len(posts)
        self._batch.extend(_Decoded(event, source, number, data) for event in posts)
        if len(self._batch) >= self.batch_size:
            self.flush()

    def flush(self, cursor: Cursor | None = None) -> None:
        """Commit what is waiting: one transaction for the whole batch, which also writes
        `cursor` when one is given (alone, when nothing waits).

        A batch the database refuses is split in halves, each committed on its own, down to
        the one post it cannot take: that post is dead-lettered with the database's reason,
        and everything else commits. So one payload nobody foresaw never stops a source
        (a listener saves its cursor past it; a rerun of a file passes it). A failure of the
        database itself (unreachable, locked) is raised instead: nothing is wrong with the
        data, and the source stops before it to be read again. The cursor goes with the
        batch's last commit, so it never says more was kept than was.
        """
        if not self._batch:
            if cursor is not None:
                with self.units() as uow:
                    uow.cursors.write(cursor, self.clock.now())
            return
        work, self._batch = self._batch, []
        self._moved_lines.clear()
        self._commit_isolating(work, cursor)
        confirmed = self.stats.actions.buys_confirmed
        if self.settle_buys is not None and confirmed > self._confirmed_seen:
            self._confirmed_seen = confirmed
            self.settle_buys()

    def _commit_isolating(self, work: list[_Work], cursor: Cursor | None = None) -> None:
        saved_stats, saved_missing = self.stats.snapshot(), set(self.missing_parents)
        try:
            self._commit(work, cursor)
        except (*_INFRASTRUCTURE, ShopChanged):
            raise
        except Exception as error:
            # Counts of the rolled-back attempt go with it; the halves count again.
            self.stats, self.missing_parents = saved_stats, saved_missing
            if len(work) > 1:
                middle = len(work) // 2
                self._commit_isolating(work[:middle])
                self._commit_isolating(work[middle:], cursor)
            else:
                self._dead_letter_alone(work[0], error, cursor)

    def _dead_letter_alone(self, item: _Work, error: Exception, cursor: Cursor | None) -> None:
        """Keep the one item the database refused as a dead letter; if even that fails, the
        database is the problem, and the original error is raised."""
        if isinstance(item, _DeadLetter):
            raise error
        reason = f"could not store it: {_failure_reason(error)}"
        _log.warning(
            "%s line %d dead-lettered: %s",
            item.source,
            item.line,
            reason,
            extra={"source": item.source, "line": item.line},
        )
        letter = dead_letter(item.source, item.line, reason, item.data)
        try:
            self._commit([letter], cursor)
        except Exception:
            raise error from None
        # The line was counted as a post when it was read; it is a dead letter now (once,
        # however many of its events failed).
        if (item.source, item.line) not in self._moved_lines:
            self._moved_lines.add((item.source, item.line))
            self.stats.posts -= 1
            self.stats.dead_letters += 1

    def _commit(self, work: list[_Work], cursor: Cursor | None = None) -> None:
        now = self.clock.now()
        # Decide what each post is before the transaction: it holds the write lock.
        asked: dict[str, list[Any]] = {}  # posts of each post kind (see _prepare)
        prepared: list[_Item] = []
        # Accounts the network says are gone: their posts in this batch are ignored, and
        # what we kept of them is forgotten in this transaction.
        gone = {
            (entry.event.network, entry.event.account_id)
            for entry in work
            if isinstance(entry, _Decoded) and isinstance(entry.event, AccountGone)
        }
        for entry in work:
            if isinstance(entry, _DeadLetter):
                prepared.append(entry)
            elif isinstance(entry.event, AccountGone):
                continue
            elif isinstance(entry.event, Post):
                if (entry.event.network, entry.event.author_id) in gone:
                    continue
                prepared.append(self._prepare(entry.event, asked, now))
            else:
                prepared.append(entry.event)
        keys = [
            (item.post.network, item.post.post_id)
            for item in prepared
            if isinstance(item, _Prepared)
        ]
        deletions = {
            (item.network, item.post_id) for item in prepared if isinstance(item, PostDeleted)
        }
        # A batch of plain posts and list replies shares the writers' turn with others like
        # it (each holding only its own posts: see Repository.take_post_turns); one that
        # links, buys, deletes or forgets takes the turn alone, as linking and checkout do.
        share = not (deletions or gone or any(asked.values())) and all(
            item.values["list_kind"] in SIDE_BY_SIDE
            for item in prepared
            if isinstance(item, _Prepared) and item.is_trigger
        )
        if share:
            saved_stats, saved_missing = self.stats.snapshot(), set(self.missing_parents)
            try:
                self._store_and_act(prepared, keys, deletions, gone, asked, now, cursor, share=True)
                return
            except (_NeedsTheTurn, ActedMeanwhile, DBAPIError) as error:
                # Side by side, two batches may still meet on a unique key in opposite
                # orders (one customer's lines from two networks): PostgreSQL then aborts
                # one of them, and that one goes again, alone. A trigger acted on by another
                # transaction meanwhile (ActedMeanwhile: not one of the engine's, which hold
                # their posts' keys) is rolled back too; alone, it finds the action and skips.
                if isinstance(error, DBAPIError):
                    if _sqlstate(error) != DEADLOCK_DETECTED:
                        raise
                    _log.info("a batch met another on a key in opposite order: goes again alone")
                self.stats, self.missing_parents = saved_stats, saved_missing
        self._store_and_act(prepared, keys, deletions, gone, asked, now, cursor, share=False)

    def _store_and_act(
        self,
        prepared: list[_Item],
        keys: list[_Key],
        deletions: set[_Key],
        gone: set[_Key],
        asked: dict[str, list[Any]],
        now: datetime,
        cursor: Cursor | None,
        *,
        share: bool,
    ) -> None:
        later: list[AfterCommit] = []
        with self.units() as uow:
            repo = uow.repository
            if self.check_shop is not None:
                self.check_shop(repo)
            if share:
                awaited = [
                    (item.post.network, item.values["parent_id"])
                    for item in prepared
                    if isinstance(item, _Prepared) and item.is_trigger
                ]
                repo.take_post_turns(keys, awaited)
            else:
                repo.serialize_writers()
            for network, post_id in deletions:
                repo.record_deletion(network, post_id)
            if self.shop.undo_on_delete and deletions:
                self.stats.actions.undone += undo_deleted_triggers(repo, sorted(deletions))
            deleted = deletions | repo.deleted_among(keys)
            # Replies from earlier batches that waited for one of these posts.
            waiting = repo.triggers_waiting_for_any(keys)
            if share and any(
                post.list_kind not in SIDE_BY_SIDE for posts in waiting.values() for post in posts
            ):
                raise _NeedsTheTurn  # a waiting `#buy` acts now: roll back, take the turn alone
            fresh = self._store_posts(repo, prepared, deleted)
            parents = repo.existing_posts(
                [
                    (item.post.network, item.values["parent_id"])
                    for item in prepared
                    if isinstance(item, _Prepared) and item.is_trigger
                ]
            )
            ready: list[StoredPost] = []
            for item in prepared:
                if isinstance(item, _Prepared):
                    ready += self._ready_to_act(item, fresh, parents, waiting)
                elif isinstance(item, _DeadLetter):
                    repo.add_dead_letter(
                        item.source, item.line, item.reason, item.excerpt, now, item.key
                    )
            if self.shop.undo_on_delete:
                # A trigger its author deleted before it could act never acts.
                ready = without_deleted(repo, ready, deleted, now)
            # Post kinds first: a trigger in the same batch from an account linked by a
            # `#cartlink CODE` post then goes straight to the cart instead of waiting as a
            # pending intent.
            later = self._act_on_posts(repo, asked, now)
            act_on_triggers(repo, self.shop, ready, now, self.stats.actions)
            for network, account_id in sorted(gone):
                repo.forget_network_account(network, account_id)
            if cursor is not None:
                uow.cursors.write(cursor, now)
        for work in later:
            # After the batch's commit, each in its own transaction. What it could not do
            # waits for its next turn (a sale's waitlisted stay due: the next pass settles
            # them); the batch stands.
            try:
                with self.units() as uow:
                    work(uow.repository)
            except DBAPIError:
                _log.warning("work after a batch's commit failed; left to its next turn")

    def _act_on_posts(
        self, repo: Repository, asked: dict[str, list[Any]], now: datetime
    ) -> list[AfterCommit]:
        later: list[AfterCommit] = []
        for kind, handler in self._post_kinds:
            posts = asked.get(kind)
            if posts:
                work = handler.act(repo, self.shop, posts, now, self.stats)
                if work is not None:
                    later.append(work)
        return later

    def _store_posts(
        self, repo: Repository, prepared: list[_Item], deleted: set[_Key]
    ) -> set[_Key]:
        """Insert the batch's posts in one go; the keys of those that were new."""
        rows: dict[_Key, dict[str, Any]] = {}
        products: dict[_Key, list[str]] = {}
        for item in prepared:
            if isinstance(item, _Prepared):
                key = (item.post.network, item.post.post_id)
                if key in rows:
                    continue
                rows[key] = {**item.values, "text": None} if key in deleted else item.values
                products[key] = item.product_ids
        return repo.add_posts(list(rows.values()), products)

    def _ready_to_act(
        self,
        item: _Prepared,
        fresh: set[_Key],
        parents: set[_Key],
        waiting: dict[_Key, list[StoredPost]],
    ) -> list[StoredPost]:
        """The triggers this stored post lets act: those that waited for it, and itself."""
        post, values = item.post, item.values
        key = (post.network, post.post_id)
        if key not in fresh:
            if post.edited_in_place:
                # A later version of a post stored before: only its first version counts.
                self.stats.edits_and_reposts += 1
            else:
                self.stats.duplicates += 1
            return []
        fresh.discard(key)  # a second copy in the same batch is a duplicate
        ready = sorted(waiting.pop(key, []), key=_made_order)
        if item.is_trigger:
            self.stats.triggers += 1
            if (post.network, values["parent_id"]) in parents:
                ready.append(_stored(post, values))
            else:
                self.stats.waiting_for_parent += 1  # it acts when its parent arrives
                self.missing_parents.add((post.network, values["parent_id"]))
        return ready

    def _prepare(self, post: Post, asked: dict[str, list[Any]], now: datetime) -> _Prepared | None:
        """What the engine must remember of a post, or None when it is noise to us. A post
        of a kind that asks on its own (`#cartlink CODE`) joins `asked`, by kind, as that
        kind's handler read it; it is not stored for that."""
        if post.is_edit or post.is_repost:
            # Only a post's first version counts; a repost is never the shopper's own request.
            # (A post edited in place, `edited_in_place`, goes on: it is an edit to skip only
            # if its id is stored already, which `_ready_to_act` sees.)
            self.stats.edits_and_reposts += 1
            return None
        if post.created_at > now + MAX_CLOCK_SKEW:
            # No post is from the future: a client's clock (Bluesky's createdAt is set by the
            # client) or a forger says so. Dated now, as Bluesky's AppView sorts by
            # min(createdAt, indexedAt); dates near year 9999 would otherwise overflow the
            # expiry of a pending request.
            post = dataclasses.replace(post, created_at=now)
        shop = self.shop
        for kind, handler in self._post_kinds:
            read = handler.read(post, shop)
            if read is not None:
                asked.setdefault(kind, []).append(read)
        parent_id = post.quote_of_id or post.reply_to_id
        # The shop's own posts never act: hashcart's replies on X quote `@shop #cart` to
        # teach it (services/notify), and a merchant's post may show the tag. Nor does a
        # post that replies to nothing, so only the others' replies are read for a trigger
        # (a brand post's `reply #cart 1 or #cart 2` and its links were read for nothing).
        acts = parent_id is not None and not shop.is_own(post)
        parsed = (
            parse_trigger_and_words(post.text, post.tags, shop.words, shop.max_quantity)
            if acts
            else None
        )
        trigger, words = parsed if parsed is not None else (None, ())
        urls = post.urls
        if self.resolve_links is not None:
            urls = self.resolve_links(urls, post.text)
        shop_links, product_ids = shop.shop_links(urls, post.text)
        if not shop_links and trigger is None:
            return None
        values: dict[str, Any] = {
            "network": post.network,
            "post_id": post.post_id,
            "author_id": post.author_id,
            "author_handle": post.author_handle,
            "text": post.text,
            "created_at": post.created_at,
            "has_shop_link": bool(shop_links),
            "parent_id": parent_id if trigger else None,
            "list_kind": trigger.kind if trigger else None,
            "quantity": trigger.quantity if trigger else None,
            "position": trigger.position if trigger else None,
            "words": " ".join(words) if trigger and words else None,
        }
        return _Prepared(post, values, product_ids, trigger is not None)


class _SaleReplies:
    """A prefilter that also wants the lines naming a live sale's post (issue 13): a claim
    (`sold 12`) carries no tag and no link, only its parent's id (X's
    `in_reply_to_status_id_str`, Mastodon's `in_reply_to_id`, Bluesky's `reply.parent.uri`,
    whose record key is looked for, so an escaped `/` cannot hide it)."""

    __slots__ = ("inner", "needles")

    def __init__(self, inner: LinePrefilter, needles: tuple[bytes, ...]) -> None:
        self.inner = inner
        self.needles = needles

    def classify(self, block: bytes, start: int, end: int, ascii_block: bool) -> Line:
        for needle in self.needles:
            if block.find(needle, start, end) >= 0:
                return WANTED
        return self.inner.classify(block, start, end, ascii_block)


def with_sale_replies(prefilter: LinePrefilter, shop: Shop) -> LinePrefilter:
    """`prefilter`, wanting replies to the shop's sale posts too (itself when it has none)."""
    if not shop.sale_posts:
        return prefilter
    needles = sorted({post_id.rsplit("/", 1)[-1].encode() for _, post_id in shop.sale_posts})
    return _SaleReplies(prefilter, tuple(needle for needle in needles if needle))


# The trigger kinds whose actions only insert (list lines, pending intents, messages, each
# under its unique key), so batches acting on them may commit side by side.
SIDE_BY_SIDE = frozenset({CART.name, WISHLIST.name})


DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE for a deadlock it broke


def _sqlstate(error: DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


class _NeedsTheTurn(Exception):
    """A batch that began sharing the writers' turn found it must act alone."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    post: Post
    values: dict[str, Any]
    product_ids: list[str]
    is_trigger: bool


_Key = tuple[Network, str]
_Item = _Prepared | PostDeleted | _DeadLetter | None  # a batch entry once prepared


def _stored(post: Post, values: dict[str, Any]) -> StoredPost:
    return StoredPost(
        network=post.network,
        post_id=post.post_id,
        author_id=post.author_id,
        author_handle=post.author_handle,
        created_at=post.created_at,
        has_shop_link=bool(values["has_shop_link"]),
        parent_id=values["parent_id"],
        list_kind=values["list_kind"],
        quantity=values["quantity"],
        position=values["position"],
        words=tuple(values["words"].split()) if values["words"] else (),
    )


def _made_order(post: StoredPost) -> tuple[datetime, str]:
    return post.created_at, post.post_id
