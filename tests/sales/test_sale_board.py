"""The live claim board (issue 13): its reads (the claims' stream as they settle, the totals
with revenue per currency and the time to pay) on SQLite and PostgreSQL, and its server-sent
events on the embedded default: refused to anonymous visitors and shoppers, and carrying what
settled, in order, from where a reconnecting browser left off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse
from sqlalchemy import select

from hashcart.store import schema as t
from hashcart.views.sale_board import claim_events, duration, recent_claim_events
from hashcart.views.sales import nearest_rank, sale_report
from hashcart.web.sale_board import LOOKBACK, BoardStream
from tests.loopback import LiveServer
from tests.sales.board_support import BoardShop
from tests.sales.support import (
    SALE_POST,
    SaleShop,
    claim,
    key,
    link_everyone,
    moment,
    shopper,
)

NETWORK = "mastodon"


@pytest.fixture
def shop(database_url: str) -> SaleShop:
    return SaleShop(database_url, public_url="https://shop.example")


def _burst(shop: SaleShop, count: int, stock: int) -> None:
    """`count` linked shoppers claim item 12 (`stock` units), all past their settle window."""
    link_everyone(shop, NETWORK, count)
    shop.open(NETWORK, {"12": ("mug", stock)})
    shop.ingest([claim(NETWORK, n, key(NETWORK, n), "sold 12", seconds=n) for n in range(count)])


def _pay(shop: SaleShop, invoice_id: int, after: timedelta) -> None:
    with shop.app.unit_of_work() as uow:
        assert uow.repository.sales.mark_invoice_paid(invoice_id, shop.clock.now() + after, None)


def test_the_board_reads_the_claims_stream_and_the_time_to_pay(shop: SaleShop) -> None:
    _burst(shop, 4, stock=2)
    invoices = [invoice["id"] for invoice in shop.invoices()]
    _pay(shop, invoices[0], timedelta(minutes=10))
    _pay(shop, invoices[1], timedelta(minutes=30))
    with shop.app.engine.connect() as connection:
        sale_id = connection.execute(select(t.sales.c.id)).scalar_one()
        report = sale_report(connection, "Friday live")
        newest = recent_claim_events(connection, sale_id, 3)
        everything = claim_events(connection, sale_id, 0, 100)
        after_fourth = claim_events(connection, sale_id, everything[3]["id"], 100)
    assert report is not None
    totals = report["totals"]
    assert totals["units"] == 2 and totals["units_paid"] == 2 and totals["paid_rate"] == 1
    assert totals["revenue_by_currency"] == {"EUR": "48.00"}
    assert totals["time_to_pay"] == {"median_seconds": 600.0, "p90_seconds": 1800.0}
    # Oldest first on the stream: the two winners, the two waitlisted, then the payments.
    assert [line["kind"] for line in everything] == [
        "won",
        "won",
        "waitlisted",
        "waitlisted",
        "paid",
        "paid",
    ]
    assert [line["handle"] for line in everything[:4]] == [
        shopper(NETWORK, n).handle for n in range(4)
    ]
    assert everything[0]["posted_at"] == moment(0).isoformat()
    assert [line["id"] for line in newest] == [line["id"] for line in everything[::-1][:3]]
    assert after_fourth == everything[4:]


def test_a_pass_shows_released_passed_and_promoted_on_the_board(shop: SaleShop) -> None:
    _burst(shop, 3, stock=1)
    shop.ingest([claim(NETWORK, 0, key(NETWORK, 100), "pass 12", seconds=30)])
    with shop.app.engine.connect() as connection:
        lines = claim_events(connection, 1, 0, 100)
    told = [(line["kind"], line["handle"]) for line in lines]
    first, second = shopper(NETWORK, 0).handle, shopper(NETWORK, 1).handle
    assert told[:3] == [("won", first), ("waitlisted", second), ("waitlisted", told[2][1])]
    assert sorted(told[3:]) == sorted(
        [("released", first), ("passed", first), ("promoted", second)]
    )


def test_durations_read_as_a_merchant_says_them() -> None:
    assert [duration(s) for s in (None, 44.6, 60, 250, 7500, 97200)] == [
        "-",
        "45 s",
        "1 min",
        "4 min 10 s",
        "2 h 05 min",
        "1 d 3 h",
    ]


def test_nearest_rank_is_one_of_the_values() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([5.0], 90) == 5.0
    assert nearest_rank([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert nearest_rank([float(n) for n in range(1, 11)], 90) == 9.0


# --- the server-sent events, on the embedded default ---


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BoardShop, LiveServer]]:
    shop = BoardShop(f"sqlite:///{tmp_path / 'board.db'}", public_url="https://shop.example")
    with LiveServer(shop.web) as server:
        yield shop, server
    shop.close()


def test_the_stream_is_refused_to_anonymous_visitors_and_shoppers(
    served: tuple[BoardShop, LiveServer],
) -> None:
    shop, _ = served
    shop.open(NETWORK, {"12": ("mug", 2)})
    anonymous = shop.browser().get("/merchant/sales/1/events", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/merchant/sign-in")
    visitor = shop.browser()
    visitor.sign_up("sam@example.com")
    refused = visitor.get("/merchant/sales/1/events", follow_redirects=False)
    assert refused.status_code == 403
    for answer in (anonymous, refused):
        assert "text/event-stream" not in answer.headers.get("content-type", "")
    merchant = shop.browser()
    merchant.merchant_sign_in()
    assert merchant.get("/merchant/sales/99/events").status_code == 404


def _events(source: Iterator[ServerSentEvent], wanted: int) -> list[ServerSentEvent]:
    """The next `wanted` claim lines (the board events between them kept too)."""
    found: list[ServerSentEvent] = []
    for event in source:
        found.append(event)
        if sum(e.event == "claim" for e in found) == wanted:
            return found
    raise AssertionError(f"the stream ended after {found}")


def test_the_stream_carries_what_settled_and_resumes_where_it_left_off(
    served: tuple[BoardShop, LiveServer],
) -> None:
    shop, server = served
    link_everyone(shop, NETWORK, 4)
    shop.open(NETWORK, {"12": ("mug", 2)})
    merchant = shop.browser()
    merchant.merchant_sign_in()
    cookies = dict(merchant.client.cookies.items())
    url = f"{server.url}/merchant/sales/1/events"
    with httpx.Client(cookies=cookies, timeout=10) as client:
        with connect_sse(client, "GET", url) as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            events = source.iter_sse()
            first = next(e for e in events if e.data)
            assert first.event == "board" and first.json()["item-12-free"] == "2"
            shop.ingest(
                [claim(NETWORK, n, key(NETWORK, n), "sold 12", seconds=n) for n in (3, 1, 2, 0)]
            )
            seen = _events(events, 4)
        lines = [e.json() for e in seen if e.event == "claim"]
        assert [(line["words"], line["who"]) for line in lines] == [
            ("won", f"@{shopper(NETWORK, 0).handle} on Mastodon"),
            ("won", f"@{shopper(NETWORK, 1).handle} on Mastodon"),
            ("waitlisted", f"@{shopper(NETWORK, 2).handle} on Mastodon"),
            ("waitlisted", f"@{shopper(NETWORK, 3).handle} on Mastodon"),
        ]
        assert lines[0]["datetime"] == moment(0).isoformat() and lines[0]["what"] == "#12 ×1"
        assert [int(e.id) for e in seen if e.event == "claim"] == [line["id"] for line in lines]

        # A reconnecting browser says where it was: only what came after.
        invoice = shop.invoices()[0]["id"]
        with shop.app.unit_of_work() as uow:
            uow.repository.sales.mark_invoice_paid(invoice, shop.clock.now(), None)
        headers = {"Last-Event-ID": str(lines[1]["id"])}
        with connect_sse(client, "GET", url, headers=headers) as source:
            events = source.iter_sse()
            again = _events(events, 3)
            board = next(e for e in events if e.event == "board").json()
    assert [e.json()["words"] for e in again if e.event == "claim"] == [
        "waitlisted",
        "waitlisted",
        "paid",
    ]
    assert (board["item-12-held"], board["item-12-paid"], board["item-12-waitlist"]) == (
        "1",
        "1",
        "2",
    )
    assert board["units"] == "2" and board["paid_rate"] == "50%"
    # Both browsers left: their streams ended, nothing of them runs on in the server.
    deadline = time.monotonic() + 5
    while server.server.server_state.tasks and time.monotonic() < deadline:
        time.sleep(0.01)  # polling a condition with a deadline, not waiting for time
    assert not server.server.server_state.tasks


def test_a_stream_remembers_a_bounded_number_of_lines() -> None:
    stream = BoardStream(cast(Any, None), 1, "Friday live", cursor=0)
    ids = list(range(1, 5 * LOOKBACK + 1))
    for start in range(0, len(ids), 7):
        stream._note([{"id": n} for n in ids[start : start + 7]])
    assert stream.cursor == 5 * LOOKBACK
    assert len(stream._sent) <= LOOKBACK


def test_a_strangers_handle_is_text_on_the_board(tmp_path: Path) -> None:
    shop = BoardShop(f"sqlite:///{tmp_path / 'board.db'}")
    hostile = "<img src=x onerror=alert(1)>"
    shop.open(NETWORK, {"12": ("mug", 1)})
    stranger = replace(shopper(NETWORK, 1), handle=hostile)
    shop.ingest([stranger.reply(key(NETWORK, 1), SALE_POST, "sold 12", minutes=0)])
    merchant = shop.browser()
    merchant.merchant_sign_in()
    page = merchant.get("/merchant/sales/1").text
    shop.close()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and hostile not in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bluesky_claimer_shows_the_handle_the_shop_knows_or_their_did(shop: SaleShop) -> None:
    # Jetstream's posts carry the author's DID only: the claim holds no handle.
    linked, stranger = shopper("bluesky", 1), shopper("bluesky", 2)
    shop.customer("s1@example.com", (linked.network, linked.account_id, linked.handle))
    shop.open("bluesky", {"12": ("mug", 1)})
    shop.ingest(
        [
            claim("bluesky", 1, key("bluesky", 1), "sold 12", seconds=1),
            claim("bluesky", 2, key("bluesky", 2), "sold 12", seconds=2),
        ]
    )
    shop.settle()
    with shop.app.engine.connect() as connection:
        sale_id = connection.execute(select(t.sales.c.id)).scalar_one()
        lines = recent_claim_events(connection, sale_id, 10)
    shown = {line["kind"]: line["handle"] for line in lines}
    assert shown == {"won": linked.handle, "waitlisted": stranger.account_id}
