"""The bus tests' cluster: three JetStream nodes on loopback (tests/peers/nats), and a bus
emptied and initialised (`hashcart bus init`) for each test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from functools import partial

import pytest

from tests.peers.nats.cluster import Cluster
from tests.peers.nats.fixture import bus_url_of


async def _wipe(url: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    from hashcart.bus.streams import when_ready

    client = await nats.connect(servers=url.split(","), connect_timeout=5)
    try:
        js = client.jetstream()
        for stream in ("HASHCART_POSTS", "KV_hashcart_leases"):
            with contextlib.suppress(NotFoundError):
                await when_ready(partial(js.delete_stream, stream))
    finally:
        await client.close()


@pytest.fixture
def bus_url(nats_cluster: Cluster | str) -> Iterator[str]:
    """The cluster's URL, its hashcart stream and lease bucket deleted before the test."""
    url = bus_url_of(nats_cluster)
    asyncio.run(_wipe(url))
    yield url
