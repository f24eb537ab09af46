"""The console's Networks page shows the last gap a listener found on resuming (Jetstream
keeps about 36 hours: networks/bluesky/backfill), next to that listener, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json

from hashcart.store.cursors import save_cursor
from tests.web.conftest import WebShop
from tests.web.console_support import HOSTILE_SCRIPT, assert_inert, parse

GAP = {
    "since_us": 1_779_278_520_000_000,  # 2026-05-20 12:02 UTC
    "until_us": 1_779_422_400_000_000,  # 2026-05-22 04:00 UTC
    "found_at": "2026-05-22T04:00:01+00:00",
    "backfilled": True,
    "note": "1 post of the shop's threads read again",
}


def page_text(shop: WebShop) -> str:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    response = browser.get("/merchant/networks")
    assert response.status_code == 200
    assert_inert(response.text)
    return " ".join(parse(response.text).text.split())


def test_the_last_jetstream_gap_is_shown_beside_its_listener(database_url: str) -> None:
    shop = WebShop(database_url, listeners=("jetstream",))
    try:
        save_cursor(shop.app.engine, "jetstream.gap", json.dumps(GAP), shop.clock.now())

        text = page_text(shop)

        assert (
            "Bluesky Jetstream jetstream runs Last gap on resuming: 2026-05-20 12:02 UTC to "
            "2026-05-22 04:00 UTC: 1 post of the shop's threads read again"
        ) in text
    finally:
        shop.close()


def test_no_gap_no_line_and_a_hostile_or_broken_record_shows_nothing_live(
    database_url: str,
) -> None:
    shop = WebShop(database_url, listeners=("jetstream",))
    try:
        assert "Last gap" not in page_text(shop)
        save_cursor(shop.app.engine, "x_stream.gap", "{not json", shop.clock.now())
        save_cursor(
            shop.app.engine,
            "jetstream.gap",
            json.dumps({**GAP, "note": HOSTILE_SCRIPT, "until_us": 10**30}),
            shop.clock.now(),
        )
        assert "Last gap" not in page_text(shop)
        save_cursor(
            shop.app.engine,
            "jetstream.gap",
            json.dumps({**GAP, "note": HOSTILE_SCRIPT}),
            shop.clock.now(),
        )
        assert "Last gap on resuming" in page_text(shop)  # shown, and inert (page_text)
    finally:
        shop.close()
