"""Pictures end to end through the web app: a feed imported in the console brings its
pictures (fetched once from a picture server on loopback, which the test allows), failures
are shown with their reasons, uploads and links work from the console's product page, and
the product page, shop front, cart and checkout show hashcart's own copies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hashcart.services.images import upload_image
from hashcart.store import schema as t
from tests.pictures.support import bmp, picture_server, png
from tests.web.cart_support import bluesky_reply_cart, link_everywhere, signed_in, text_of
from tests.web.conftest import WebShop

HEAD = "id,title,link,price,availability,image_link,additional_image_link,description"
_PICTURE = re.compile(r'<img class="product-main-picture" src="/images/(\d+)/800" alt="([^"]*)"')


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with picture_server() as base:
        yield base


def shop_at(url: str) -> WebShop:
    return WebShop(url, image_fetch_allow_hosts=("127.0.0.1",))


@pytest.fixture
def shop(tmp_path: Any) -> Iterator[WebShop]:
    made = shop_at(f"sqlite:///{tmp_path / 'pictures.db'}")
    yield made
    made.close()


def give_picture(shop: WebShop, product_id: str) -> None:
    with shop.app.unit_of_work() as uow:
        assert upload_image(uow, product_id, png(), shop.clock, shop.app.image_limits()) is None


def main_picture(shop: WebShop, product_id: str) -> int:
    page = shop.browser().get(f"/s/demo/p/{product_id}")
    assert page.status_code == 200, page.text
    found = _PICTURE.search(page.text)
    assert found, "no picture on the product page"
    return int(found.group(1))


def statuses(shop: WebShop) -> dict[str, str]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(t.images.c.source_url, t.images.c.status))
        return {row.source_url.rsplit("/", 1)[1]: row.status for row in rows}


def test_a_feed_imported_in_the_console_brings_its_pictures_once(
    database_url: str, server: str
) -> None:
    shop = shop_at(database_url)
    try:
        feed = "\n".join(
            [
                HEAD,
                f"mug,Trailhead Enamel Mug,https://shop.example/products/enamel-mug,18.00 USD,"
                f"in_stock,{server}/photo.jpg,{server}/logo.png,Holds 350 ml",
                f"beans,Summit Roast Beans 1kg,https://shop.example/products/summit-roast,"
                f"24.50 USD,in_stock,{server}/broken,,",
                f"kettle,Gooseneck Kettle,https://shop.example/products/gooseneck-kettle,"
                f"69.00 USD,out_of_stock,{server}/to-private,,",
                f"grinder,Hand Grinder,https://shop.example/products/hand-grinder,,"
                f"discontinued,{server}/bomb.png,,",
            ]
        )
        merchant = shop.browser()
        merchant.merchant_sign_in()
        answer = merchant.submit(
            "/merchant/catalog/import", files={"feed": ("feed.csv", feed.encode(), "text/csv")}
        )
        assert answer.status_code == 200, answer.text
        said = text_of(answer)
        assert "Imported 4 products" in said
        assert "Pictures: 2 ready, 3 could not be used" in said

        assert statuses(shop) == {
            "photo.jpg": "ready",
            "logo.png": "ready",
            "broken": "failed",
            "to-private": "failed",
            "bomb.png": "failed",
        }
        catalog = text_of(merchant.get("/merchant/catalog"))
        assert "the server answered 503" in catalog
        assert "private address (169.254.169.254" in catalog
        assert "too many pixels" in catalog

        # Fetched once: nothing is fetched again, unless the failed ones are retried.
        again = shop.app.fetch_images()
        assert (again.ready, again.failed) == (0, [])
        retried = shop.app.fetch_images(retry=True)
        assert (retried.ready, len(retried.failed)) == (0, 3)

        main_picture(shop, "mug")
        page = shop.browser().get("/s/demo/p/mug").text
        assert page.count('src="/images/') == 2  # the main picture and the additional one
        assert "Holds 350 ml" in page
        assert server not in page  # never hot-linked
    finally:
        shop.close()


def test_pictures_are_served_from_hashcart_with_a_long_cache(shop: WebShop) -> None:
    give_picture(shop, "mug")
    image_id = main_picture(shop, "mug")
    browser = shop.browser()
    for size in ("800", "200"):
        served = browser.get(f"/images/{image_id}/{size}")
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert served.content.startswith(b"RIFF") and served.content[8:12] == b"WEBP"
    for missing in (f"/images/{image_id}/300", f"/images/{image_id + 1}/800", "/images/x/200"):
        assert browser.get(missing).status_code == 404
    assert "img-src 'self'" in browser.get("/s/demo/p/mug").headers["content-security-policy"]


def test_the_product_page_shows_words_variants_stock_and_posts(shop: WebShop) -> None:
    with shop.app.engine.begin() as connection:
        connection.execute(
            update(t.products)
            .where(t.products.c.product_id == "mug")
            .values(
                description="<script>alert(1)</script>\nDishwasher safe.",
                item_group_id="mug-group",
                color="Red",
                stock=3,
            )
        )
        connection.execute(
            update(t.products)
            .where(t.products.c.product_id == "beans")
            .values(item_group_id="mug-group", color="Blue")
        )
    bluesky_reply_cart(shop)
    page = shop.browser().get("/s/demo/p/mug")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    said = text_of(page)
    assert "Only 3 left" in said
    assert "Colour and size" in said and 'href="/s/demo/p/beans"' in page.text
    assert "In our posts" in said and "New in:" in said
    assert 'aria-label="No picture of Trailhead Enamel Mug"' in page.text  # the placeholder
    assert "Sign in to add it to your cart" in said
    shopper = signed_in(shop)
    assert 'action="/cart/add"' in shopper.get("/s/demo/p/mug").text
    out = shop.browser().get("/s/demo/p/kettle")
    assert "Out of stock" in text_of(out) and 'action="/cart/add"' not in out.text
    for missing in ("/s/demo/p/nothing", "/s/other/p/mug"):
        assert shop.browser().get(missing).status_code == 404


def test_the_front_cart_and_checkout_show_thumbnails(shop: WebShop) -> None:
    give_picture(shop, "mug")
    image_id = main_picture(shop, "mug")
    shopper = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    thumb = f'src="/images/{image_id}/200" alt="Trailhead Enamel Mug"'
    front = shopper.get("/s/demo").text
    assert thumb in front
    assert 'href="/s/demo/p/mug"' in front
    assert thumb in shopper.get("/cart").text
    assert thumb in shopper.get("/checkout").text


def test_the_merchant_uploads_a_picture_or_sets_its_link(shop: WebShop, server: str) -> None:
    merchant = shop.browser()
    merchant.merchant_sign_in()
    sent = merchant.submit(
        "/merchant/picture/beans", files={"picture": ("beans.png", png(), "image/png")}
    )
    assert sent.status_code == 303
    main_picture(shop, "beans")

    refused = merchant.submit(
        "/merchant/picture/kettle", files={"picture": ("kettle.bmp", bmp(), "image/bmp")}
    )
    assert refused.status_code == 400
    assert "kettle.bmp: not a picture (not JPEG, PNG, WebP or GIF)" in text_of(refused)

    linked = merchant.submit("/merchant/picture/kettle", {"image_link": f"{server}/photo.jpg"})
    assert linked.status_code == 303
    main_picture(shop, "kettle")

    private = merchant.submit("/merchant/picture/mug", {"image_link": f"{server}/to-private"})
    assert private.status_code == 400
    assert "The link is kept, but private address" in text_of(private)
    assert "private address" in text_of(merchant.get("/merchant/catalog"))

    with shop.app.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(t.images)).scalar_one()
    assert count == 3  # the upload, the photo, the refused link: the BMP stored nothing


def test_a_run_fetches_a_batch_and_says_how_many_wait(shop: WebShop, server: str) -> None:
    with shop.app.engine.begin() as connection:
        for product_id, name in (("mug", "photo.jpg"), ("beans", "logo.png")):
            connection.execute(
                update(t.products)
                .where(t.products.c.product_id == product_id)
                .values(image_link=f"{server}/{name}")
            )
    first = shop.app.fetch_images(batch=1)
    assert (first.ready, first.waiting) == (1, 1)
    second = shop.app.fetch_images(batch=1)
    assert (second.ready, second.waiting) == (1, 0)
    assert set(statuses(shop).values()) == {"ready"}


def test_a_ready_picture_is_never_written_again(database_url: str, server: str) -> None:
    """What /images/<id>/… serves is cached for a year: a link fetched again (the merchant
    sets it a second time) keeps its first renditions, and a failure cannot replace them."""
    shop = shop_at(database_url)
    try:
        with shop.app.unit_of_work() as uow:
            uow.images.set_product_image("mug", f"{server}/photo.jpg")
        assert shop.app.fetch_images().ready == 1
        image_id = main_picture(shop, "mug")
        before = shop.browser().get(f"/images/{image_id}/800").content
        with shop.app.unit_of_work() as uow:
            uow.images.record_failed(
                f"{server}/photo.jpg", "the server answered 503", shop.clock.now()
            )
        assert statuses(shop) == {"photo.jpg": "ready"}
        assert shop.browser().get(f"/images/{image_id}/800").content == before
    finally:
        shop.close()
