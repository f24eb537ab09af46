"""The Networks page with its Connect boxes, in headless Chromium at a 390 px phone and a
1366 px laptop: no sideways scroll and no serious or critical axe-core violation, with one
network connected (its "Connected as" and Disconnect), one refused beside its button (a
Mastodon server that is no server) and one waiting to be connected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hashcart.store import shop_connections
from hashcart.store.shop_connections import ShopConnection
from tests.e2e.axe import axe_script, serious_violations
from tests.e2e.crawl import horizontal_overflow
from tests.loopback import LiveServer
from tests.oauth.conftest import linking_settings
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop

SCREENS = [(390, 844), (1366, 900)]
# A long handle, as a stranger may choose one: the box must wrap it, not widen the page.
HANDLE = "the-very-long-named-trailhead-coffee-roasters-shop.bsky.social"


@pytest.fixture(scope="module")
def served(tmp_path_factory: Any) -> Iterator[str]:
    database = tmp_path_factory.mktemp("networks") / "networks.db"
    shop = WebShop(f"sqlite:///{database}", **linking_settings())
    with shop.app.engine.begin() as connection:
        shop_connections.save(
            connection,
            ShopConnection(
                "bluesky",
                "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
                HANDLE,
                "https://bsky.social",
                "atproto transition:generic transition:chat.bsky",
                shop.clock.now(),
            ),
        )
    with LiveServer(shop.web) as server:
        yield server.url
    shop.close()


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}px" for w, _ in SCREENS])
def test_the_networks_page_fits_and_is_accessible_with_its_connect_boxes(
    chromium: Any, served: str, width: int, height: int
) -> None:
    script = axe_script()
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{served}/merchant/sign-in")
        page.fill("input[name=email]", MERCHANT_EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/merchant/sign-in'] button[type=submit]")
        page.goto(f"{served}/merchant/networks")
        page.fill("#connect-mastodon-entered", "not a host")
        page.click("button[form=connect-mastodon]")
        page.wait_for_selector("#shop-account-mastodon .error")

        assert f"Connected as @{HANDLE}" in page.inner_text("#shop-account-bluesky")
        assert page.is_visible("button[form=disconnect-bluesky]")
        assert "That is not a server name." in page.inner_text("#shop-account-mastodon")
        assert page.is_visible("button[form=connect-x]")
        assert horizontal_overflow(page) <= 0
        assert serious_violations(page, script) == []
    finally:
        context.close()
