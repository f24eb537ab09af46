"""Orders and fulfilment in a real browser (issue 14), on a 390 px phone and a 1366 px
laptop: the merchant finds the order by the shopper's handle in the orders list, opens it,
marks it shipped with a carrier and a tracking link, and the shopper's message waits in the
outbox on their channel (a reply under the Bluesky reply the order came from, the way she
chose); the order's timeline and the customer's page then show it. axe-core finds nothing
serious on the orders list, the order page and the customer page, and none scrolls sideways."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.e2e.axe import axe_script, serious_violations
from tests.loopback import LiveServer
from tests.orders_support import OrderLine, place
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop

SCREENS = [390, 1366]
ALICE = "alice@example.com"
ALICE_DID = "did:plc:alice0000000000000000000"
MUG_LINK = "https://shop.example/products/enamel-mug"
TRACKING = "https://track.carrier-example.com/parcels/1Z999AA10123456784"


def _order_from_a_reply(shop: WebShop) -> int:
    shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    brand, reply = post_uri(SHOP_DID, "3mmbrand00001"), post_uri(ALICE_DID, "3mmreply00001")
    shop.ingest(
        [
            jetstream_post(SHOP_DID, "3mmbrand00001", f"New: {MUG_LINK}", links=(MUG_LINK,)),
            jetstream_post(ALICE_DID, "3mmreply00001", "#cart", reply_to=brand, minutes=5),
        ]
    )
    line = OrderLine(
        "mug", "Trailhead Enamel Mug", Decimal("18.00"), "USD", 1, "bluesky", brand, reply
    )
    return place(shop, "k1", ALICE, lines=(line,))


def _sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/merchant/sign-in")
    page.fill("input[name=email]", MERCHANT_EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/merchant/sign-in'] button[type=submit]")
    page.wait_for_load_state()


def _checked(page: Any, width: int, script: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    assert serious_violations(page, script) == [], page.url


@pytest.mark.parametrize("width", SCREENS, ids=[f"{w}px" for w in SCREENS])
def test_the_merchant_ships_with_a_carrier_and_the_shopper_is_told_on_her_channel(
    live_shop: tuple[WebShop, LiveServer], chromium: Any, width: int
) -> None:
    shop, server = live_shop
    number = _order_from_a_reply(shop)
    script = axe_script()
    context = chromium.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    try:
        _sign_in(page, server.url)
        page.goto(f"{server.url}/merchant")
        page.click("a.stat[href='/merchant/orders']")
        page.fill("input[name=q]", "@alice.bsky")
        page.click("form[role=search] button[type=submit]")
        page.wait_for_load_state()
        _checked(page, width, script)
        page.click(f"a[href='/merchant/orders/{number}']")
        page.wait_for_load_state()
        _checked(page, width, script)

        form = f"form[action='/merchant/orders/{number}/ship']"
        page.fill(f"{form} input[name=carrier]", "DHL Express")
        page.fill(f"{form} input[name=tracking]", TRACKING)
        page.click(f"{form} button[type=submit]")
        page.wait_for_load_state()
        main = page.inner_text("main")
        assert "Marked shipped" in main and "by DHL Express" in main
        timeline = page.inner_text("section[aria-labelledby=timeline]")
        assert "Reply on bluesky: shipped" in timeline
        assert page.locator(form).count() == 0
        _checked(page, width, script)

        with shop.app.engine.connect() as connection:
            [message] = connection.execute(
                select(t.outbox).where(t.outbox.c.reason == "shipped")
            ).all()
        assert (message.network, message.account_id, message.channel) == (
            "bluesky",
            ALICE_DID,
            "reply",
        )
        assert message.in_reply_to == post_uri(ALICE_DID, "3mmreply00001")
        assert f"order {number}" in message.text and TRACKING not in message.text

        page.click("main a[href^='/merchant/customers/']")
        page.wait_for_load_state()
        assert "shipped" in page.inner_text("section[aria-labelledby=messages]")
        _checked(page, width, script)
    finally:
        context.close()
