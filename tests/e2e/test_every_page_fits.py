"""Every page of each role fits the screen: the demo shop, signed in as a shopper and as
its merchant, crawled through every same-origin link at a 390x844 phone and a 1366x900
laptop; no page may scroll sideways (document.documentElement.scrollWidth <= innerWidth).
Plus what issue 14 saw broken on those screens: the header flush to the phone's edge, the
console's nav wrapping at 1366 px and the live chart's ~5 px axis labels on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from hashcart.demo import DEMO_MERCHANT_EMAIL
from hashcart.synthetic import demo_shoppers
from tests.e2e.crawl import crawl, horizontal_overflow, sign_in
from tests.e2e.demo_site import DemoSite, shopper_with_everything

SCREENS = [(390, 844), (1366, 900)]
SHOPPER_STARTS = ["/cart", "/wishlist", "/checkout", "/orders", "/account", "/account/welcome"]


@pytest.fixture(scope="module")
def site(chromium: Any, demo_site: DemoSite) -> Iterator[DemoSite]:
    shopper_with_everything(chromium, demo_site, demo_shoppers()[0].email)
    yield demo_site


def signed_in(chromium: Any, site: DemoSite, role: str, width: int, height: int) -> Any:
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    if role == "shopper":
        sign_in(page, site.url, "/sign-in", demo_shoppers()[0].email)
    else:
        sign_in(page, site.url, "/merchant/sign-in", DEMO_MERCHANT_EMAIL)
    return page


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}px" for w, _ in SCREENS])
@pytest.mark.parametrize("role", ["shopper", "merchant"])
def test_no_page_of_the_role_scrolls_sideways(
    chromium: Any, site: DemoSite, role: str, width: int, height: int
) -> None:
    page = signed_in(chromium, site, role, width, height)
    starts = [f"/s/{site.slug}", *SHOPPER_STARTS] if role == "shopper" else ["/merchant"]
    try:
        pages = {visit.url: horizontal_overflow(page) for visit in crawl(page, site.url, starts)}
    finally:
        page.context.close()
    visited = {url.removeprefix(site.url).split("?")[0] for url in pages}
    if role == "shopper":
        assert {"/cart", "/wishlist", "/checkout", "/orders", "/account"} <= visited
        assert any(path.startswith("/orders/") for path in visited), visited
    else:
        assert {
            "/merchant/posts",
            "/merchant/catalog",
            "/merchant/outbox",
            "/merchant/tokens",
            "/merchant/messages",
        } <= visited
        assert any(path.startswith("/merchant/messages/") for path in visited), visited
        assert any(path.startswith("/merchant/orders/") for path in visited), visited
        # Issue 14: the orders list, filtered, and each customer's page.
        assert any(path.startswith("/merchant/customers/") for path in visited), visited
        assert "/merchant/orders" in visited, visited
    wider = {url: extra for url, extra in pages.items() if extra > 0}
    assert wider == {}, f"pages wider than {width}px by (px): {wider}"


def test_the_cart_lines_controls_are_on_a_phones_screen(chromium: Any, site: DemoSite) -> None:
    page = signed_in(chromium, site, "shopper", 390, 844)
    try:
        page.goto(f"{site.url}/cart")
        line = page.locator("tr.line").first
        for control in (
            "input[name=quantity]",
            "text=Update",
            "text=Move to wish list",
            "text=Remove",
        ):
            box = line.locator(control).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, control
    finally:
        page.context.close()


def test_the_header_keeps_a_margin_from_a_phones_edge(chromium: Any, site: DemoSite) -> None:
    page = signed_in(chromium, site, "shopper", 390, 844)
    try:
        page.goto(f"{site.url}/s/{site.slug}")
        brand = page.locator(".topbar .brand").bounding_box()
        assert brand is not None and brand["x"] >= 12
    finally:
        page.context.close()


def test_the_consoles_nav_is_one_line_on_a_laptop(chromium: Any, site: DemoSite) -> None:
    page = signed_in(chromium, site, "merchant", 1366, 900)
    try:
        page.goto(f"{site.url}/merchant")
        tops = page.eval_on_selector_all(
            ".topbar .nav > *", "items => items.map(i => Math.round(i.getBoundingClientRect().top))"
        )
        assert len(tops) >= 9 and max(tops) - min(tops) <= 8, tops
        bar = page.locator(".topbar-inner").bounding_box()
        assert bar is not None and bar["height"] <= 64
    finally:
        page.context.close()


def test_the_live_charts_axis_labels_stay_readable_on_a_phone(
    chromium: Any, site: DemoSite
) -> None:
    page = signed_in(chromium, site, "merchant", 390, 844)
    try:
        page.goto(f"{site.url}/merchant/live")
        page.wait_for_function("() => document.getElementById('live-chart').complete")
        chart = page.locator("#live-chart")
        assert "size=phone" in chart.evaluate("img => img.currentSrc")
        shown, drawn = chart.evaluate("img => [img.clientWidth, img.naturalWidth]")
        assert 12 * shown / drawn >= 10  # the SVG's 12 px labels, as the phone shows them
        # A refresh (the page refreshes when it becomes visible) says its time in UTC, like
        # the chart and the page's "Times are UTC", not in the browser's local time.
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.wait_for_function(
            "() => /Updated/.test(document.getElementById('live-status').textContent)"
        )
        status = page.inner_text("#live-status")
        assert re.fullmatch(r"Updated \d\d:\d\d:\d\d UTC\.", status), status
        assert "size=phone" in page.evaluate("document.getElementById('live-chart-phone').srcset")
    finally:
        page.context.close()


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}px" for w, _ in SCREENS])
def test_the_demo_shows_its_products_pictures(
    chromium: Any, site: DemoSite, width: int, height: int
) -> None:
    """The demo's products have pictures (drawn at demo start): the shop front's cards show
    them, and a card leads to the product page with its picture, loaded and on screen."""
    page = signed_in(chromium, site, "shopper", width, height)
    loaded = "img => img.complete && img.naturalWidth"
    try:
        page.goto(f"{site.url}/s/{site.slug}")
        thumbs = page.locator("img.thumb")
        assert thumbs.count() > 0
        for index in range(thumbs.count()):  # lazy pictures load once scrolled to
            thumb = thumbs.nth(index)
            thumb.scroll_into_view_if_needed()
            page.wait_for_function(loaded, arg=thumb.element_handle(), timeout=10_000)
        assert page.locator(".thumb-none").count() == 0
        page.locator("a.front-product-title").first.click()
        page.wait_for_load_state()
        assert "/p/" in page.url
        picture = page.locator("img.product-main-picture")
        assert picture.evaluate(loaded) > 0
        box = picture.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert horizontal_overflow(page) == 0
    finally:
        page.context.close()
