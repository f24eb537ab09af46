"""End to end on a real Bluesky network on loopback (a PLC directory and a PDS from
@atproto/dev-env): the shop posts a product link, a shopper replies `#cart`, hashcart reads
the PDS's firehose, the cart line appears, and the confirmation reply is posted back to the
PDS, where the test reads it. Nothing here is recorded: every byte comes from the real PDS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hashcart import live
from hashcart.domain.posts import Network
from hashcart.networks.bluesky import wiring
from hashcart.networks.bluesky.firehose import FirehoseListener
from hashcart.outbox.dispatcher import dispatch_once
from hashcart.outbox.senders import Sender
from hashcart.store import schema as t
from hashcart.store.cursors import load_cursor, save_cursor
from tests.harness import PRODUCTS, Shop
from tests.networks.bluesky.conftest import TOKEN_KEY
from tests.networks.bluesky.peer import Account, BlueskyPeer, Posted, reply_texts_to
from tests.polling import until

MUG_URL = PRODUCTS["mug"][1]
CURSOR = "bluesky_firehose"


@dataclass
class Scene:
    peer: BlueskyPeer
    shop: Shop
    brand: Account  # the shop's own Bluesky account
    ada: Account
    bob: Account
    started_at: int = 0

    def product_post(self) -> Posted:
        text = f"New in: our enamel mug {MUG_URL}"
        return self.peer.post(self.brand, text, links=(MUG_URL,), created_at=self._now())

    def cart_reply(self, who: Account, to: Posted) -> Posted:
        return self.peer.post(who, "#cart", tags=("cart",), reply_to=to, created_at=self._now())

    def listener(self) -> FirehoseListener:
        """A fresh sink and listener, as a restarted hashcart builds them (from the settings)."""
        sink = live.live_ingest(self.shop.app)
        [listener] = wiring.listeners(self.shop.app, sink)
        assert isinstance(listener, FirehoseListener)
        return listener

    def sender(self) -> Sender:
        sender = wiring.sender(self.shop.app)
        assert sender is not None
        return sender

    def start_cursor_now(self) -> None:
        """hashcart starts reading the firehose from here (no replay of earlier tests)."""
        self.started_at = self.peer.seq()
        self.rewind_to(self.started_at)

    def rewind_to(self, seq: int) -> None:
        save_cursor(self.shop.app.engine, CURSOR, str(seq), self.shop.clock.now())

    def cursor(self) -> int:
        return int(load_cursor(self.shop.app.engine, CURSOR) or 0)

    def outbox(self) -> list[dict[str, Any]]:
        return self.shop.outbox()

    def _now(self) -> str:
        return self.shop.clock.now().isoformat().replace("+00:00", "Z")


@pytest.fixture
def scene(bluesky_peer: BlueskyPeer, database_url: str) -> Scene:
    brand = bluesky_peer.account("northwind")
    ada = bluesky_peer.account("ada")
    bob = bluesky_peer.account("bob")
    shop = Shop(
        database_url,
        token_key=TOKEN_KEY,
        listeners=["bluesky_firehose"],
        bluesky_firehose_url=bluesky_peer.firehose_url,
        bluesky_plc_url=bluesky_peer.plc_url,
        bluesky_pds_url=bluesky_peer.pds_url,
        bluesky_identifier=brand.handle,
        bluesky_app_password=bluesky_peer.app_password(brand),
    )
    # The PDS signs each commit's rev with the wall clock, and hashcart ignores a rev more
    # than a few minutes ahead of its own clock (atproto specs/sync): the shop's clock starts
    # at the wall clock's time (and stands still from there).
    shop.clock.advance(datetime.now(UTC) - shop.clock.now())
    shop.customer("ada@example.com", (Network.BLUESKY, ada.did, ada.handle))
    shop.customer("bob@example.com", (Network.BLUESKY, bob.did, bob.handle))
    scene = Scene(bluesky_peer, shop, brand, ada, bob)
    scene.start_cursor_now()
    return scene


async def listening(listener: FirehoseListener, body: Callable[[], Awaitable[None]]) -> None:
    """Run `listener` while `body` runs, then stop it and wait for it to end."""
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    try:
        await body()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def caught_up(scene: Scene, listener: FirehoseListener) -> None:
    """Wait until the listener has handled everything the PDS has sequenced so far."""
    target = await asyncio.to_thread(scene.peer.seq)
    await until(lambda: scene.cursor() >= target, f"the firehose cursor reaches {target}")
    assert listener.unconfirmed == 0


def test_a_cart_reply_on_the_pds_fills_the_cart_and_is_answered_on_the_pds(scene: Scene) -> None:
    listener = scene.listener()
    posts: dict[str, Posted] = {}

    async def body() -> None:
        posts["product"] = await asyncio.to_thread(scene.product_post)
        posts["trigger"] = await asyncio.to_thread(scene.cart_reply, scene.ada, posts["product"])
        await until(lambda: scene.shop.cart("ada@example.com") == [("mug", 1)], "ada's cart")
        await caught_up(scene, listener)

    asyncio.run(listening(listener, body))
    trigger = posts["trigger"]
    [message] = scene.outbox()
    assert (message["reason"], message["in_reply_to"]) == ("added", trigger.uri)

    run = dispatch_once(scene.shop.app, {"bluesky": scene.sender()})

    assert (run.sent, run.failed, run.retried) == (1, 0, 0)
    [reply] = [
        record
        for record in scene.peer.posts_of(scene.brand)
        if record["value"].get("reply", {}).get("parent", {}).get("uri") == trigger.uri
    ]
    assert reply["value"]["reply"]["parent"] == trigger.ref()
    assert reply["value"]["reply"]["root"] == posts["product"].ref()  # the thread's root
    assert reply["value"]["text"] == message["text"]
    assert _sent(scene) == [("sent", reply["uri"])]


def test_a_restart_mid_stream_loses_nothing_and_duplicates_nothing(scene: Scene) -> None:
    posts: dict[str, Posted] = {}

    async def before_the_restart() -> None:
        posts["product"] = await asyncio.to_thread(scene.product_post)
        posts["ada"] = await asyncio.to_thread(scene.cart_reply, scene.ada, posts["product"])
        await until(lambda: scene.shop.cart("ada@example.com") == [("mug", 1)], "ada's cart")

    asyncio.run(listening(scene.listener(), before_the_restart))
    stopped_at = scene.cursor()
    assert stopped_at > 0
    # While hashcart is down: another shopper's reply, and ada asking again.
    posts["bob"] = scene.cart_reply(scene.bob, posts["product"])
    posts["ada again"] = scene.cart_reply(scene.ada, posts["product"])

    restarted = scene.listener()
    asyncio.run(listening(restarted, lambda: caught_up(scene, restarted)))

    assert scene.shop.cart("ada@example.com") == [("mug", 1)]
    assert scene.shop.cart("bob@example.com") == [("mug", 1)]
    assert sorted(
        (message["in_reply_to"], message["reason"]) for message in scene.outbox()
    ) == sorted(
        [
            (posts["ada"].uri, "added"),
            (posts["bob"].uri, "added"),
            (posts["ada again"].uri, "already_in_cart"),
        ]
    )

    # The same events delivered again (the cursor rewound to where this test began).
    scene.rewind_to(scene.started_at)
    replayed = scene.listener()
    asyncio.run(listening(replayed, lambda: caught_up(scene, replayed)))
    assert scene.shop.cart("ada@example.com") == [("mug", 1)]
    assert len(scene.outbox()) == 3

    sender = scene.sender()
    assert dispatch_once(scene.shop.app, {"bluesky": sender}).sent == 3
    assert dispatch_once(scene.shop.app, {"bluesky": sender}).sent == 0
    for name in ("ada", "bob", "ada again"):
        assert len(reply_texts_to(scene.peer, scene.brand, posts[name].uri)) == 1, name


def test_a_parent_the_stream_never_delivered_is_fetched_from_the_pds(scene: Scene) -> None:
    product = scene.product_post()  # before hashcart's cursor: the stream will not bring it
    scene.start_cursor_now()
    listener = scene.listener()

    async def body() -> None:
        await asyncio.to_thread(scene.cart_reply, scene.ada, product)
        await until(lambda: scene.shop.cart("ada@example.com") == [("mug", 1)], "ada's cart")
        await caught_up(scene, listener)

    asyncio.run(listening(listener, body))

    with scene.shop.app.engine.connect() as connection:
        fetched = connection.execute(
            select(t.parent_fetches.c.post_id, t.parent_fetches.c.outcome)
        ).all()
    assert [tuple(row) for row in fetched] == [(product.uri, "found")]


def _sent(scene: Scene) -> list[tuple[str, str | None]]:
    """Each outbox row's status and the network's id for what was sent."""
    with scene.shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox.c.status, t.outbox.c.remote_id).order_by(t.outbox.c.id)
        ).all()
    return [(row.status, row.remote_id) for row in rows]
