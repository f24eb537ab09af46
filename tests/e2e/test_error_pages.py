"""Error pages, the favicon and the demo's mail page in a real browser (Chromium), on a
390 px phone and a 1366 px desktop: a page in the site's style with a way back that works,
nothing wider than the screen, no request answered 404 on a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from hashcart.web import create_app
from tests.loopback import LiveServer
from tests.web.conftest import PASSWORD, WebShop
from tests.web.sign_up_support import sign_up_in_browser

WIDTHS = [390, 1366]


def _at(page: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})


def _fits(page: Any, width: int) -> None:
    # The page scrolls down, never sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _sign_up(page: Any, url: str, shop: WebShop, email: str = "maya@example.com") -> None:
    sign_up_in_browser(page, url, shop.app.engine, email)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", ["/no-such-page", "/static/x.css", "/s/demo/p/<b>x</b>"])
def test_an_unknown_address_is_a_page_whose_way_back_leads_to_the_shop(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int, path: str
) -> None:
    shop, server = live_shop
    _at(page, width)
    response = page.goto(f"{server.url}{path}")
    assert response.status == 404
    assert page.locator("h1").inner_text() in ("Page not found", "Not found")
    _fits(page, width)
    back = page.get_by_role("link", name="Back to the shop").first
    assert back.is_visible()
    back.click()
    page.wait_for_load_state()
    assert page.url == f"{server.url}/s/{shop.app.settings.shop_slug}"


@pytest.mark.parametrize("width", WIDTHS)
def test_an_unknown_console_address_leads_to_the_merchant_sign_in(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    _, server = live_shop
    _at(page, width)
    # (/merchant/tokens, the address first seen answering raw JSON, is a page now.)
    response = page.goto(f"{server.url}/merchant/no-such-page")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    _fits(page, width)
    page.get_by_role("link", name="Merchant sign-in").click()
    page.wait_for_load_state()
    assert page.url == f"{server.url}/merchant/sign-in"
    assert page.locator("form[action='/merchant/sign-in']").is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_shopper_following_the_footers_console_link_is_offered_the_merchant_sign_in(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    shop, server = live_shop
    _at(page, width)
    _sign_up(page, server.url, shop)
    page.get_by_role("link", name="Merchant console").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "The merchant console"
    assert "maya@example.com" in page.inner_text("main")
    _fits(page, width)
    page.get_by_role("link", name="Merchant sign-in").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{server.url}/merchant/sign-in?next=")
    page.fill("input[name=email]", "owner@shop.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/merchant/sign-in'] button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{server.url}/merchant"


@pytest.mark.parametrize("width", WIDTHS)
def test_no_request_of_a_page_is_answered_404_the_favicon_included(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    shop, server = live_shop
    _at(page, width)
    answered: dict[str, int] = {}
    page.on("response", lambda response: answered.__setitem__(response.url, response.status))
    for path in (f"/s/{shop.app.settings.shop_slug}", "/sign-in", "/merchant/sign-in"):
        page.goto(f"{server.url}{path}")
        page.wait_for_load_state("networkidle")
        # Headless Chromium does not fetch icons itself: ask for the one the page names, and
        # for /favicon.ico, which browsers ask for when a page names none.
        for icon in (page.eval_on_selector("link[rel=icon]", "link => link.href"), "/favicon.ico"):
            fetched = page.request.get(icon if icon.startswith("http") else server.url + icon)
            assert fetched.status == 200, icon
            assert fetched.headers["content-type"] == "image/x-icon"
    assert [url for url, status in answered.items() if status >= 400] == []
    assert len(answered) > 3


@pytest.fixture
def demo_server(live_shop: tuple[WebShop, LiveServer]) -> Iterator[tuple[WebShop, LiveServer]]:
    """The shop served as `hashcart demo --serve` serves it: with the demo's mail page."""
    shop, _ = live_shop
    with LiveServer(create_app(shop.app, demo=True)) as server:
        yield shop, server


@pytest.mark.parametrize("width", WIDTHS)
def test_in_the_demo_a_reset_email_is_read_on_the_mail_page_and_its_link_works(
    demo_server: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    shop, server = demo_server
    _at(page, width)
    _sign_up(page, server.url, shop, "ann@example.com")
    page.goto(f"{server.url}/reset")
    page.fill("input[name=email]", "ann@example.com")
    page.click("form[action='/reset'] button[type=submit]")
    page.wait_for_load_state()
    page.get_by_role("link", name="demo's mail page").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Demo mail"
    assert "Reset your Trailhead Coffee password" in page.inner_text("main")
    _fits(page, width)

    link = page.locator("a[href^='/reset/']").first
    href = link.get_attribute("href")
    link.click()
    page.wait_for_load_state()
    assert re.fullmatch(rf"{re.escape(server.url)}/reset/[\w-]+", page.url)
    page.fill("input[name=password]", PASSWORD + " again")
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{server.url}/account")

    response = page.goto(f"{server.url}{href}")  # the used link
    assert response.status == 404
    assert page.locator("h1").inner_text() == "This link has expired"
    _fits(page, width)
    page.get_by_role("link", name="Ask for a new reset link").click()
    page.wait_for_load_state()
    assert page.url == f"{server.url}/reset"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_console_says_why_messages_wait_and_fits_the_screen(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    from hashcart.services.mail import Email, queue_email

    shop, server = live_shop
    with shop.app.unit_of_work() as uow:
        email = Email(
            to="ann@example.com", subject="Hi", text="x", reason="order_placed", dedupe_key="a"
        )
        queue_email(uow.repository, email, shop.clock.now())
    _at(page, width)
    page.goto(f"{server.url}/merchant/sign-in")
    page.fill("input[name=email]", "owner@shop.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/merchant/sign-in'] button[type=submit]")
    page.wait_for_load_state()
    for path in ("/merchant", "/merchant/outbox"):
        page.goto(f"{server.url}{path}")
        notice = page.locator(".no-sender")
        assert notice.is_visible()
        assert "Email: 1 message waiting" in " ".join(notice.inner_text().split())
        assert "HASHCART_SMTP_HOST" in notice.inner_text()
        _fits(page, width)
