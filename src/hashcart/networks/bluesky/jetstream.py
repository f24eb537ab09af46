"""Listening to Bluesky through Jetstream (v1 JSON over a websocket).

Jetstream is not self-authenticating: its events carry no signature, so anyone between us
and the network could forge a `#cart` in a shopper's name. A post that would change a cart
or a link (`sink.needs_confirmation`) is therefore confirmed against its author's own
repository first: the PDS must hold that record with the event's CID. Otherwise it is
dropped, counted and logged; everything else goes to the engine as it came.

The cursor is the last event's `time_us`, saved after the engine committed the batch; a
(re)connection resumes from it minus REWIND (Jetstream's own advice: repeats are harmless,
the engine drops them; a gap would not be). Jetstream keeps about 36 hours and resumes an
older cursor silently at its oldest event: the first event after a resume tells, and the
shop's threads for the skipped time are read from the AppView and ingested like live events
before the stream goes on (networks/bluesky/backfill). The last gap is kept as the
`jetstream.gap` entry of `stream_cursors`, written with what the backfill ingested.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
import websockets

from hashcart.backoff import Backoff, Wait, wait_or_stop
from hashcart.networks.bluesky.backfill import Gap, ThreadBackfill, gap_between
from hashcart.networks.bluesky.records import POST_COLLECTION, AtUri, RecordReader
from hashcart.networks.bluesky.streams import (
    DEFAULT_BACKOFF,
    ConfirmLater,
    ConfirmRetries,
    Reconnecting,
    acting_post,
    receive_batch,
)
from hashcart.networks.bluesky.xrpc import BlueskyUnreachable, XrpcError
from hashcart.networks.formats import Format
from hashcart.ports import Cursor, LiveSink

log = logging.getLogger(__name__)

REWIND_US = 5_000_000
# Jetstream's own cap on what it sends us (it skips larger events); the socket allows more.
MAX_EVENT_BYTES = 1024 * 1024
_SOCKET_MAX_SIZE = 2 * MAX_EVENT_BYTES
# Where the last gap is kept (a `stream_cursors` entry), and the source backfilled lines
# are ingested under (dead letters name it).
GAP_RECORD = "jetstream.gap"
BACKFILL_SOURCE = "jetstream-backfill"


class BackfillLater(ConfirmLater):
    """The shop's threads for a gap could not be read now: the stream does not go on past
    the gap (its cursor stays before it), it reconnects with backoff and finds it again."""


class _Commit(msgspec.Struct):
    collection: str | None = None
    rkey: str | None = None
    cid: str | None = None


class _Envelope(msgspec.Struct):
    did: str | None = None
    time_us: int | None = None
    commit: _Commit | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class JetstreamListener:
    name = "jetstream"

    def __init__(
        self,
        url: str,
        sink: LiveSink,
        records: RecordReader,
        *,
        backfill: ThreadBackfill | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        wait: Wait = wait_or_stop,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.sink = sink
        self.records = records
        self.backfill = backfill
        self.reconnecting = Reconnecting(self.name, backoff, wait, rng)
        self.events = 0
        self.unconfirmed = 0
        self.retries = ConfirmRetries()
        self.gaps = 0
        # The stored cursor the current connection resumed from, until its first event.
        self._resumed_from: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        await self.reconnecting.run(stop, lambda: self._connection(stop))

    def subscribe_url(self) -> str:
        """The subscription URL: posts only, from the stored cursor minus REWIND."""
        parts = urlsplit(self.url)
        query = [
            (name, value)
            for name, value in parse_qsl(parts.query)
            if name not in ("wantedCollections", "cursor", "maxMessageSizeBytes")
        ]
        query += [
            ("wantedCollections", POST_COLLECTION),
            ("maxMessageSizeBytes", str(MAX_EVENT_BYTES)),
        ]
        cursor = _as_int(self.sink.read_cursor(self.name))
        self._resumed_from = cursor
        if cursor is not None:
            query.append(("cursor", str(max(cursor - REWIND_US, 0))))
        return urlunsplit(parts._replace(query=urlencode(query)))

    async def _connection(self, stop: asyncio.Event) -> None:
        url = await asyncio.to_thread(self.subscribe_url)
        async with websockets.connect(
            url, max_size=_SOCKET_MAX_SIZE, open_timeout=15, ping_interval=20
        ) as socket:
            log.info("jetstream: connected")
            while True:
                batch = await receive_batch(socket, stop)
                if batch is None:
                    return
                if self._resumed_from is not None:
                    await asyncio.to_thread(self._mind_the_gap, self._resumed_from, batch)
                self.reconnecting.healthy()
                await asyncio.to_thread(self._process, batch)

    def _process(self, batch: list[bytes]) -> None:
        """Confirm what must be, hand the rest to the engine with the cursor (they commit
        together). A post that cannot be confirmed now ends the batch before it
        (ConfirmLater)."""
        kept: list[bytes] = []
        cursor: int | None = None
        try:
            for message in batch:
                self.events += 1
                envelope = _envelope(message)
                if self._confirmed(message, envelope):
                    kept.append(message)
                if envelope is not None and envelope.time_us is not None:
                    cursor = envelope.time_us if cursor is None else max(cursor, envelope.time_us)
        finally:
            if kept or cursor is not None:
                reached = None if cursor is None else Cursor(self.name, str(cursor))
                self.sink.ingest(self.name, Format.JETSTREAM, kept, cursor=reached)

    def _mind_the_gap(self, stored: int, batch: list[bytes]) -> None:
        """Compare the first event after a resume with the stored cursor; for a gap, ingest
        the shop's threads for it before the stream goes on."""
        first = next(
            (
                envelope.time_us
                for envelope in map(_envelope, batch)
                if envelope is not None and envelope.time_us is not None
            ),
            None,
        )
        if first is None:
            return  # nothing dated yet: the next batch tells
        self._resumed_from = None
        gap = gap_between(stored, first, self.sink.now())
        if gap is None:
            return
        self.gaps += 1
        log.warning(
            "jetstream: resumed with a gap: nothing from %s (Jetstream keeps about 36 hours "
            "and skips an older cursor silently); reading the shop's threads for that time",
            gap.describe(),
            extra={"network": "bluesky", "listener": self.name},
        )
        if self.backfill is None:
            self._record(gap, [], "not read: the shop's Bluesky account is not set")
            return
        try:
            lines = self.backfill.lines(gap.since_us - REWIND_US, gap.until_us + REWIND_US)
        except (BlueskyUnreachable, XrpcError) as error:
            if self.retries.wait_for(f"gap:{gap.since_us}"):
                raise BackfillLater(f"the shop's threads could not be read ({error})") from None
            log.warning(
                "jetstream: gave up reading the shop's threads for %s (%s): replies from "
                "that time are lost",
                gap.describe(),
                error,
                extra={"network": "bluesky", "listener": self.name},
            )
            self._record(gap, [], f"not read: {error}")
            return
        self._record(gap, [line for line in lines if self._confirmed(line, _envelope(line))])

    def _record(self, gap: Gap, lines: list[bytes], failure: str | None = None) -> None:
        """Ingest the backfilled lines, and keep the gap with them (one transaction)."""
        count = len(lines)
        note = (
            failure or f"{count} post{'' if count == 1 else 's'} of the shop's threads read again"
        )
        record = json.dumps(
            {
                "since_us": gap.since_us,
                "until_us": gap.until_us,
                "found_at": self.sink.now().isoformat(timespec="seconds"),
                "backfilled": failure is None,
                "note": note,
            }
        )
        self.sink.ingest(
            BACKFILL_SOURCE, Format.JETSTREAM, lines, cursor=Cursor(GAP_RECORD, record)
        )

    def _confirmed(self, message: bytes, envelope: _Envelope | None) -> bool:
        """False for a post that would act but that its author's repository does not hold
        (in this version); True for everything else (the engine judges the rest).
        ConfirmLater when the repository cannot be asked now (a few times per post)."""
        post = acting_post(self.sink, message)
        if post is None:
            return True
        commit = envelope.commit if envelope is not None else None
        uri = AtUri.parse(post.post_id)
        try:
            if uri is not None and commit is not None and self.records.confirms(uri, commit.cid):
                return True
            reason = "its author's repository holds another version or none"
        except BlueskyUnreachable as error:
            if self.retries.wait_for(post.post_id):
                raise ConfirmLater(f"{post.post_id} could not be confirmed ({error})") from None
            reason = f"its author's repository could not be asked ({error})"
        self.unconfirmed += 1
        log.warning(
            "jetstream: dropped unconfirmed post %s: %s",
            post.post_id,
            reason,
            extra={"network": "bluesky", "listener": "jetstream", "post_id": post.post_id},
        )
        return False


def _envelope(message: bytes) -> _Envelope | None:
    try:
        return _ENVELOPE.decode(message)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def _as_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
