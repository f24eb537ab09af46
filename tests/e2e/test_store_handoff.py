"""Issue 16 in a real browser, at a laptop's and a phone's width: a shopper whose `#cart`
reply put a Vendure product in their cart presses "Check out at Vendure" on the cart page
and lands on the merchant's storefront (a loopback stand-in, tests/peers/vendure/storefront)
holding the order the handoff made at the real Vendure, with the same line and quantity."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hashcart.domain.posts import Network
from hashcart.services.store_sync import sync_catalog
from tests.e2e.crawl import horizontal_overflow
from tests.loopback import LiveServer
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.peers.vendure.fixture import ADMIN_PASSWORD, ADMIN_USERNAME, VendurePeer, unique
from tests.peers.vendure.storefront import storefront
from tests.stores.vendure_catalog import STOREFRONT, Made, make_product
from tests.web.conftest import PASSWORD, WebShop

SCREENS = [(1366, 900), (390, 844)]


@pytest.fixture(scope="module")
def handoff_site(
    vendure: VendurePeer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WebShop, str, Made, str]]:
    """The shop served on loopback, its store the test Vendure, its storefront the stand-in;
    one product synced (shared by the widths: each has its own shopper and order)."""
    with LiveServer(storefront(vendure.shop_api)) as front:
        folder = tmp_path_factory.mktemp("handoff")
        shop = WebShop(
            f"sqlite:///{folder / 'e2e.db'}",
            store="vendure",
            vendure_url=vendure.url,
            vendure_admin_username=ADMIN_USERNAME,
            vendure_admin_password=ADMIN_PASSWORD,
            store_checkout_url=f"{front.url}/checkout?token={{token}}",
            # Product pages on the storefront's public name (links to a bare IP address are
            # no shop's); its checkout page is the stand-in on loopback.
            store_storefront_url=STOREFRONT,
        )
        made = make_product(vendure, "Ridge Beanie", {"red": 8, "grey": 8})
        sync_catalog(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock)
        with LiveServer(shop.web) as server:
            yield shop, server.url, made, front.url
        shop.close()


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}px" for w, _ in SCREENS])
def test_check_out_at_the_store_hands_the_cart_over_and_lands_on_the_storefront(
    chromium: Any, handoff_site: tuple[WebShop, str, Made, str], width: int, height: int
) -> None:
    shop, url, made, front = handoff_site
    email = f"{unique('beanie')}@example.com"
    did = f"did:plc:{unique('shopper').replace('-', '')}"
    shop.browser().sign_up(email)
    shop.link(email, Network.BLUESKY, did, "beanie.bsky.social")
    link = made.url("grey")
    brand = unique("3brand")
    parent = post_uri(SHOP_DID, brand)
    shop.ingest(
        [
            jetstream_post(SHOP_DID, brand, f"Warm: {link}", links=(link,)),
            jetstream_post(did, unique("3reply"), "#cart x3 grey", reply_to=parent, minutes=5),
        ]
    )
    assert shop.cart(email) == [(f"vendure:{made.variant_ids['grey']}", 3)], shop.reasons()
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{url}/sign-in")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/sign-in'] button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{url}/cart")
        button = page.locator("form[action='/cart/handoff'] button[type=submit]")
        assert button.inner_text() == "Check out at Vendure"
        assert button.is_visible()
        assert horizontal_overflow(page) == 0
        button.click()
        page.wait_for_url(lambda at: at.startswith(f"{front}/checkout?token="))
        heading = page.inner_text("h1")
        assert heading.startswith("Checkout: order ")
        assert page.inner_text("main ul") == "Ridge Beanie GREY × 3"
    finally:
        context.close()
