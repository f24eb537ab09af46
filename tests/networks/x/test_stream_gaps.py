"""Nothing lost across a gap: the X listener catches up through the shop's mentions timeline
after a restart or a disconnect, and follows xdevplatform/docs
x-api/fundamentals/handling-disconnections.mdx (20 s read timeout, immediate reconnect of
an established connection, 429 until `x-rate-limit-reset`), the pay-per-use rule length
(x-api/posts/filtered-stream/introduction.mdx: 1,024 characters) and the 409 of a stream
without rules (x-api/fundamentals/response-codes-and-errors.mdx)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hashcart.domain.posts import Network
from hashcart.networks.x.catch_up import MENTIONS_CURSOR
from hashcart.networks.x.fetch import XParentFetcher
from hashcart.networks.x.stream import (
    MAX_RULE_LENGTH,
    STALL_SECONDS,
    TRIGGER_RULE_TAG,
    FilteredStreamListener,
    desired_rules,
)
from hashcart.services.live_ingest import LiveIngest
from hashcart.store.cursors import load_cursor, save_cursor
from tests.harness import Shop
from tests.loopback import LiveServer
from tests.networks.x.conftest import SHOP_HANDLE, SHOP_ID, SHOPPER_EMAIL, ServedStandIn
from tests.networks.x.payloads import USERS, stream_line, v2_cart_reply, v2_shop_post
from tests.networks.x.stand_in import Scripted, StreamSession, XStandIn
from tests.networks.x.test_stream import RecordedWaits, _run_until_holding, _until

PARENT = v2_shop_post("1890000000000000001")
# hand-built: the docs give 409 only as "Stream has no rules (filtered stream only)"
# (response-codes-and-errors.mdx), not its body; this is a v2 problem object saying that.
NO_RULES = {
    "title": "ConnectionException",
    "detail": "There are no rules in place for this stream.",
    "type": "https://api.x.com/2/problems/streaming-connection",
}


@pytest.fixture
def gap_shop(database_url: str) -> Iterator[Shop]:
    """A shop that knows its X user id (the mentions timeline is the shop's)."""
    shop = Shop(database_url, x_shop_user_id=SHOP_ID)
    shop.customer(SHOPPER_EMAIL, (Network.X, "2244994945", "maya"))
    yield shop
    shop.app.engine.dispose()


@pytest.fixture
def gap_x(gap_shop: Shop) -> Iterator[ServedStandIn]:
    stand_in = XStandIn(gap_shop.clock.now)
    stand_in.mention_includes = {"users": USERS, "tweets": [PARENT]}
    with LiveServer(stand_in.app) as server:
        try:
            yield ServedStandIn(stand_in, server.url)
        finally:
            stand_in.release()


def _listener(shop: Shop, x: ServedStandIn, waits: RecordedWaits) -> FilteredStreamListener:
    sink = LiveIngest(shop.app, fetchers={Network.X: XParentFetcher(x.api())})
    return FilteredStreamListener(sink, x.api(), shop_handle=SHOP_HANDLE, wait=waits)


def _run(shop: Shop, x: ServedStandIn, waits: RecordedWaits) -> FilteredStreamListener:
    x.x.holding.clear()
    x.x.stream_sessions.append(StreamSession(then="hold"))
    listener = _listener(shop, x, waits)
    asyncio.run(_run_until_holding(listener, x))
    return listener


# --- the mentions catch-up ----------------------------------------------------------------


def test_a_restart_catches_up_on_mentions_made_while_down(
    gap_shop: Shop, gap_x: ServedStandIn
) -> None:
    # The listener took posts up to ...000 before it went down; a #cart reply came meanwhile.
    save_cursor(gap_shop.app.engine, MENTIONS_CURSOR, "1890000000000000000", gap_shop.clock.now())
    gap_x.x.mentions.append(v2_cart_reply("1890000000000000002", PARENT["id"]))
    _run(gap_shop, gap_x, RecordedWaits())
    assert gap_shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    asked = gap_x.x.mention_requests[0]
    assert asked["since_id"] == "1890000000000000000"
    assert asked["expansions"] == "author_id,referenced_tweets.id"
    assert load_cursor(gap_shop.app.engine, MENTIONS_CURSOR) == "1890000000000000002"

    # The next start asks only for what came after, and a wishlist reply made meanwhile acts.
    gap_x.x.mentions.append(v2_cart_reply("1890000000000000004", PARENT["id"], tag="wishlist"))
    _run(gap_shop, gap_x, RecordedWaits())
    assert gap_x.x.mention_requests[-1]["since_id"] == "1890000000000000002"
    assert gap_shop.wishlist(SHOPPER_EMAIL) == ["mug"]
    assert gap_shop.cart(SHOPPER_EMAIL) == [("mug", 1)]  # not added twice
    assert load_cursor(gap_shop.app.engine, MENTIONS_CURSOR) == "1890000000000000004"


def test_a_long_gap_is_read_over_pages_oldest_first(gap_shop: Shop, gap_x: ServedStandIn) -> None:
    save_cursor(gap_shop.app.engine, MENTIONS_CURSOR, "1890000000000000000", gap_shop.clock.now())
    # 150 mentions: two pages of 100. The last one is a wishlist reply: acted on last.
    for n in range(2, 151):
        gap_x.x.mentions.append(v2_cart_reply(f"18900000000000{n:05d}", PARENT["id"]))
    gap_x.x.mentions.append(v2_cart_reply("1890000000000000151", PARENT["id"], tag="wishlist"))
    _run(gap_shop, gap_x, RecordedWaits())
    assert len(gap_x.x.mention_requests) == 2
    assert gap_x.x.mention_requests[1]["pagination_token"] == "100"
    assert gap_shop.wishlist(SHOPPER_EMAIL) == ["mug"]
    assert load_cursor(gap_shop.app.engine, MENTIONS_CURSOR) == "1890000000000000151"


def test_a_first_run_starts_counting_and_replays_nothing(
    gap_shop: Shop, gap_x: ServedStandIn
) -> None:
    gap_x.x.mentions.append(v2_cart_reply("1890000000000000002", PARENT["id"]))
    _run(gap_shop, gap_x, RecordedWaits())
    assert gap_x.x.mention_requests[0]["max_results"] == "5"
    assert "since_id" not in gap_x.x.mention_requests[0]
    assert gap_shop.cart(SHOPPER_EMAIL) == []
    assert load_cursor(gap_shop.app.engine, MENTIONS_CURSOR) == "1890000000000000002"


def test_every_stream_line_moves_the_cursor(gap_shop: Shop, gap_x: ServedStandIn) -> None:
    save_cursor(gap_shop.app.engine, MENTIONS_CURSOR, "1890000000000000000", gap_shop.clock.now())
    reply = v2_cart_reply("1890000000000000007", PARENT["id"])
    older = v2_cart_reply("1890000000000000005", PARENT["id"], tag="wishlist")
    gap_x.x.stream_sessions.append(
        StreamSession(lines=[stream_line(reply, PARENT), stream_line(older, PARENT)])
    )
    listener = _listener(gap_shop, gap_x, RecordedWaits())

    async def ingested() -> None:
        await _until(lambda: listener.lines == 2, "both lines")

    asyncio.run(_run_until_holding(listener, gap_x, ingested))
    # The newest id taken, never moved back by an older line.
    assert load_cursor(gap_shop.app.engine, MENTIONS_CURSOR) == "1890000000000000007"


def test_a_rate_limited_catch_up_waits_until_x_s_reset(
    gap_shop: Shop, gap_x: ServedStandIn
) -> None:
    save_cursor(gap_shop.app.engine, MENTIONS_CURSOR, "1890000000000000000", gap_shop.clock.now())
    reset = gap_shop.clock.now() + timedelta(seconds=42)
    # hand-built: no documented body for a mentions 429; the x-rate-limit-* headers are
    # documented (x-api/fundamentals/rate-limits).
    gap_x.x.mention_script.append(
        Scripted(
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"},
            {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(reset.timestamp()))},
        )
    )
    gap_x.x.mentions.append(v2_cart_reply("1890000000000000002", PARENT["id"]))
    waits = RecordedWaits()
    _run(gap_shop, gap_x, waits)
    assert waits.delays == [42.0]
    assert len(gap_x.x.stream_requests) == 1  # not opened before the catch-up could run
    assert gap_shop.cart(SHOPPER_EMAIL) == [("mug", 1)]


@pytest.mark.parametrize(
    "answer",
    [
        {"data": "not a list", "meta": {"newest_id": "../../etc"}},
        {"data": [None, 7, {"id": "x" * 5000}], "meta": {"next_token": ""}},
        {"data": [], "includes": [], "meta": []},
        {"errors": [{"title": "Not Found Error", "detail": "\x00" * 100}]},
        # An id older than the cursor never moves it back.
        {"data": [], "meta": {"newest_id": "1", "result_count": 0}},
    ],
)
def test_a_malformed_mentions_answer_loses_nothing_and_breaks_nothing(
    gap_shop: Shop, gap_x: ServedStandIn, answer: dict[str, Any]
) -> None:
    save_cursor(gap_shop.app.engine, MENTIONS_CURSOR, "1890000000000000000", gap_shop.clock.now())
    # hand-built: malformed answers no X server sends, on purpose.
    gap_x.x.mention_script.append(Scripted(200, answer))
    _run(gap_shop, gap_x, RecordedWaits())
    # The cursor never moves to something that is not an X id.
    assert load_cursor(gap_shop.app.engine, MENTIONS_CURSOR) == "1890000000000000000"


# --- handling disconnections --------------------------------------------------------------


def test_the_read_timeout_is_twenty_seconds(shop: Shop, x: ServedStandIn) -> None:
    seen: list[dict[str, Any]] = []
    stop = asyncio.Event()

    def stream(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        stop.set()
        return httpx.Response(200, content=b"\r\n")

    listener = FilteredStreamListener(
        LiveIngest(shop.app),
        x.api(),
        shop_handle=SHOP_HANDLE,
        wait=RecordedWaits(),
        transport=httpx.MockTransport(stream),
    )
    asyncio.run(listener.run(stop))
    assert STALL_SECONDS == 20.0
    assert seen[0]["read"] == 20.0


def test_a_clean_drop_is_reconnected_at_once(shop: Shop, x: ServedStandIn) -> None:
    reply = v2_cart_reply("1890000000000000002", PARENT["id"])
    x.x.stream_sessions.extend(
        [StreamSession(lines=[b"", stream_line(reply, PARENT)], then="close")] * 2
        + [StreamSession(then="hold")]
    )
    waits = RecordedWaits()
    asyncio.run(_run_until_holding(_listener(shop, x, waits), x))
    assert waits.delays == []
    assert len(x.x.stream_requests) == 3


def test_a_429_waits_until_x_rate_limit_reset(shop: Shop, x: ServedStandIn) -> None:
    reset = shop.clock.now() + timedelta(seconds=10)
    # hand-built: no documented body for a stream 429; the headers are documented
    # (x-api/fundamentals/rate-limits).
    limited = Scripted(
        429,
        {"title": "Too Many Requests", "type": "about:blank", "status": 429},
        {
            "x-rate-limit-limit": "50",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(reset.timestamp())),
        },
    )
    x.x.stream_sessions.extend([StreamSession(limited), StreamSession(then="hold")])
    waits = RecordedWaits()
    asyncio.run(_run_until_holding(_listener(shop, x, waits), x))
    # Until the reset (10 s on the test's clock), not a blind minute.
    assert waits.delays == [10.0]


def test_a_409_without_rules_puts_the_rules_back(shop: Shop, x: ServedStandIn) -> None:
    x.x.stream_sessions.extend(
        [StreamSession(Scripted(409, NO_RULES), clears_rules=True), StreamSession(then="hold")]
    )
    waits = RecordedWaits()
    asyncio.run(_run_until_holding(_listener(shop, x, waits), x))
    adds = [request for request in x.x.rule_requests if "add" in request]
    assert len(adds) == 2  # once at the start, again after the 409
    assert len(x.x.rules) == 3  # triggers, `@shop #order`, link
    assert waits.delays == [5.0]


def test_rules_use_the_pay_per_use_length() -> None:
    # Thirty tags of 20 characters: 700 characters in one rule; X's old 512 would split it.
    tags = [f"cart{n:02d}abcdefghijklmno" for n in range(30)]
    rules = [rule for rule in desired_rules(tags, (), SHOP_HANDLE) if rule.tag == TRIGGER_RULE_TAG]
    assert MAX_RULE_LENGTH == 1024
    assert len(rules) == 1
    assert 512 < len(rules[0].value) <= 1024
    assert json.dumps(rules[0].value).count("#") == 30
