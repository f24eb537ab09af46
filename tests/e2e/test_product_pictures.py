"""Issue 14's end-to-end test for pictures, in headless Chromium: the merchant imports a
feed in the console whose `image_link` points at a picture server on loopback (allowed by
`image_fetch_allow_hosts`, as only tests do), and the product page shows hashcart's copy
of the picture (loaded: naturalWidth > 0) at a 1366 px laptop and a 390 px phone, without
scrolling sideways; the shop front's card shows the thumbnail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.crawl import horizontal_overflow
from tests.loopback import LiveServer
from tests.pictures.support import picture_server
from tests.web.cart_support import bluesky_reply_cart
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop

LOADED = "img => img.complete && img.naturalWidth"


@pytest.fixture
def pictured_shop(tmp_path: Path) -> Iterator[tuple[WebShop, str, str]]:
    shop = WebShop(f"sqlite:///{tmp_path / 'e2e.db'}", image_fetch_allow_hosts=("127.0.0.1",))
    bluesky_reply_cart(shop)  # a shop post carrying the mug: the mug is on the shop front
    with picture_server() as pictures, LiveServer(shop.web) as server:
        yield shop, server.url, pictures
    shop.close()


def test_a_picture_named_in_an_imported_feed_shows_on_the_product_page(
    chromium: Any, pictured_shop: tuple[WebShop, str, str], tmp_path: Path
) -> None:
    _shop, url, pictures = pictured_shop
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "id,title,link,price,availability,image_link,description\n"
        "mug,Trailhead Enamel Mug,https://shop.example/products/enamel-mug,18.00 USD,"
        f"in_stock,{pictures}/photo.jpg,Enamel over steel; 350 ml.\n"
    )
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{url}/merchant/sign-in")
        page.fill("input[name=email]", MERCHANT_EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/merchant/sign-in'] button[type=submit]")
        page.goto(f"{url}/merchant/catalog")
        page.set_input_files("input[name=feed]", str(feed))
        page.click("form[action='/merchant/catalog/import'] button[type=submit]")
        page.wait_for_load_state()
        assert "Pictures: 1 ready" in page.inner_text("main")

        for width, height in ((1366, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{url}/s/demo/p/mug")
            picture = page.locator("img.product-main-picture")
            assert picture.evaluate(LOADED) > 0, width
            assert picture.get_attribute("alt") == "Trailhead Enamel Mug"
            assert pictures not in page.content()  # hashcart's copy, never the source
            assert "Enamel over steel; 350 ml." in page.inner_text("main")
            assert horizontal_overflow(page) == 0, width

            page.goto(f"{url}/s/demo")
            thumb = page.locator("img.thumb").first
            assert thumb.evaluate(LOADED) > 0, width
    finally:
        context.close()
