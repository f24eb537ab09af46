"""Listening to the shop's Mastodon server: its streaming API, caught up through REST.

Two kinds of stream, each its own task and its own connection (server-sent events):
- `/api/v1/streaming/user/notification`, the shop account's notifications: a reply to the
  shop's post mentions the shop, wherever in the fediverse it was written and whatever its
  visibility, so this is the main source of triggers;
- `/api/v1/streaming/hashtag?tag=<tag>` for each trigger and link tag: public posts with
  the tag that the server knows of (a `#cartlink CODE` post mentions nobody).

A live sale's claim (`sold 12`, issue 13) carries no tag, and a reply whose author took the
shop's @mention out raises no notification (Mastodon notifies mentions, not replies:
mastodon/mastodon#5797, #10865). So while a sale is open, each of its Mastodon posts' replies
are also read through REST every SALE_POLL_SECONDS (`GET /api/v1/statuses/:id/context`, one
request a post: well inside the 300 requests a user token may make in 5 minutes), and the
direct replies not handed over yet go to the sink (the engine drops repeats). Such a claim
arrives up to that much later than a streamed one: past the settle window it still counts,
but only for the units left (and is told it went to the waitlist).

Each event (`event:` + `data:`) is handed to the sink as the WebSocket-shaped message the
decoder reads, `{"stream": [...], "event": ..., "payload": "<data>"}`. Heartbeat lines
(`:thump`) are no events, but they are bytes: the connection's read timeout counts them as
life, and a stream silent for `idle_seconds` is dropped and reopened.

No gap after a disconnect: each stream keeps a cursor in `stream_cursors` (the newest
notification or status id handled, saved after the sink committed it). A (re)connect opens
the stream first, then catches up through REST from the cursor, oldest first, and only then
reads the events the stream has held meanwhile. Catch-up and stream may both bring a post:
the engine drops repeats. The very first start begins at the newest post (history is
`hashcart ingest`'s job), so a merchant's first start does not answer months-old replies.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from httpx_sse import ServerSentEvent, aconnect_sse

from hashcart.backoff import Backoff, Wait, wait_or_stop
from hashcart.domain.triggers import normalize_tag
from hashcart.errors import HashcartError
from hashcart.networks.formats import Format
from hashcart.networks.mastodon.api import (
    Item,
    MastodonApi,
    MastodonApiError,
    MastodonError,
    id_order,
    is_newer,
)
from hashcart.ports import Cursor, LiveSink, ShopTags

log = logging.getLogger(__name__)

NOTIFICATIONS_CURSOR = "mastodon:notifications"
# Reconnects: 1 s after the first failure, doubling to a minute, with jitter.
RECONNECT = Backoff(1, 60)
# Mastodon's streaming server sends a heartbeat comment every 15 s or so.
IDLE_SECONDS = 60.0
# How often the shop's tags are re-read, so a tag added in the console gets its stream.
REFRESH_SECONDS = 60.0
STREAM_SOURCE = "mastodon-stream"
CATCH_UP_SOURCE = "mastodon-catch-up"
SALE_SOURCE = "mastodon-sale-replies"
# How often an open sale's posts' replies are read (see the module's text).
SALE_POLL_SECONDS = 5.0
# Mastodon's status ids are snowflakes (`milliseconds << 16 | sequence`) taken from the post's
# own time, so a remote post that federates late gets an id older than posts seen before it.
# A tag stream's catch-up therefore starts this far behind its cursor (repeats are dropped).
TAG_REWIND_MILLISECONDS = 10 * 60 * 1000
# An error answer's body is read this far, for Mastodon's `error` text.
_MAX_ERROR_BODY = 64 * 1024

# Waits `seconds`, or less when `stop` is set: reconnect delays (tests record them).


class StreamEnded(HashcartError):
    """The server closed the stream (a restart, a deploy, a proxy's limit), or answered
    with something that is not one."""


@dataclass(frozen=True)
class Stream:
    """One server-sent-event stream of the shop's server, and how to catch up on it."""

    cursor: str  # its name in `stream_cursors`
    path: str
    params: tuple[tuple[str, str], ...]
    names: tuple[str, ...]  # the `stream` of the messages made of its events
    # The event whose id is the cursor's kind (a notification id, or a status id).
    cursor_event: str
    # REST: the page after `min_id` (oldest first page), or the newest `limit` without it.
    fetch: Callable[[MastodonApi, str | None, int | None], list[Item]]
    rewind_ms: int = 0


def _notifications(api: MastodonApi, min_id: str | None, limit: int | None) -> list[Item]:
    if limit is None:
        return api.mention_notifications(min_id)
    return api.mention_notifications(min_id, limit)


def notification_stream() -> Stream:
    return Stream(
        cursor=NOTIFICATIONS_CURSOR,
        path="/api/v1/streaming/user/notification",
        params=(),
        names=("user:notification",),
        cursor_event="notification",
        fetch=_notifications,
    )


def tag_stream(tag: str) -> Stream:
    def fetch(api: MastodonApi, min_id: str | None, limit: int | None) -> list[Item]:
        if limit is None:
            return api.tag_timeline(tag, min_id)
        return api.tag_timeline(tag, min_id, limit)

    return Stream(
        cursor=f"mastodon:tag:{tag}",
        path="/api/v1/streaming/hashtag",
        params=(("tag", tag),),
        names=("hashtag", tag),
        cursor_event="update",
        fetch=fetch,
        rewind_ms=TAG_REWIND_MILLISECONDS,
    )


def streams_for(shop: ShopTags) -> list[Stream]:
    """The notification stream, and one hashtag stream per trigger and link tag (in the
    form tags compare by, each once)."""
    tags = dict.fromkeys(normalize_tag(word) for word in shop.every_tag)
    return [notification_stream(), *(tag_stream(tag) for tag in tags)]


def _rewound(cursor: str, milliseconds: int) -> str:
    if not milliseconds or not cursor.isdigit():
        return cursor
    return str(max(0, int(cursor) - (milliseconds << 16)))


class _HasId(msgspec.Struct):
    id: str


class _Reply(msgspec.Struct):
    id: str
    in_reply_to_id: str | None = None


def _id_of(data: str) -> str | None:
    try:
        return msgspec.json.decode(data, type=_HasId).id
    except msgspec.DecodeError:
        return None  # the sink keeps the payload as a dead letter, with the reason


@dataclass
class _Session:
    """What one connection got to: caught up and following the stream, or not."""

    live: bool = False


class MastodonStreamListener:
    """The `mastodon` listener: the shop account's notifications and the shop's tags."""

    name = "mastodon"

    def __init__(
        self,
        sink: LiveSink,
        api: MastodonApi,
        *,
        backoff: Backoff = RECONNECT,
        wait: Wait = wait_or_stop,
        rng: random.Random | None = None,
        idle_seconds: float = IDLE_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
        page_size: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sale_poll_seconds: float = SALE_POLL_SECONDS,
    ) -> None:
        self.sink = sink
        self.api = api
        self.backoff = backoff
        self.wait = wait
        self.rng = rng or random.Random()
        self.idle_seconds = idle_seconds
        self.refresh_seconds = refresh_seconds
        # Catch-up page size (None: the most the server allows).
        self.page_size = page_size
        self.transport = transport
        self._streaming_base: str | None = None
        # Each stream's cursor as last loaded or saved.
        self._cursors: dict[str, str | None] = {}
        self.sale_poll_seconds = sale_poll_seconds
        # The replies to sale posts handed to the sink by this process (ids).
        self._sale_replies_seen: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        running: dict[str, asyncio.Task[None]] = {}
        running["sale replies"] = asyncio.create_task(self._watch_sales(stop))
        try:
            while not stop.is_set():
                wanted = await self._wanted_streams()
                if wanted is not None:
                    for name in running.keys() - wanted.keys() - {"sale replies"}:
                        running.pop(name).cancel()
                    for name, stream in wanted.items():
                        if name not in running or running[name].done():
                            running[name] = asyncio.create_task(
                                self.follow(stream, stop), name=f"mastodon {name}"
                            )
                await wait_or_stop(self.refresh_seconds, stop)
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _watch_sales(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.read_sale_replies()
            except Exception as error:  # the server or the database: the next round retries
                log.warning("Mastodon sale replies: %s", _describe(error))
            await wait_or_stop(self.sale_poll_seconds, stop)

    async def read_sale_replies(self) -> int:
        """One round: the open sales' Mastodon posts' direct replies not handed over yet,
        to the sink. How many were."""
        shop = await asyncio.to_thread(self.sink.current_tags)
        posts = [post for network, post in shop.open_sale_posts if network == "mastodon"]
        handed = 0
        for post in posts:
            found = await asyncio.to_thread(self.api.replies_to, post)
            fresh: dict[str, bytes] = {}
            for raw in found:
                try:
                    reply = msgspec.json.decode(raw, type=_Reply)
                except msgspec.DecodeError:
                    continue  # not a status: nothing a claim could be
                if reply.in_reply_to_id == post and reply.id not in self._sale_replies_seen:
                    fresh[reply.id] = raw
            if fresh:
                ordered = sorted(fresh, key=id_order)
                await asyncio.to_thread(
                    self.sink.ingest,
                    SALE_SOURCE,
                    Format.MASTODON,
                    [fresh[key] for key in ordered],
                )
                self._sale_replies_seen.update(ordered)
                handed += len(ordered)
        return handed

    async def _wanted_streams(self) -> dict[str, Stream] | None:
        try:
            shop = await asyncio.to_thread(self.sink.current_tags)
        except Exception as error:  # the database is away: keep the streams we have
            log.warning("Mastodon listener could not read the shop's tags: %r", error)
            return None
        return {stream.cursor: stream for stream in streams_for(shop)}

    async def follow(self, stream: Stream, stop: asyncio.Event) -> None:
        """Follow one stream until `stop`: connect, catch up, read; after any failure wait
        (backoff, reset once a connection was live) and do it again."""
        failures = 0
        while not stop.is_set():
            session = _Session()
            try:
                await _until_stopped(self._connect(stream, session), stop)
            except Exception as error:  # whatever broke (network, server, database): reconnect
                log.warning("Mastodon stream %s: %s", stream.cursor, _describe(error))
                if not session.live:
                    self._streaming_base = None  # ask again where the streaming server is
            if stop.is_set():
                return
            failures = 1 if session.live else failures + 1
            await self.wait(self.backoff.delay(failures, self.rng), stop)

    async def _connect(self, stream: Stream, session: _Session) -> None:
        base = await self._streaming_server()
        timeout = httpx.Timeout(10.0, read=self.idle_seconds)
        headers = {"Authorization": f"Bearer {self.api.access_token}", "User-Agent": "hashcart"}
        async with (
            httpx.AsyncClient(timeout=timeout, transport=self.transport) as client,
            aconnect_sse(
                client, "GET", base + stream.path, params=stream.params, headers=headers
            ) as source,
        ):
            response = source.response
            if response.status_code != 200:
                raise MastodonApiError.of(response, await _error_body(response))
            kind = response.headers.get("content-type", "")
            if "text/event-stream" not in kind:
                raise StreamEnded(f"the server answered {kind[:60]!r}, not an event stream")
            await self._catch_up(stream)
            session.live = True
            log.info("Mastodon stream %s: caught up, following", stream.cursor)
            async for event in source.aiter_sse():
                await self._take(stream, event)
        raise StreamEnded("the server closed the stream")

    async def _streaming_server(self) -> str:
        """The streaming server's base URL (`configuration.urls.streaming`), asked once and
        remembered; the main host when the server does not say (it redirects or serves)."""
        if self._streaming_base is None:
            try:
                self._streaming_base = await asyncio.to_thread(self.api.streaming_url)
            except MastodonError as error:
                log.warning("Mastodon instance lookup failed: %s", error)
        return self._streaming_base or self.api.base_url

    async def _catch_up(self, stream: Stream) -> None:
        cursor = await asyncio.to_thread(self.sink.read_cursor, stream.cursor)
        self._cursors[stream.cursor] = cursor
        if cursor is None:
            newest = await asyncio.to_thread(stream.fetch, self.api, None, 1)
            # "0" when there is nothing yet: everything after that is new.
            await self._ingest(stream, CATCH_UP_SOURCE, [], newest[0].id if newest else "0")
            return
        position = _rewound(cursor, stream.rewind_ms)
        while True:
            page = await asyncio.to_thread(stream.fetch, self.api, position, self.page_size)
            fresh = sorted(
                (item for item in page if is_newer(item.id, position)),
                key=lambda item: id_order(item.id),
            )
            if not fresh:
                return
            position = fresh[-1].id
            await self._ingest(stream, CATCH_UP_SOURCE, [item.raw for item in fresh], position)

    async def _take(self, stream: Stream, event: ServerSentEvent) -> None:
        message: dict[str, Any] = {"stream": list(stream.names), "event": event.event}
        if event.data:
            message["payload"] = event.data
        payload = msgspec.json.encode(message)
        newest = _id_of(event.data) if event.event == stream.cursor_event else None
        await self._ingest(stream, STREAM_SOURCE, [payload], newest)

    async def _ingest(
        self, stream: Stream, source: str, payloads: list[bytes], newest: str | None
    ) -> None:
        """Hand `payloads` to the sink, with the stream's cursor at `newest` when that is
        newer than the one saved (ids compare by age): the two commit together."""
        cursor = None
        if newest is not None and is_newer(newest, self._cursors.get(stream.cursor)):
            cursor = Cursor(stream.cursor, newest)
        if payloads or cursor is not None:
            await asyncio.to_thread(
                self.sink.ingest, source, Format.MASTODON, payloads, cursor=cursor
            )
        if cursor is not None:
            self._cursors[stream.cursor] = cursor.value


async def _until_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """Run `work` until it ends or `stop` is set (then it is cancelled); its errors rise."""
    task = asyncio.create_task(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if not task.cancelled():
        task.result()


async def _error_body(response: httpx.Response) -> bytes:
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= _MAX_ERROR_BODY:
            break
    return body[:_MAX_ERROR_BODY]


def _describe(error: Exception) -> str:
    """A log line for a failure: its kind and message (no URL holds a token here)."""
    if isinstance(error, (MastodonError, StreamEnded)):
        return str(error)
    return f"{type(error).__name__}: {error}"
