"""The streaming listener against the stand-in: server-sent events on the streaming server,
catch-up through REST on the web server, cursors in the database, reconnects with backoff.

Reconnect delays go through the listener's injected wait, which records them and returns at
once: no test waits for real time to pass. Tests wait for conditions, with a deadline."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.networks.formats import Format
from hashcart.networks.mastodon.api import MastodonApi
from hashcart.networks.mastodon.fetch import MastodonParentFetcher
from hashcart.networks.mastodon.stream import (
    NOTIFICATIONS_CURSOR,
    TAG_REWIND_MILLISECONDS,
    MastodonStreamListener,
    notification_stream,
    streams_for,
)
from hashcart.services.live_ingest import LiveIngest
from hashcart.services.shop import Shop as EngineShop
from hashcart.store import schema as t
from hashcart.store.cursors import load_cursor, save_cursor
from hashcart.store.repository import transaction
from tests.harness import Shop
from tests.networks.mastodon.conftest import (
    Case,
    RecordedWaits,
    Server,
    link_shopper,
    status_id,
)
from tests.networks.mastodon.standin import (
    Do,
    Hold,
    Recordings,
    Refuse,
    Send,
    Silent,
    sse,
)
from tests.polling import until


def listener(
    sink: LiveIngest, server: Server, waits: RecordedWaits, **options: Any
) -> MastodonStreamListener:
    return MastodonStreamListener(sink, server.api(), wait=waits, rng=random.Random(7), **options)


def run_until(subject: MastodonStreamListener, condition: Callable[[], bool], what: str) -> None:
    """Run the listener until `condition` holds, then stop it and wait for it to end."""

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(subject.run(stop))
        try:
            await until(condition, what)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)

    asyncio.run(scenario())


def ingest(sink: LiveIngest, *statuses: dict[str, Any]) -> None:
    sink.ingest("setup", Format.MASTODON, [json.dumps(s).encode() for s in statuses])


def cursor(shop: Shop, name: str) -> str | None:
    return load_cursor(shop.app.engine, name)


def deleted(shop: Shop, post_id: str) -> bool:
    with shop.app.engine.connect() as connection:
        found = connection.scalar(
            select(t.post_deletions.c.post_id).where(
                t.post_deletions.c.network == Network.MASTODON,
                t.post_deletions.c.post_id == post_id,
            )
        )
    return found is not None


def test_the_recorded_event_stream_is_read_and_its_status_id_kept(
    server: Server, shop: Shop, sink: LiveIngest, recordings: Recordings
) -> None:
    # The real body of a Mastodon 4.6.4 stream: a `:)` heartbeat, then `event: update`.
    server.stand_in.script("hashtag:cart", [Send(recordings.sse_body), Hold()])
    waits = RecordedWaits()
    run_until(
        listener(sink, server, waits),
        lambda: cursor(shop, "mastodon:tag:cart") == "117024248092393661",
        "the recorded update's id as the tag stream's cursor",
    )
    assert sink.stats.lines == 1 and sink.stats.dead_letters == 0
    assert shop.dead_letters() == []
    assert waits.delays == []
    # One stream a trigger, link and order tag (`#order`, issue 12), and the notifications,
    # all on the streaming server.
    assert set(server.stand_in.connections) == {
        "notification",
        "hashtag:cart",
        "hashtag:wishlist",
        "hashtag:cartlink",
        "hashtag:order",
        # Buy with a post (issue 12).
        "hashtag:buy",
        "hashtag:confirm",
    }
    streaming_port = int(server.streaming_server.url.rsplit(":", 1)[1])
    streamed = [s for s in server.stand_in.seen if "/streaming/" in s.path]
    assert streamed and {s.port for s in streamed} == {streaming_port}
    assert {s.headers["authorization"] for s in streamed} == {"Bearer shop-access-token"}


def test_a_mention_notification_fills_the_cart_and_a_delete_is_recorded(
    server: Server, shop: Shop, sink: LiveIngest, case: Case
) -> None:
    email = link_shopper(shop, "sam")
    ingest(sink, case.shop_post("1100"), case.shop_post("1300", "beans"))
    mention = case.mention(case.reply("1101", "1100", "sam"), "101")
    server.stand_in.script(
        "notification",
        [Send(":)\n"), Send(sse("notification", json.dumps(mention))), Hold()],
    )
    server.stand_in.script("hashtag:cart", [Send(":thump\n" + sse("delete", "1300")), Hold()])
    run_until(
        listener(sink, server, RecordedWaits()),
        lambda: deleted(shop, "1300") and cursor(shop, NOTIFICATIONS_CURSOR) == "101",
        "the deletion, and the notification's id as the cursor",
    )
    assert shop.cart(email) == [("mug", 1)]
    assert shop.post_text(Network.MASTODON, "1300") is None  # a deleted post's text is erased
    assert [m["reason"] for m in shop.outbox()] == ["added"]


def test_a_disconnect_is_followed_by_backoff_and_a_catch_up_without_loss_or_repeats(
    server: Server, shop_any_db: Shop, case: Case
) -> None:
    shop = shop_any_db
    sink = LiveIngest(shop.app, fetchers={Network.MASTODON: MastodonParentFetcher(server.api())})
    emails = {name: link_shopper(shop, name) for name in ("sam", "kim", "ada")}
    ingest(sink, case.shop_post("1100", "mug"), case.shop_post("1200", "beans"))
    save_cursor(shop.app.engine, NOTIFICATIONS_CURSOR, "100", shop.clock.now())
    n1 = case.mention(case.reply("1101", "1100", "sam", minutes=1), "101")
    n2 = case.mention(case.reply("1102", "1200", "kim", minutes=2), "102")
    n3 = case.mention(case.reply("1103", "1200", "kim", minutes=3), "103")  # kim again
    n4 = case.mention(case.reply("1104", "1100", "ada", minutes=4), "104")
    stand_in = server.stand_in

    def away() -> None:  # posted while the listener was disconnected
        stand_in.add_notification(n2)
        stand_in.add_notification(n3)

    stand_in.add_notification(n1)
    stand_in.script(
        "notification",
        # Connection 1: one event, then the server drops the stream.
        [Send(":)\n"), Send(sse("notification", json.dumps(n1)))],
        # Connection 2: the streaming server is not back yet.
        [Refuse(503, "Service Unavailable")],
        # Connection 3: two posts came meanwhile; the stream repeats one, then a new one.
        [
            Do(away),
            Send(sse("notification", json.dumps(n3))),
            Send(sse("notification", json.dumps(n4))),
            Hold(),
        ],
    )
    waits = RecordedWaits()
    run_until(
        listener(sink, server, waits, page_size=1),
        lambda: cursor(shop, NOTIFICATIONS_CURSOR) == "104",
        "the newest notification's id as the cursor",
    )

    # Backoff: 1 s after the live stream dropped, 2 s after the refusal (each with jitter).
    assert len(waits.delays) == 2
    assert 0.5 <= waits.delays[0] <= 1 and 1 <= waits.delays[1] <= 2
    assert server.stand_in.connections["notification"] == 3
    # Catch-up from the stored cursor, a page at a time, oldest first.
    min_ids = [
        dict(seen.query).get("min_id") for seen in server.stand_in.requests("/api/v1/notifications")
    ]
    assert min_ids == ["100", "101", "101", "102", "103"]
    # Nothing lost, nothing twice; kim's second #cart came second (caught up in order).
    assert shop.cart(emails["sam"]) == [("mug", 1)]
    assert shop.cart(emails["kim"]) == [("beans", 1)]
    assert shop.cart(emails["ada"]) == [("mug", 1)]
    assert [(m["in_reply_to"], m["reason"]) for m in shop.outbox()] == [
        ("1101", "added"),
        ("1102", "added"),
        ("1103", "already_in_cart"),
        ("1104", "added"),
    ]


def test_the_first_start_begins_at_the_newest_notification(
    server: Server, shop: Shop, sink: LiveIngest, case: Case
) -> None:
    email = link_shopper(shop, "sam")
    ingest(sink, case.shop_post("1100"))
    server.stand_in.add_notification(case.mention(case.reply("1101", "1100", "sam"), "101"))
    run_until(
        listener(sink, server, RecordedWaits()),
        lambda: cursor(shop, NOTIFICATIONS_CURSOR) == "101",
        "the newest notification as the starting point",
    )
    assert shop.cart(email) == [] and shop.outbox() == []
    assert [
        dict(s.query).get("limit") for s in server.stand_in.requests("/api/v1/notifications")
    ] == ["1"]


def test_a_silent_stream_is_reopened_and_heartbeats_keep_the_others_open(
    server: Server, shop: Shop, sink: LiveIngest, case: Case
) -> None:
    email = link_shopper(shop, "sam")
    ingest(sink, case.shop_post("1100"))
    save_cursor(shop.app.engine, NOTIFICATIONS_CURSOR, "100", shop.clock.now())
    mention = case.mention(case.reply("1101", "1100", "sam"), "101")
    server.stand_in.script(
        "notification",
        [Silent()],
        [Send(sse("notification", json.dumps(mention))), Hold()],
    )
    waits = RecordedWaits()
    run_until(
        listener(sink, server, waits, idle_seconds=0.5),
        lambda: shop.cart(email) == [("mug", 1)],
        "the event on the reopened stream",
    )
    assert server.stand_in.connections["notification"] == 2
    assert len(waits.delays) == 1 and 0.5 <= waits.delays[0] <= 1
    # The hashtag streams sent only heartbeats all along, and stayed connected.
    assert server.stand_in.connections["hashtag:cart"] == 1


def test_a_refused_token_is_retried_with_growing_delays(
    server: Server, shop: Shop, sink: LiveIngest
) -> None:
    waits = RecordedWaits()
    refused = MastodonStreamListener(
        sink, MastodonApi(server.url, "revoked"), wait=waits, rng=random.Random(1)
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(refused.follow(notification_stream(), stop))
        await until(lambda: len(waits.delays) >= 5, "five reconnect delays")
        stop.set()
        await asyncio.wait_for(task, 20)

    asyncio.run(scenario())
    for failures, delay in enumerate(waits.delays[:5], start=1):
        plain = 2.0 ** (failures - 1)
        assert plain / 2 <= delay <= plain
    assert server.stand_in.requests("/api/v1/notifications") == []  # never got that far


def test_a_tag_catch_up_reaches_back_for_posts_that_federated_late(
    server: Server, shop: Shop, sink: LiveIngest, case: Case
) -> None:
    email = link_shopper(shop, "sam")
    ingest(sink, case.shop_post("1100"))
    seen_up_to = status_id(minutes=30)
    save_cursor(shop.app.engine, "mastodon:tag:cart", seen_up_to, shop.clock.now())
    # Written at minute 25, it reached the shop's server only after minute 30's post: its
    # snowflake id is older than the cursor.
    late = case.reply(status_id(minutes=25), "1100", "sam", minutes=25)
    server.stand_in.add_status(late)
    run_until(
        listener(sink, server, RecordedWaits()),
        lambda: shop.cart(email) == [("mug", 1)],
        "the late reply's cart line",
    )
    asked = [
        dict(s.query)["min_id"] for s in server.stand_in.requests("/api/v1/timelines/tag/cart")
    ]
    assert asked[0] == str(int(seen_up_to) - (TAG_REWIND_MILLISECONDS << 16))
    assert cursor(shop, "mastodon:tag:cart") == seen_up_to  # never moved backwards


def test_every_trigger_and_link_tag_gets_a_stream_once(shop: Shop) -> None:
    settings = shop.app.settings.model_copy(
        update={"cart_tags": ("cart", "AmazonCart", "CART"), "link_tags": ("cartlink",)}
    )
    with transaction(shop.app.engine) as repository:
        engine_shop = EngineShop.load(settings, repository)
    assert [s.cursor for s in streams_for(engine_shop)] == [
        "mastodon:notifications",
        "mastodon:tag:cart",
        "mastodon:tag:amazoncart",
        "mastodon:tag:wishlist",
        "mastodon:tag:cartlink",
        "mastodon:tag:order",  # order care (issue 12): `@shop #order`
        "mastodon:tag:buy",  # buy with a post (issue 12): `#buy`, then `#confirm CODE`
        "mastodon:tag:confirm",
    ]
