"""Issue 14 in a real browser, at a phone's and a laptop's width: sign-up lands on the prompt
to link a social account, and "Add to cart" on the shop front confirms the add and counts it
in the header, with nothing wider than the screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hashcart.synthetic import demo_shoppers
from tests.e2e.crawl import horizontal_overflow, sign_in
from tests.e2e.demo_site import DemoSite
from tests.web.sign_up_support import follow_sign_up_link

SCREENS = [(390, 844), (1366, 900)]
PASSWORD = "a long enough password"


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}px" for w, _ in SCREENS])
def test_sign_up_lands_on_linking_a_social_account(
    chromium: Any, demo_site: DemoSite, width: int, height: int
) -> None:
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{demo_site.url}/s/{demo_site.slug}")
        page.click(".front-hero a:has-text('Create account')")
        page.fill("input[name=name]", "Noor")
        page.fill("input[name=email]", f"noor{width}@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/sign-up'] button[type=submit]")
        page.wait_for_url("**/sign-up")  # "Check your email": the account waits for its link
        assert "Check your email" in page.inner_text("main")
        follow_sign_up_link(page, demo_site.url, demo_site.app.engine, f"noor{width}@example.com")
        page.wait_for_url(re.compile(r".*/account/welcome\?next="))
        assert "Welcome, Noor! One more step" in page.inner_text("main")
        assert page.locator("form[action='/account/link-code']").is_visible()
        assert horizontal_overflow(page) == 0
        page.click("text=Skip for now")
        page.wait_for_url(f"**/s/{demo_site.slug}")
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}px" for w, _ in SCREENS])
def test_add_to_cart_confirms_and_the_header_counts_it(
    chromium: Any, demo_site: DemoSite, width: int, height: int
) -> None:
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        sign_in(page, demo_site.url, "/sign-in", demo_shoppers()[1].email)
        page.goto(f"{demo_site.url}/s/{demo_site.slug}")
        before = page.locator(".cart-count").first
        count = int(before.inner_text().split()[0]) if before.count() else 0
        page.locator("form[action='/cart/add'] button[type=submit]").first.click()
        page.wait_for_load_state()
        confirmation = page.locator(".added-to-cart")
        assert confirmation.is_visible()
        assert re.fullmatch(r"Added .+ to your cart\. View your cart", confirmation.inner_text())
        assert page.locator(".cart-count").first.inner_text().startswith(str(count + 1))
        assert horizontal_overflow(page) == 0
        page.reload()
        assert page.locator(".added-to-cart").count() == 0  # confirmed once
    finally:
        context.close()
