"""Connecting to the cluster `bus_url` names, and closing without hanging.

`nc.drain()` can wait 30 s at exit (recipes-wave2.md section 3): a process flushes what it
published, then closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hashcart.errors import HashcartError

if TYPE_CHECKING:
    from nats.aio.client import Client

    from hashcart.config import Settings

_log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 5
FIRST_CONNECT_SECONDS = 10.0
_CREDENTIALS = re.compile(r"://[^@/]*@")


class BusUnavailable(HashcartError):
    """No bus is configured, the client is not installed, or no server answers."""


@dataclass(frozen=True, slots=True)
class BusSettings:
    """What the bus's parts read of the settings."""

    servers: tuple[str, ...]
    partitions: int = 8
    replicas: int = 3
    max_age_seconds: float = 7 * 24 * 3600.0
    duplicate_window_seconds: float = 120.0
    batch_size: int = 500
    ack_wait_seconds: float = 60.0
    consumer_replicas: int = 0  # 0: as many as the stream
    lease_seconds: float = 15.0
    publish_timeout_seconds: float = 5.0
    publish_linger_seconds: float = 0.010

    def shown(self) -> str:
        """The servers as they may be printed or logged: credentials (`user:password@`,
        `token@`) replaced by `***@`."""
        return ",".join(_CREDENTIALS.sub("://***@", server) for server in self.servers)

    @classmethod
    def of(cls, settings: Settings) -> BusSettings:
        if not settings.bus_url:
            raise BusUnavailable("no bus is configured: set bus_url (README, Run at scale)")
        return cls(
            servers=tuple(part.strip() for part in settings.bus_url.split(",")),
            partitions=settings.bus_partitions,
            replicas=settings.bus_replicas,
            max_age_seconds=settings.bus_max_age_hours * 3600.0,
            duplicate_window_seconds=settings.bus_duplicate_window_seconds,
            batch_size=settings.bus_batch_size,
            ack_wait_seconds=settings.bus_ack_wait_seconds,
            consumer_replicas=settings.bus_consumer_replicas,
            lease_seconds=settings.bus_lease_seconds,
            publish_timeout_seconds=settings.bus_publish_timeout_seconds,
            publish_linger_seconds=settings.bus_publish_linger_ms / 1000,
        )


async def connect(bus: BusSettings, *, name: str) -> Client:
    try:
        import nats  # noqa: F401  (the extra's presence)
    except ImportError as error:  # the `bus` extra is not installed
        raise BusUnavailable(
            "the bus needs nats-py: pip install 'hashcart[bus]' (README, Run at scale)"
        ) from error

    async def on_error(error: Exception) -> None:
        _log.warning("bus: %s", error)

    from nats.aio.client import Client as NatsClient

    # nats-py keeps trying the servers on its own (for ever, with these options): a first
    # connection that nothing answers must fail in time, so the caller can say so, and the
    # client is closed then, or it would go on trying (and logging) in the background.
    client = NatsClient()
    connecting = client.connect(
        servers=list(bus.servers),
        name=name,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        # Keep trying while a node restarts or the cluster elects; the caller's own
        # timeouts (publish acknowledgements, fetches) bound each wait.
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        allow_reconnect=True,
        error_cb=on_error,
    )
    try:
        await asyncio.wait_for(connecting, FIRST_CONNECT_SECONDS)
    except Exception as error:
        with contextlib.suppress(Exception):
            await client.close()
        raise BusUnavailable(f"bus: no server of {bus.shown()} answers: {error!r}") from error
    return client


async def close(client: Client) -> None:
    try:
        await client.flush(timeout=CONNECT_TIMEOUT_SECONDS)
    except Exception as error:  # closing anyway: what was not acknowledged is published again
        _log.warning("bus: flush at close failed: %s", error)
    await client.close()
