"""The pages that name the networks, now drawn from the network registry, in a real browser
on a 390 px phone and a desktop: the account page's "Link" forms (one a network with a
sign-in, each with what it asks first), the shop front's, the cart's and the footer's
sentences; nothing wider than the screen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.loopback import LiveServer
from tests.web.conftest import WebShop
from tests.web.sign_up_support import sign_up_in_browser

WIDTHS = [390, 1200]


def _sign_up(page: Any, url: str, shop: WebShop, email: str = "maya@example.com") -> None:
    sign_up_in_browser(page, url, shop.app.engine, email)


def _fits(page: Any, width: int) -> None:
    # The page scrolls down, never sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_account_page_offers_each_network_s_sign_in(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    shop, server = live_shop
    page.set_viewport_size({"width": width, "height": 844})
    _sign_up(page, server.url, shop)
    page.goto(f"{server.url}/account")

    for network, label in (
        ("x", "Link X"),
        ("mastodon", "Link Mastodon"),
        ("bluesky", "Link Bluesky"),
    ):
        button = page.locator(f"form[action='/account/oauth/{network}/start'] button[type=submit]")
        assert button.inner_text() == label
        assert button.is_visible()
    server_field = page.locator("form[action='/account/oauth/mastodon/start'] input[name=server]")
    assert server_field.is_visible()
    assert server_field.get_attribute("placeholder") == "mastodon.social"
    handle = page.locator("form[action='/account/oauth/bluesky/start'] input[name=handle]")
    assert handle.is_visible()
    assert handle.get_attribute("autocomplete") == "username"
    assert page.locator("form[action='/account/oauth/x/start'] input[type=text]").count() == 0
    assert "Link your X, Mastodon or Bluesky account once" in page.inner_text("#link")
    assert "carts that fill from your replies on X, Mastodon and Bluesky" in page.inner_text(
        "footer"
    )
    _fits(page, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_shop_front_and_an_empty_cart_name_the_networks(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    shop, server = live_shop
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{server.url}/s/demo")
    assert "in our posts on X, Mastodon or Bluesky?" in page.inner_text("main")
    _fits(page, width)
    _sign_up(page, server.url, shop)
    page.goto(f"{server.url}/cart")
    assert "to one of our posts on X, Mastodon or Bluesky and" in page.inner_text("main")
    _fits(page, width)
