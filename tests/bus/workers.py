"""Worker processes for the bus tests, and waiting (for conditions, never for time) until the
bus is drained."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bus.support import hashcart

DRAIN_DEADLINE_SECONDS = 240
# Between two `lease_holders` polls: each asks the cluster over a new connection.
LEASE_POLL_SECONDS = 0.1


@dataclass
class Workers:
    env: dict[str, str]
    logs: Path
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.logs / f"worker-{self.started}.log").open("wb")
        process = hashcart(["worker"], self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """`kill -9`: no chance to release its leases or acknowledge what it committed."""
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self.running.remove(process)

    def stop_all(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        self.running.clear()

    def log_text(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("worker-*.log"))
        )


async def consumer_state(url: str) -> dict[str, dict[str, int]]:
    import nats

    client = await nats.connect(servers=url.split(","), connect_timeout=5)
    try:
        js = client.jetstream()
        return {
            info.name: {
                "pending": info.num_pending or 0,
                "ack_pending": info.num_ack_pending or 0,
                "redelivered": info.num_redelivered or 0,
                "delivered": info.delivered.stream_seq if info.delivered else 0,
            }
            for info in await js.consumers_info("HASHCART_POSTS")
        }
    finally:
        await client.close()


async def lease_holders(url: str) -> dict[str, str]:
    """Which worker holds each partition."""
    return await _lease_entries(url, "partition.")


async def live_workers(url: str) -> int:
    """How many workers' `worker.<id>` entries the lease bucket holds (each says it is alive)."""
    return len(await _lease_entries(url, "worker."))


async def _lease_entries(url: str, prefix: str) -> dict[str, str]:
    """The lease bucket's live entries under `prefix`. Callers poll this, so it makes no
    consumer: the subjects come from the bucket's stream info (`kv.keys()` makes an ordered
    consumer per call, and tight polls of it ran into JetStream's consumer limit and request
    timeouts)."""
    import nats
    from nats.js.errors import KeyNotFoundError, NotFoundError

    client = await nats.connect(servers=url.split(","), connect_timeout=5)
    try:
        js = client.jetstream()
        bucket = "$KV.hashcart_leases."
        try:
            info = await js.stream_info("KV_hashcart_leases", subjects_filter=f"{bucket}{prefix}>")
        except NotFoundError:  # no bucket yet: nothing held
            return {}
        kv = await js.key_value("hashcart_leases")
        entries = {}
        for subject in sorted(info.state.subjects or {}):
            key = subject.removeprefix(bucket)
            try:
                entry = await kv.get(key)
            except KeyNotFoundError:  # deleted or purged (a marker is its last entry): not live
                continue
            entries[key] = (entry.value or b"").decode()
        return entries
    finally:
        await client.close()


def drained(url: str) -> bool:
    try:
        state = asyncio.run(consumer_state(url))
    except Exception:  # an election in progress: not drained as far as we know
        return False
    return bool(state) and all(c["pending"] == 0 and c["ack_pending"] == 0 for c in state.values())


def wait_until_drained(
    url: str, workers: Workers, deadline: float = DRAIN_DEADLINE_SECONDS
) -> None:
    give_up = time.monotonic() + deadline
    while not drained(url):
        if time.monotonic() > give_up:
            raise AssertionError(
                f"the bus was not drained in {deadline} s: "
                f"{asyncio.run(consumer_state(url))}\n{workers.log_text()}"
            )
        time.sleep(0.2)  # polling a condition with a deadline, not waiting for time


def state_of(url: str) -> Any:
    return asyncio.run(consumer_state(url))
