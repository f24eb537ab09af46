"""The filtered stream's own recovery where the plan has it: xdevplatform/docs
x-api/fundamentals/recovery-and-redundancy.mdx, "For disconnections of 5 minutes or less: Use
the backfill parameter when reconnecting" (`?backfill_minutes=5`; openapi.json: an integer
0 to 5; "Backfill is available with Enterprise access"; "Posts are not deduplicated ... Your
system should be tolerant of duplicates"). `x_stream_backfill_minutes` caps it; 0, the
default, never asks."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from hashcart.config import Settings
from hashcart.domain.posts import Network
from hashcart.networks.x.catch_up import MENTIONS_CURSOR
from hashcart.networks.x.fetch import XParentFetcher
from hashcart.networks.x.stream import FilteredStreamListener
from hashcart.services.live_ingest import LiveIngest
from hashcart.store.cursors import save_cursor
from tests.harness import Shop
from tests.loopback import LiveServer
from tests.networks.x.conftest import SHOP_HANDLE, SHOP_ID, SHOPPER_EMAIL, ServedStandIn
from tests.networks.x.payloads import USERS, stream_line, v2_cart_reply, v2_shop_post
from tests.networks.x.stand_in import Scripted, StreamSession, XStandIn
from tests.networks.x.test_stream import _run_until_holding

PARENT = v2_shop_post("1890000000000000001")
REPLY = v2_cart_reply("1890000000000000002", PARENT["id"])


class ClockWaits:
    """The listener's wait between reconnects: moves the shop's clock instead of sleeping."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.delays: list[float] = []

    async def __call__(self, seconds: float, stop: asyncio.Event) -> None:
        self.delays.append(seconds)
        self.shop.clock.advance(timedelta(seconds=seconds))


def _shop(database_url: str, **settings: Any) -> Shop:
    shop = Shop(database_url, x_shop_user_id=SHOP_ID, **settings)
    shop.customer(SHOPPER_EMAIL, (Network.X, "2244994945", "maya"))
    return shop


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    shop = _shop(database_url, x_stream_backfill_minutes=5)
    yield shop
    shop.app.engine.dispose()


@pytest.fixture
def x(shop: Shop) -> Iterator[ServedStandIn]:
    stand_in = XStandIn(shop.clock.now)
    stand_in.mention_includes = {"users": USERS, "tweets": [PARENT]}
    with LiveServer(stand_in.app) as server:
        try:
            yield ServedStandIn(stand_in, server.url)
        finally:
            stand_in.release()


def _listen(shop: Shop, x: ServedStandIn, *sessions: StreamSession) -> FilteredStreamListener:
    x.x.stream_sessions.extend([*sessions, StreamSession(then="hold")])
    sink = LiveIngest(shop.app, fetchers={Network.X: XParentFetcher(x.api())})
    listener = FilteredStreamListener(sink, x.api(), shop_handle=SHOP_HANDLE, wait=ClockWaits(shop))
    asyncio.run(_run_until_holding(listener, x))
    return listener


def _asked(x: ServedStandIn) -> list[str | None]:
    return [request.get("backfill_minutes") for request in x.x.stream_requests]


def _ran_before(shop: Shop) -> None:
    save_cursor(shop.app.engine, MENTIONS_CURSOR, "1890000000000000000", shop.clock.now())


def test_a_restart_asks_for_the_whole_backfill(shop: Shop, x: ServedStandIn) -> None:
    _ran_before(shop)
    _listen(shop, x)
    assert _asked(x) == ["5"]


def test_a_first_run_asks_for_none_and_a_reconnect_for_a_minute(
    shop: Shop, x: ServedStandIn
) -> None:
    """A first run replays nothing (as the mentions catch-up); a clean drop reconnected at
    once lost under a minute."""
    _listen(shop, x, StreamSession(lines=[b""], then="close"))
    assert _asked(x) == [None, "1"]


@pytest.mark.parametrize(("cap", "asked"), [(5, "4"), (2, "2")])
def test_a_reconnect_asks_for_the_minutes_the_disconnection_lasted(
    database_url: str, cap: int, asked: str
) -> None:
    """The connection drops; the first reconnect meets a 429 and waits the 200 s X says
    (until `x-rate-limit-reset`); the next asks for the 200 s since the drop: four minutes,
    rounded up, unless the setting allows fewer."""
    shop = _shop(database_url, x_stream_backfill_minutes=cap)
    stand_in = XStandIn(shop.clock.now)
    reset = shop.clock.now() + timedelta(seconds=200)
    # hand-built: no documented body for a stream 429; the header is documented
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
    with LiveServer(stand_in.app) as server:
        x = ServedStandIn(stand_in, server.url)
        try:
            _ran_before(shop)
            _listen(shop, x, StreamSession(lines=[b""], then="close"), StreamSession(limited))
        finally:
            stand_in.release()
    assert _asked(x) == [str(cap), "1", asked]
    assert x.x.stream_sessions == deque()
    shop.app.engine.dispose()


def test_nothing_is_asked_when_the_setting_is_off(database_url: str) -> None:
    shop = _shop(database_url)
    stand_in = XStandIn(shop.clock.now)
    with LiveServer(stand_in.app) as server:
        x = ServedStandIn(stand_in, server.url)
        try:
            _ran_before(shop)
            _listen(shop, x, StreamSession(lines=[b""], then="close"))
        finally:
            stand_in.release()
    assert _asked(x) == [None, None]
    shop.app.engine.dispose()


def test_the_backfills_duplicates_change_nothing(shop: Shop, x: ServedStandIn) -> None:
    """The reply comes, the connection drops, and the backfill sends it again (X does not
    deduplicate): one cart line, one confirmation."""
    _ran_before(shop)
    line = stream_line(REPLY, PARENT)
    # Each session closes after its line: the next connection (the last holds) begins only
    # once the line before was taken.
    listener = _listen(
        shop,
        x,
        StreamSession(lines=[line], then="close"),
        StreamSession(lines=[line], then="close"),
    )
    assert listener.lines == 2
    assert _asked(x) == ["5", "1", "1"]
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    assert len([row for row in shop.outbox() if row["in_reply_to"] == REPLY["id"]]) == 1


@pytest.mark.parametrize("value", [-1, 6, 60])
def test_the_setting_takes_what_x_allows(value: int) -> None:
    with pytest.raises(ValidationError):
        Settings(x_stream_backfill_minutes=value)
