"""With `bus_url`, the live sink (listeners and webhooks: hashcart.live.live_ingest) publishes
the payloads the prefilter keeps instead of running the engine, and writes a listener's
cursor only once the stream acknowledged them: a stream that does not answer leaves the
cursor where it was, so the listener reads the same posts again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hashcart.bootstrap import open_app
from hashcart.bus.client import BusUnavailable
from hashcart.bus.publisher import PublishFailed
from hashcart.config import Settings
from hashcart.live import live_ingest
from hashcart.live_bus import BusIngest
from hashcart.ports import Cursor
from hashcart.store import schema as t
from tests.bus.support import CLOCK, hashcart_env, prepared_shop, run_hashcart
from tests.bus.workers import consumer_state
from tests.harness import HOST
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.peers.nats.cluster import free_port

ALICE = "did:plc:alice0000000000000000000"
MUG = f"https://{HOST}/products/enamel-mug"


def _payloads() -> list[bytes]:
    parent = post_uri(SHOP_DID, "3mmbrand00001")
    return [
        jetstream_post(SHOP_DID, "3mmbrand00001", f"Mug {MUG}", links=(MUG,)),
        jetstream_post(ALICE, "3mmalice00001", "#cart", reply_to=parent, minutes=1),
        jetstream_post(ALICE, "3mmalice00002", "lovely weather", minutes=2),  # noise
    ]


def test_a_listener_s_payloads_go_on_the_bus_and_its_cursor_moves_after_the_ack(
    bus_url: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    prepared_shop(database).engine.dispose()
    env = hashcart_env(database, bus_url, bus_partitions="2")
    run_hashcart(["bus", "init"], env)
    app = open_app(Settings(database_url=database, bus_url=bus_url, bus_partitions=2), CLOCK)
    sink = live_ingest(app)
    assert isinstance(sink, BusIngest)

    try:
        done = sink.ingest(
            "bluesky_jetstream", "jetstream", _payloads(), cursor=Cursor("bluesky_jetstream", "42")
        )
    finally:
        sink.close()  # or its client would go on reconnecting once the cluster stops

    state = asyncio.run(consumer_state(bus_url))
    assert sum(c["pending"] for c in state.values()) == 2  # the brand post and the trigger
    assert (done.lines, done.posts, done.skipped) == (3, 2, 1)
    assert sink.read_cursor("bluesky_jetstream") == "42"
    with app.engine.connect() as connection:  # the workers act, not the sink
        assert connection.execute(select(func.count()).select_from(t.posts)).scalar_one() == 0


def test_a_stream_that_does_not_answer_leaves_the_cursor_where_it_was(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    prepared_shop(database).engine.dispose()
    nobody = f"nats://127.0.0.1:{free_port()}"
    app = open_app(
        Settings(database_url=database, bus_url=nobody, bus_publish_timeout_seconds=0.2), CLOCK
    )
    sink = live_ingest(app)
    with app.unit_of_work() as uow:
        uow.cursors.write(Cursor("bluesky_jetstream", "41"), CLOCK.now())

    assert isinstance(sink, BusIngest)
    with pytest.raises((BusUnavailable, PublishFailed)) as raised:
        sink.ingest(
            "bluesky_jetstream", "jetstream", _payloads(), cursor=Cursor("bluesky_jetstream", "42")
        )
    sink.close()

    assert isinstance(raised.value, BusUnavailable | PublishFailed)
    assert sink.read_cursor("bluesky_jetstream") == "41"
