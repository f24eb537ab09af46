"""X's 2026 reply rule, turned into guidance (xdevplatform/docs changelog.mdx 2026-02-23,
x-api/posts/manage-tweets/introduction.mdx: an app may reply only where the author mentioned
it). A `#cart` without the mention still puts the product in the cart; X refuses the
confirmation, which goes by email instead; the funnel counts those; the shop front and the
account page tell shoppers to write `@shop #cart`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.networks.x.send import REPLY_RESTRICTED, XSender
from hashcart.outbox.dispatcher import dispatch_once
from hashcart.store import schema as t
from hashcart.views.funnel import funnel
from tests.harness import Shop
from tests.loopback import LiveServer
from tests.networks.x.conftest import (
    SHOP_HANDLE,
    SHOPPER_EMAIL,
    SHOPPER_HANDLE,
    SHOPPER_ID,
    ServedStandIn,
)
from tests.networks.x.payloads import stream_line, v2_post, v2_shop_post
from tests.networks.x.stand_in import REPLY_RESTRICTED as RESTRICTION_ANSWER
from tests.networks.x.stand_in import SHOP_USER_ID, Scripted, XStandIn
from tests.web.conftest import WebShop
from tests.web.console_support import parse

PARENT_ID, REPLY_ID = "1890000000000000001", "1890000000000000002"


@pytest.fixture
def rule_shop(database_url: str) -> Iterator[tuple[Shop, ServedStandIn]]:
    shop = Shop(database_url, x_shop_handle=SHOP_HANDLE)
    shop.customer(SHOPPER_EMAIL, (Network.X, SHOPPER_ID, SHOPPER_HANDLE))
    stand_in = XStandIn(shop.clock.now)
    with LiveServer(stand_in.app) as server:
        try:
            yield shop, ServedStandIn(stand_in, server.url)
        finally:
            stand_in.release()
            shop.app.engine.dispose()


def test_a_cart_reply_without_the_mention_adds_the_line_and_is_confirmed_by_email(
    rule_shop: tuple[Shop, ServedStandIn],
) -> None:
    shop, x = rule_shop
    # A reply whose words do not mention the shop: X shows only the implicit reply prefix.
    reply = v2_post(REPLY_ID, SHOPPER_ID, "#cart", reply_to=PARENT_ID, hashtags=("cart",))
    shop.ingest([stream_line(reply, v2_shop_post(PARENT_ID))])
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]

    x.x.create_script.append(Scripted(403, RESTRICTION_ANSWER))
    sender = XSender(x.api(), shop_user_id=SHOP_USER_ID)
    dispatch_once(shop.app, {"x": sender})
    with shop.app.engine.connect() as connection:
        rows = {
            (row.network, row.status): row
            for row in connection.execute(
                select(t.outbox.c.network, t.outbox.c.status, t.outbox.c.last_error)
            )
        }
    assert rows[("x", "failed")].last_error == REPLY_RESTRICTED
    assert ("email", "queued") in rows

    with shop.app.engine.connect() as connection:
        found = funnel(connection, shop.clock.now())
    assert [(row.post_id, row.carted, row.confirmed_elsewhere) for row in found.rows] == [
        (PARENT_ID, 1, 1)
    ]
    assert found.totals.confirmed_elsewhere == 1


def test_a_reply_x_carried_is_not_counted_as_elsewhere(
    rule_shop: tuple[Shop, ServedStandIn],
) -> None:
    shop, x = rule_shop
    text = f"@{SHOP_HANDLE} @{SHOP_HANDLE} #cart"
    reply = v2_post(REPLY_ID, SHOPPER_ID, text, reply_to=PARENT_ID, hashtags=("cart",))
    shop.ingest([stream_line(reply, v2_shop_post(PARENT_ID))])
    dispatch_once(shop.app, {"x": XSender(x.api(), shop_user_id=SHOP_USER_ID)})
    with shop.app.engine.connect() as connection:
        found = funnel(connection, shop.clock.now())
    assert found.rows[0].confirmed_elsewhere == 0
    assert found.totals.confirmed_elsewhere == 0


def test_the_shop_front_and_account_page_say_write_at_shop_cart(tmp_path: object) -> None:
    shop = WebShop(f"sqlite:///{tmp_path}/front.db", x_shop_handle="@" + SHOP_HANDLE)
    try:
        shop.ingest([stream_line(v2_shop_post(PARENT_ID))])
        browser = shop.browser()
        front = " ".join(parse(browser.get(f"/s/{shop.app.settings.shop_slug}").text).text.split())
        assert f"On X, write @{SHOP_HANDLE} #cart: X lets the shop answer you there" in front
        assert f"Reply @{SHOP_HANDLE} #cart to the post to get it" in front
        assert browser.sign_up("ana@example.com").status_code == 303
        account = " ".join(parse(browser.get("/account").text).text.split())
        assert f"On X, write @{SHOP_HANDLE} #cart in your reply" in account
    finally:
        shop.close()


def test_without_a_shop_handle_nothing_is_suggested(tmp_path: object) -> None:
    shop = WebShop(f"sqlite:///{tmp_path}/plain.db")
    try:
        front = shop.browser().get(f"/s/{shop.app.settings.shop_slug}").text
        assert "On X, write" not in front
    finally:
        shop.close()
