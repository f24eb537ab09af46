"""Issue 14: a cart count in the shop's header, and a confirmation after "Add to cart" on
the shop front (shown once, naming the catalog's title, never text from the cookie)."""

from __future__ import annotations

import re

from httpx import Response

from hashcart.web.cart_badge import ADDED_COOKIE
from tests.harness import HOST
from tests.payloads import SHOP_DID, jetstream_post
from tests.web.conftest import Browser, WebShop

MUG = f"https://{HOST}/products/enamel-mug"
POST = "3mmbrand00001"


def header_count(html: str) -> str | None:
    found = re.search(r'<span class="cart-count">(\d+)<span class="visually-hidden"> (\w+)', html)
    return f"{found.group(1)} {found.group(2)}" if found else None


def add_from_the_front(browser: Browser, web_shop: WebShop) -> Response:
    return browser.submit(
        "/cart/add",
        {
            "product_id": "mug",
            "source_network": "bluesky",
            "source_post_id": f"at://{SHOP_DID}/app.bsky.feed.post/{POST}",
            "next": "/s/demo",
        },
    )


def test_the_header_counts_what_the_cart_holds(web_shop_any_db: WebShop) -> None:
    web_shop = web_shop_any_db
    web_shop.ingest([jetstream_post(SHOP_DID, POST, f"Our mug {MUG}", links=(MUG,))])
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")
    assert header_count(browser.get("/s/demo").text) is None  # empty: no badge

    add_from_the_front(browser, web_shop)
    assert header_count(browser.get("/cart").text) == "1 item"
    add_from_the_front(browser, web_shop)
    assert header_count(browser.get("/account").text) == "2 items"  # on every shop page
    assert header_count(web_shop.browser().get("/s/demo").text) is None  # signed out


def test_add_to_cart_confirms_once_on_the_page_it_returns_to(web_shop: WebShop) -> None:
    web_shop.ingest([jetstream_post(SHOP_DID, POST, f"Our mug {MUG}", links=(MUG,))])
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")
    response = add_from_the_front(browser, web_shop)
    assert response.status_code == 303
    assert response.headers["location"] == "/s/demo"

    page = browser.get("/s/demo").text
    assert re.search(r"Added <strong>[^<]*Mug[^<]*</strong> to your cart", page), page
    assert 'href="/cart">View your cart' in page
    assert "to your cart. <a" not in browser.get("/s/demo").text  # shown once


def test_a_forged_cookie_shows_nothing_but_a_real_products_title(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")
    for forged in ("<script>alert(1)</script>", "no-such-product", "x" * 5000, "mug\x00"):
        browser.client.cookies.set(ADDED_COOKIE, forged)
        page = browser.get("/cart").text
        assert "to your cart. <a" not in page, forged
        assert "<script>alert(1)" not in page
    browser.client.cookies.set(ADDED_COOKIE, "mug")
    assert re.search(r"Added <strong>[^<]*Mug", browser.get("/cart").text)
