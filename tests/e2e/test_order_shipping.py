"""The console's order view in a real browser, on a 390 px phone and a desktop: the merchant
types a tracking link, marks the order shipped, and the page then shows it shipped with the
link; a hostile link is refused with the reason beside the form. Nothing wider than the
screen (issue 12, order care)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.store import schema as t
from hashcart.store.orders import Address, NewOrder, OrderLine, add_order
from tests.loopback import LiveServer
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop

WIDTHS = [390, 1200]
TRACKING = "https://track.carrier-example.com/parcels/1Z999AA10123456784"


def _order(shop: WebShop) -> int:
    shop.customer("alice@example.com")
    with shop.app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id("alice@example.com")
        assert customer_id is not None
        return add_order(
            uow.connection,
            NewOrder(
                customer_id,
                "k1",
                "paid",
                "alice@example.com",
                Address("Alice Longname-Hyphenated", "1 Trail Rd", "", "Leeds", "LS1", "GB"),
                "test_card",
                "ref",
                Decimal("18.00"),
                "USD",
                shop.clock.now(),
                [OrderLine("mug", "Trailhead Enamel Mug", Decimal("18.00"), "USD", 1, None, None)],
            ),
        )


def _sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/merchant/sign-in")
    page.fill("input[name=email]", MERCHANT_EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/merchant/sign-in'] button[type=submit]")
    page.wait_for_load_state()


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_merchant_marks_an_order_shipped_with_a_tracking_link(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    shop, server = live_shop
    number = _order(shop)
    page.set_viewport_size({"width": width, "height": 844})
    _sign_in(page, server.url)
    page.goto(f"{server.url}/merchant/orders")
    page.click(f"a[href='/merchant/orders/{number}']")
    page.wait_for_load_state()
    form = f"form[action='/merchant/orders/{number}/ship']"
    assert page.locator(f"{form} button[type=submit]").is_visible()
    _fits(page, width)

    page.fill(f"{form} input[name=tracking]", "javascript:alert(1)")
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state()
    assert "https://" in page.inner_text("[role=alert]")
    _fits(page, width)

    page.fill(f"{form} input[name=tracking]", TRACKING)
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state()
    assert "Marked shipped" in page.inner_text("main")
    assert page.locator(f"a[href='{TRACKING}']").is_visible()
    assert page.locator(form).count() == 0
    _fits(page, width)
    with shop.app.engine.connect() as connection:
        reasons = connection.execute(select(t.outbox.c.reason)).scalars().all()
    assert reasons.count("shipped") == 1
