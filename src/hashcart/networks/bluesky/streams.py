"""What Jetstream and the firehose listeners share: reconnecting with backoff until told to
stop, reading a websocket in small batches, and spotting the posts that must be confirmed.

Batches keep the engine's commits few (one `sink.ingest` and one cursor save per batch, not
per event) while a quiet stream still hands each event over at once: a batch is whatever
arrives within BATCH_WINDOW of its first message, up to BATCH_LIMIT messages.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from hashcart.backoff import Backoff, Wait
from hashcart.domain.posts import DecodeError, Post
from hashcart.errors import HashcartError
from hashcart.networks.bluesky.decode import decode
from hashcart.ports import LiveSink

log = logging.getLogger(__name__)

BATCH_LIMIT = 500
BATCH_WINDOW = 0.05
# Jetstream documents no reconnect schedule; this is gentle on a public service.
DEFAULT_BACKOFF = Backoff(first=1.0, cap=120.0)

# How a listener waits between reconnects: (seconds, stop) -> returns early when stop is set.


async def receive_batch(
    socket: ClientConnection,
    stop: asyncio.Event,
    *,
    limit: int = BATCH_LIMIT,
    window: float = BATCH_WINDOW,
) -> list[bytes] | None:
    """The next messages (raw bytes: a text frame that is not UTF-8 is the engine's to
    dead-letter, not a reason to drop the connection), or None once `stop` is set. Raises
    ConnectionClosed when the connection ends before a first message."""
    receiving = asyncio.ensure_future(socket.recv(decode=False))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not receiving.done():
        receiving.cancel()  # websockets: a cancelled recv loses no message
        with suppress(asyncio.CancelledError, ConnectionClosed):
            await receiving
        return None
    batch = [receiving.result()]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    while len(batch) < limit and not stop.is_set():
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            batch.append(await asyncio.wait_for(socket.recv(decode=False), remaining))
        except TimeoutError:
            break
        except ConnectionClosed:
            break  # hand over what came; the next receive raises and reconnects
    return batch


class ConfirmLater(HashcartError):
    """A post that would change a cart could not be confirmed now (its author's PDS or DID
    document did not answer): the batch stops before it, the cursor stays before it, and the
    listener reconnects with backoff, so the post comes again instead of being lost."""


class ConfirmRetries:
    """How often each post's confirmation found nobody to ask. After `limit` tries it is
    dropped: a dead PDS must not stall the whole stream."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self._tries: dict[str, int] = {}

    def wait_for(self, key: str) -> bool:
        """True: try `key` again later (raise ConfirmLater); False: give it up now."""
        tries = self._tries.get(key, 0) + 1
        if tries >= self.limit:
            self._tries.pop(key, None)
            return False
        self._tries[key] = tries
        return True


class Reconnecting:
    """Runs `session` (one connection's life) again and again until stop, waiting
    `backoff` between failures; `healthy()` (called by the session once data flows) resets
    the failure count."""

    def __init__(
        self,
        name: str,
        backoff: Backoff,
        wait: Wait,
        rng: random.Random | None,
    ) -> None:
        self.name = name
        self.backoff = backoff
        self.wait = wait
        self.rng = rng
        self.failures = 0
        self.connections = 0

    def healthy(self) -> None:
        self.failures = 0

    async def run(self, stop: asyncio.Event, session: Callable[[], Awaitable[None]]) -> None:
        while not stop.is_set():
            try:
                self.connections += 1
                await session()
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                log.warning(
                    "%s: connection lost: %s",
                    self.name,
                    _describe(error),
                    extra={"listener": self.name},
                )
            except ConfirmLater as later:
                log.warning(
                    "%s: %s; trying again after a pause",
                    self.name,
                    later,
                    extra={"listener": self.name},
                )
            except Exception:
                # A bug or the database failing must not end the listener: log, back off,
                # resume from the saved cursor.
                log.exception("%s: failed; reconnecting", self.name, extra={"listener": self.name})
            if stop.is_set():
                break
            self.failures += 1
            delay = self.backoff.delay(self.failures, self.rng)
            log.info("%s: reconnecting in %.1f s", self.name, delay, extra={"listener": self.name})
            await self.wait(delay, stop)


def _describe(error: Any) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def acting_post(sink: LiveSink, line: bytes) -> Post | None:
    """The post in a Jetstream-shaped line if it would change a cart or a link (and so must
    be confirmed before the engine sees it); None for everything else, unreadable lines
    included (the engine dead-letters those with their reason)."""
    try:
        events = decode(line)
    except DecodeError:
        return None
    for event in events:
        if isinstance(event, Post) and sink.needs_confirmation(event):
            return event
    return None
