"""Listening to X's filtered stream (v2): rules kept in sync with the shop, lines to the sink.

Rules (docs.x.com filtered-stream "build a rule"): the stream carries only what the shop
needs, `(#cart OR #wishlist) to:<shop handle> -is:retweet` (replies to the shop that ask for
something), `(#order OR #confirm) @<shop handle> -is:retweet` (posts that ask the shop
itself), `#summer20 (to:<shop handle> OR @<shop handle>) -is:retweet` (the offers on now, in
posts that reach the shop) and `#cartlink -is:retweet` (shoppers linking their account).
A live sale's claims (`sold 12`, issue 13) carry no tag and need not mention the shop: while
a sale is open, `(conversation_id:<post> OR …) -is:retweet` asks for the replies in each of
its X posts' conversations (`conversation_id:`, a standalone operator:
filtered-stream/integrate/operators.mdx; replies to replies come too, and the claim handler
ignores them). Each rule is at most 1,024 characters (pay-per-use:
filtered-stream/introduction.mdx "Access levels", fundamentals/rate-limits.mdx), split over
several rules when the tags or sale posts are many, and tagged `hashcart:…`: stale rules
are deleted only when they carry that prefix, so rules another tool keeps on the same app
are never touched.

The rules are synced before each connection and, while one is open, again whenever the
shop's wanted rules changed (a sale opened or closed, a tag or offer added): checked at
most every RULES_RECHECK on the listener's clock, on each line or keep-alive X sends
(every 20 s at the least), so a sale's claims stream within about 20 seconds of its
opening without a reconnect. X applies a rule change to an open connection.

The connection asks for the parent post in `includes.tweets` (expansions=referenced_tweets.id)
so a reply arrives with the post it answers. X sends a blank `\\r\\n` every 20 seconds and
the read timeout is 20 seconds, as fundamentals/handling-disconnections.mdx says to set it.
Reconnects follow the same page: an established connection that drops is reopened at once;
a failed reconnect backs off: network errors +250 ms each up to 16 s, HTTP errors doubling
from 5 s up to 320 s, HTTP 429 doubling from a minute, or exactly until `x-rate-limit-reset`
when X says the window is spent. A 409 (response-codes-and-errors.mdx: "Stream has no
rules") puts the rules in place again before the next connection.

Nothing is lost across a gap: before each connection the listener reads the shop's mentions
since the newest post it has seen (catch_up.py), and every line it takes moves that cursor.
Where the plan has it (Enterprise), the stream's own backfill is asked for too
(fundamentals/recovery-and-redundancy.mdx, "For disconnections of 5 minutes or less": the
`backfill_minutes` parameter, 1 to 5): `x_stream_backfill_minutes` caps it, a reconnect asks
for the minutes since the last connection that delivered ended (rounded up), and the first
connection after a restart for the whole cap. X does not deduplicate what it sends again
("Your system should be tolerant of duplicates"): the engine's exactly-once ingest drops the
repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx

from hashcart.backoff import Backoff, Wait, wait_or_stop
from hashcart.domain.posts import Network
from hashcart.networks.formats import Format
from hashcart.networks.rate_limits import retry_after
from hashcart.networks.x.api import (
    POST_EXPANSIONS,
    POST_FIELDS,
    USER_FIELDS,
    NewRule,
    XApi,
    XApiError,
    XError,
)
from hashcart.networks.x.catch_up import (
    MENTIONS_CURSOR,
    mentions_since,
    newer,
    newest_mention,
)
from hashcart.ports import Cursor
from hashcart.sources import MAX_LINE_BYTES, OVERSIZED_HEAD_BYTES

if TYPE_CHECKING:
    from hashcart.ports import LiveSink

log = logging.getLogger(__name__)

STREAM_PATH = "/2/tweets/search/stream"
RULE_TAG_PREFIX = "hashcart:"
TRIGGER_RULE_TAG = RULE_TAG_PREFIX + "triggers"
LINK_RULE_TAG = RULE_TAG_PREFIX + "link"
# Posts that ask the shop itself, mentioning it (`@shop #order`, issue 12).
ADDRESSED_RULE_TAG = RULE_TAG_PREFIX + "addressed"
# Offer tags (issue 12) in posts that reach the shop: replies to it (its offer post) or
# mentions of it; never every post on X with the tag (each one is billed).
OFFER_RULE_TAG = RULE_TAG_PREFIX + "offers"
# Replies in an open live sale's posts' conversations (issue 13): claims carry no tag.
SALES_RULE_TAG = RULE_TAG_PREFIX + "sales"
MAX_RULE_LENGTH = 1024
# While connected, the wanted rules are compared with those in place at most this often.
RULES_RECHECK = timedelta(seconds=5)
# An X post id: digits (a sale post given otherwise would make X refuse the whole request).
_POST_ID = re.compile(r"[0-9]{1,19}")
# X's keep-alive comes every 20 s; "set [the read timeout] to 20 seconds"
# (handling-disconnections.mdx).
STALL_SECONDS = 20.0
# The stream's source name in dead letters and stats.
SOURCE = "x-stream"
CATCH_UP_SOURCE = "x-mentions"

# X's documented reconnect schedules (no jitter: one connection per app, nobody to spread).
NETWORK_BACKOFF = Backoff(first=0.25, cap=16.0, linear=True, jitter=False)
HTTP_BACKOFF = Backoff(first=5.0, cap=320.0, jitter=False)
RATE_LIMIT_BACKOFF = Backoff(first=60.0, cap=960.0, jitter=False)
_BACKOFFS = {"network": NETWORK_BACKOFF, "http": HTTP_BACKOFF, "rate_limit": RATE_LIMIT_BACKOFF}

# X handles: letters, digits and underscore, at most 15 (an `@` in the settings is dropped).
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")

_T = TypeVar("_T")


# --- rules --------------------------------------------------------------------------------


def desired_rules(
    trigger_tags: Sequence[str],
    link_tags: Sequence[str],
    shop_handle: str | None,
    addressed_tags: Sequence[str] = (),
    offer_tags: Sequence[str] = (),
    sale_posts: Sequence[str] = (),
) -> list[NewRule]:
    """The rules the shop needs. Without a usable handle there is no trigger rule (a bare
    `#cart` rule would stream, and bill, every such post on X): only the link rule.
    `addressed_tags` (`#order`) are asked for in posts that mention the shop, `@handle`;
    `offer_tags` (`#summer20`) in replies to the shop (`to:handle`: its offer post) or
    posts that mention it, and not at all without a handle. `sale_posts` (the open live
    sales' X post ids) are asked for by their conversations, handle or not."""
    rules: list[NewRule] = []
    handle = (shop_handle or "").strip().removeprefix("@")
    if _HANDLE.fullmatch(handle):
        suffix = f" to:{handle} -is:retweet"
        rules += [NewRule(value, TRIGGER_RULE_TAG) for value in _or_groups(trigger_tags, suffix)]
        mention = f" @{handle} -is:retweet"
        rules += [
            NewRule(value, ADDRESSED_RULE_TAG) for value in _or_groups(addressed_tags, mention)
        ]
        reach = f" (to:{handle} OR @{handle}) -is:retweet"
        rules += [NewRule(value, OFFER_RULE_TAG) for value in _or_groups(offer_tags, reach)]
    elif trigger_tags or addressed_tags or offer_tags:
        log.warning("x_shop_handle is not set (or not a handle): no stream rule for triggers")
    rules += [NewRule(value, LINK_RULE_TAG) for value in _or_groups(link_tags, " -is:retweet")]
    conversations = []
    for post_id in sale_posts:
        if _POST_ID.fullmatch(post_id):
            conversations.append(f"conversation_id:{post_id}")
        else:
            log.warning("sale post %r is no X post id: no stream rule for it", post_id[:40])
    rules += [NewRule(value, SALES_RULE_TAG) for value in _or_rules(conversations, " -is:retweet")]
    return rules


def _or_groups(tags: Sequence[str], suffix: str) -> list[str]:
    """`(#a OR #b …)suffix` rules, as few as fit MAX_RULE_LENGTH each."""
    return _or_rules([f"#{tag}" for tag in tags], suffix)


def _or_rules(terms: Sequence[str], suffix: str) -> list[str]:
    """`(a OR b …)suffix` rules of the terms (each once), as few as fit MAX_RULE_LENGTH each."""
    terms = list(dict.fromkeys(terms))
    rules: list[str] = []
    group: list[str] = []

    def rule_of(items: list[str]) -> str:
        head = items[0] if len(items) == 1 else "(" + " OR ".join(items) + ")"
        return head + suffix

    for term in terms:
        if group and len(rule_of([*group, term])) > MAX_RULE_LENGTH:
            rules.append(rule_of(group))
            group = []
        if len(rule_of([term])) > MAX_RULE_LENGTH:
            log.warning("%r makes a stream rule longer than X allows: left out", term[:40])
            continue
        group.append(term)
    if group:
        rules.append(rule_of(group))
    return rules


def sync_rules(api: XApi, wanted: Sequence[NewRule]) -> tuple[int, int]:
    """Make the app's `hashcart:` rules exactly `wanted`: (added, deleted). Rules with other
    tags are left as they are; a wanted value another rule already holds is not added again."""
    current = api.stream_rules()
    wanted_values = {rule.value for rule in wanted}
    stale = [
        rule.id
        for rule in current
        if (rule.tag or "").startswith(RULE_TAG_PREFIX) and rule.value not in wanted_values
    ]
    held = {rule.value for rule in current if rule.id not in stale}
    missing = [rule for rule in wanted if rule.value not in held]
    api.delete_rules(stale)
    api.add_rules(missing)
    return len(missing), len(stale)


# --- the listener -------------------------------------------------------------------------


@dataclass(frozen=True)
class Disconnect:
    """How a connection ended: what kind of failure picks the backoff; `healthy` says it
    delivered something first (which resets the backoff); `not_before` is X's say-so."""

    kind: Literal["network", "http", "rate_limit"]
    reason: str
    healthy: bool = False
    not_before_seconds: float | None = None


class FilteredStreamListener:
    """The `x_stream` listener."""

    name = "x_stream"

    def __init__(
        self,
        sink: LiveSink,
        api: XApi,
        *,
        shop_handle: str | None = None,
        wait: Wait = wait_or_stop,
        stall_seconds: float = STALL_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.sink = sink
        self.api = api
        # A fixed handle; None reads `x_shop_handle` from the settings in force (the console
        # may change it) before every connection.
        self.shop_handle = shop_handle
        self.wait = wait
        self.stall_seconds = stall_seconds
        self.transport = transport
        self._synced: list[NewRule] | None = None
        # When the rules were last compared with the shop's while connected (RULES_RECHECK).
        self._checked_at: datetime | None = None
        # The newest post id taken (the mentions cursor), read from the store at the first
        # connection; None until then.
        self._newest: str | None = None
        self._newest_read = False
        self._told_no_user_id = False
        # Whether the listener ran before this process (a stored mentions cursor), and when
        # this process's last connection ended: what the stream's backfill is asked for.
        self._ran_before = False
        self._dropped_at: datetime | None = None
        # What the last connections did, for logs and tests.
        self.connections = 0
        self.lines = 0

    async def run(self, stop: asyncio.Event) -> None:
        failures: dict[str, int] = {}
        while not stop.is_set():
            ended = await _until(stop, self._connect_once())
            if ended is None:
                break
            if ended.healthy:
                # The disconnection starts when a connection that delivered ends; failed
                # attempts to reconnect after it do not move that.
                self._dropped_at = self.sink.now()
            if ended.healthy:
                failures.clear()
                if ended.kind == "network":
                    # "Once an established connection drops, attempt to reconnect
                    # immediately" (handling-disconnections.mdx).
                    log.warning("X stream: %s; reconnecting now", ended.reason)
                    continue
            failures[ended.kind] = failures.get(ended.kind, 0) + 1
            delay = _BACKOFFS[ended.kind].delay(failures[ended.kind])
            if ended.not_before_seconds:
                # X said when its window resets: wait exactly until then.
                delay = ended.not_before_seconds
            log.warning("X stream: %s; reconnecting in %.2f s", ended.reason, delay)
            await self.wait(delay, stop)

    async def _connect_once(self) -> Disconnect:
        try:
            return await self._sync_and_read()
        except Exception as error:  # a listener outlives any one failure
            # Not X's doing (the database, a bug): logged whole, retried on the HTTP schedule.
            log.exception("X stream stopped by an unexpected error")
            return Disconnect("http", f"unexpected {type(error).__name__}")

    async def _sync_and_read(self) -> Disconnect:
        try:
            await self._sync_rules_if_changed()
        except XApiError as error:
            return _http_failure(error.status, error.headers, self.sink, f"rule sync: {error}")
        except XError as error:
            return Disconnect("network", f"rule sync: {error}")
        try:
            await asyncio.to_thread(self._catch_up)
        except XApiError as error:
            return _http_failure(error.status, error.headers, self.sink, f"catch-up: {error}")
        except XError as error:
            return Disconnect("network", f"catch-up: {error}")
        timeout = httpx.Timeout(10.0, read=self.stall_seconds)
        bearer = self.api.bearer_token or ""
        async with httpx.AsyncClient(
            base_url=self.api.base_url.rstrip("/"),
            timeout=timeout,
            transport=self.transport,
            headers={"User-Agent": "hashcart"},
        ) as client:
            return await self._read_stream(client, bearer)

    async def _read_stream(self, client: httpx.AsyncClient, bearer: str) -> Disconnect:
        params = {
            "tweet.fields": POST_FIELDS,
            "expansions": POST_EXPANSIONS,
            "user.fields": USER_FIELDS,
        }
        minutes = await asyncio.to_thread(self.backfill_minutes)
        if minutes:
            params["backfill_minutes"] = str(minutes)
        healthy = False
        try:
            async with client.stream(
                "GET", STREAM_PATH, params=params, headers={"Authorization": f"Bearer {bearer}"}
            ) as response:
                self.connections += 1
                if response.status_code == 409:
                    # No rules held (deleted elsewhere, or X lost them): put them back
                    # before the next connection.
                    self._synced = None
                if response.status_code != 200:
                    body = await _head_of(response)
                    return _http_failure(
                        response.status_code,
                        response.headers,
                        self.sink,
                        f"HTTP {response.status_code} {body[:200]!r}",
                    )
                async for line in _lines(response.aiter_bytes()):
                    healthy = True
                    if line:
                        await asyncio.to_thread(self._take, line)
                        self.lines += 1
                    await self._recheck_rules()
        except httpx.TransportError as error:
            return Disconnect("network", type(error).__name__, healthy)
        return Disconnect("network", "X closed the stream", healthy)

    def backfill_minutes(self) -> int:
        """The minutes of the stream to ask X for again on this connection (0: none)."""
        cap = int(self.sink.setting("x_stream_backfill_minutes") or 0)
        if cap <= 0:
            return 0
        if self._dropped_at is None:
            # This process's first connection: after a restart, as much as allowed (how
            # long it was down is not known); a first run ever replays nothing.
            return min(cap, 5) if self._ran_before else 0
        lasted = (self.sink.now() - self._dropped_at).total_seconds()
        return max(1, min(cap, 5, math.ceil(lasted / 60)))

    def _take(self, line: bytes) -> None:
        """Ingest one stream line, moving the mentions cursor past it when it is newer."""
        post_id = _post_id_of(line)
        moved = newer(post_id, self._newest)
        cursor = Cursor(MENTIONS_CURSOR, post_id) if moved and post_id else None
        self.sink.ingest(SOURCE, Format.X_V2, [line], cursor=cursor)
        if moved:
            self._newest = post_id

    def _catch_up(self) -> None:
        """The shop's mentions since the newest post taken (see catch_up.py); without a
        stored cursor (a first run), only where to count from. Needs `x_shop_user_id`."""
        if not self._newest_read:
            self._newest = self.sink.read_cursor(MENTIONS_CURSOR) or None
            self._newest_read = True
            self._ran_before = self._newest is not None
        user_id = self.sink.setting("x_shop_user_id")
        if not user_id:
            if not self._told_no_user_id:
                log.warning("x_shop_user_id is not set: no catch-up on mentions after a gap")
                self._told_no_user_id = True
            return
        if self._newest is None:
            newest = newest_mention(self.api, user_id)
            if newest is not None:
                self.sink.ingest(
                    CATCH_UP_SOURCE, Format.X_V2, [], cursor=Cursor(MENTIONS_CURSOR, newest)
                )
                self._newest = newest
            return
        found = mentions_since(self.api, user_id, self._newest)
        # The cursor only ever moves forward (and only to an X id: newer() checks).
        moved = newer(found.newest_id, self._newest)
        if found.lines or moved:
            cursor = Cursor(MENTIONS_CURSOR, found.newest_id or "") if moved else None
            self.sink.ingest(CATCH_UP_SOURCE, Format.X_V2, found.lines, cursor=cursor)
            if moved:
                self._newest = found.newest_id
            log.info("X catch-up: %d mentions since the last one taken", len(found.lines))

    async def _recheck_rules(self) -> None:
        """While connected: sync the rules when the shop wants others now (a sale opened or
        closed), at most every RULES_RECHECK. A failure is logged and tried again at the next
        check; the connection goes on."""
        now = self.sink.now()
        if self._checked_at is not None and now - self._checked_at < RULES_RECHECK:
            return
        self._checked_at = now
        try:
            await self._sync_rules_if_changed()
        except XError as error:  # XApiError too
            log.warning("X stream: rule sync while connected: %s; tried again later", error)

    async def _sync_rules_if_changed(self) -> None:
        shop = await asyncio.to_thread(self.sink.current_tags)
        handle = self.shop_handle
        if handle is None:
            handle = await asyncio.to_thread(self.sink.setting, "x_shop_handle")
        wanted = desired_rules(
            shop.reply_tags,
            shop.post_tags,
            handle,
            shop.addressed_tags,
            shop.offer_tags,
            [post_id for network, post_id in shop.open_sale_posts if network == Network.X],
        )
        if not wanted:
            log.warning("no stream rule to put in place: X answers such a stream with 409")
        if wanted == self._synced:
            return
        added, deleted = await asyncio.to_thread(sync_rules, self.api, wanted)
        log.info("X stream rules synced: %d added, %d deleted", added, deleted)
        self._synced = wanted


def _http_failure(
    status: int, headers: Mapping[str, str], sink: LiveSink, reason: str
) -> Disconnect:
    """An HTTP error answer: 429 backs off from a minute (or as long as X says), others
    from 5 s; a 5xx and a 4xx alike, since X documents one schedule for HTTP errors."""
    if status != 429:
        return Disconnect("http", reason)
    now = sink.now()
    until = retry_after(headers, now)
    seconds = (until - now).total_seconds() if until is not None else None
    return Disconnect("rate_limit", reason, not_before_seconds=seconds)


def _post_id_of(line: bytes) -> str | None:
    """`data.id` of a stream line (a few a minute: the shop's triggers), None if absent."""
    try:
        found = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    data = found.get("data") if isinstance(found, dict) else None
    post_id = data.get("id") if isinstance(data, dict) else None
    return post_id if isinstance(post_id, str) else None


async def _head_of(response: httpx.Response) -> bytes:
    """The start of an error answer, for the log; the rest is not read."""
    head = b""
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) >= 1024:
            break
    return head[:1024]


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The stream as lines without their `\\r\\n`; blank keep-alives come as b"". A line
    longer than the engine takes comes as its start (the engine dead-letters it), and the
    rest of it is read past without being kept."""
    carry = b""
    skipping = False
    async for chunk in chunks:
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            skipping, chunk = False, chunk[newline + 1 :]
        carry += chunk
        *complete, carry = carry.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r")
        if len(carry) > MAX_LINE_BYTES:
            yield carry[:OVERSIZED_HEAD_BYTES]
            carry, skipping = b"", True
    if carry.strip():
        yield carry.rstrip(b"\r")


async def _until(stop: asyncio.Event, work: Coroutine[Any, Any, _T]) -> _T | None:
    """Run `work` until it ends or `stop` is set (then cancel it and return None)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopper):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
    if stop.is_set() or task.cancelled():
        return None
    return task.result()
