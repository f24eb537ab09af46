"""Partition leases in a JetStream key-value bucket, so exactly one worker runs a partition.

Why a KV bucket and not a PostgreSQL advisory lock: the lease then lives in the same
replicated cluster as the partition's messages and lapses on its own (the bucket's TTL) when
a worker dies or is cut off from the bus, which is exactly when it can no longer fetch; an
advisory lock belongs to a database session, so a PostgreSQL restart would drop every lock
while the workers go on fetching, and a worker cut off from PostgreSQL but not from NATS would
keep a partition it cannot process. The bucket's TTL (`bus_lease_seconds`) ages every entry;
a holder renews its key with a compare-and-set on the revision it holds (every third of the
TTL), so a worker that paused past the TTL finds its lease taken and stops.

Workers also keep a `worker.<id>` entry alive: the number of live workers sets each one's
fair share of partitions, so partitions spread as workers come and go. Each worker also
watches the bucket (`watch`): a worker's first entry or a partition let go wakes the others
at once, so a worker that joins gets its share within a fetch rather than at the next beats
(a third of the TTL each, twice: one to hand back, one to take)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from hashcart.bus.subjects import LEASE_BUCKET, lease_key, worker_key

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext
    from nats.js.kv import KeyValue

_log = logging.getLogger(__name__)


class Leases:
    """The partitions one worker holds, and the revision of each hold."""

    def __init__(self, kv: KeyValue, worker_id: str, js: JetStreamContext) -> None:
        self.kv = kv
        self.worker_id = worker_id
        self.js = js  # to count live workers from the bucket's stream (live_workers)
        self.held: dict[int, int] = {}  # partition -> revision of our entry
        # Partitions taken from a holder that did not let go (its lease lapsed: it died or
        # was cut off), or never held before: its fetched, unacknowledged posts may still
        # wait for their ack wait (see Worker._after_a_lapsed_holder).
        self.lapsed: set[int] = set()

    @classmethod
    async def open(cls, js: JetStreamContext, worker_id: str) -> Leases:
        return cls(await js.key_value(LEASE_BUCKET), worker_id, js)

    async def take(self, partition: int) -> bool:
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        key = lease_key(partition)
        released = False
        try:
            await self.kv.get(key)
            return False  # another worker holds it
        except KeyNotFoundError as error:
            # A holder that let go left a delete marker (nats-py reports it as not found,
            # with the marker's entry); a lapsed lease left nothing (the bucket's TTL aged
            # its last renewal out), nor did a partition never held.
            released = error.entry is not None
        try:
            revision = await self.kv.create(key, self.worker_id.encode())
        except KeyWrongLastSequenceError:
            return False  # another worker took it meanwhile
        self.held[partition] = revision
        if released:
            self.lapsed.discard(partition)
        else:
            self.lapsed.add(partition)
        return True

    async def renew(self, partition: int) -> bool:
        """Keep the hold; False (and forgotten) when it lapsed or another worker has it."""
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            revision = await self.kv.update(
                lease_key(partition), self.worker_id.encode(), last=self.held[partition]
            )
        except KeyWrongLastSequenceError:
            self.held.pop(partition, None)
            _log.warning("bus: lost the lease of partition %d", partition)
            return False
        self.held[partition] = revision
        return True

    async def release(self, partition: int) -> None:
        revision = self.held.pop(partition, None)
        if revision is None:
            return
        try:
            await self.kv.delete(lease_key(partition), last=revision)
        except Exception as error:  # it lapses on its own
            _log.warning("bus: releasing partition %d: %s", partition, error)

    async def beat(self) -> None:
        """Say this worker is alive (the entry lapses with the TTL when it is not)."""
        await self.kv.put(worker_key(self.worker_id), b"alive")

    async def watch(self, wake: Callable[[], None]) -> None:
        """Until cancelled: `wake()` when a worker not seen before says it is alive, or a
        partition is let go. Only a shortcut: the beats still do everything, and a watch the
        cluster interrupts (an election, a reconnect) is opened again after a pause."""
        from nats.js.kv import KV_DEL, KV_PURGE

        seen: set[str] = set()
        pause = 0.5
        while True:
            watcher = None
            try:
                watcher = await self.kv.watchall(meta_only=True)
                async for entry in watcher:
                    if entry is None:  # the bucket's present entries have all been read
                        continue
                    pause = 0.5
                    if entry.operation in (KV_DEL, KV_PURGE):
                        if entry.key.startswith("partition."):
                            wake()
                    elif entry.key.startswith("worker.") and entry.key not in seen:
                        seen.add(entry.key)
                        wake()
            except Exception as error:
                _log.warning("bus: watching the leases: %r", error)
            finally:
                if watcher is not None:
                    with contextlib.suppress(Exception):
                        await watcher.stop()  # type: ignore[no-untyped-call]
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)

    async def live_workers(self) -> int:
        """How many workers keep a `worker.<id>` entry alive, this one included. Asked at
        every beat, so it makes no consumer: `kv.keys()` opens an ordered consumer each
        call, which a cluster creates and deletes through its meta group (every node), and
        whose tight polls ran into JetStream's consumer limit and request timeouts in the
        tests (session 26). The bucket's stream info, filtered to the worker subjects,
        names each subject that still holds a message: a worker's entries are never
        deleted, only aged out by the bucket's TTL, so each such subject is a live worker.
        One request, answered by the stream's leader."""
        info = await self.js.stream_info(
            f"KV_{LEASE_BUCKET}", subjects_filter=f"$KV.{LEASE_BUCKET}.{worker_key('>')}"
        )
        return max(1, len(info.state.subjects or {}))

    async def holders(self) -> dict[int, str]:
        """Every partition's holder, as the bucket says (for `hashcart status`)."""
        from nats.js.errors import NoKeysError

        try:
            keys = await self.kv.keys()
        except NoKeysError:
            return {}
        found: dict[int, str] = {}
        for key in keys:
            if not key.startswith("partition."):
                continue
            try:
                entry = await self.kv.get(key)
            except Exception:  # lapsed between the listing and now
                continue
            if entry.value:
                found[int(key.rsplit(".", 1)[1])] = entry.value.decode("utf-8", "replace")
        return found


def fair_share(partitions: int, workers: int) -> int:
    return math.ceil(partitions / max(1, workers))
