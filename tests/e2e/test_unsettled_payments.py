"""The console's home page lists the payments whose capture or void the gateway has not
settled, in a real browser on a 390 px phone and a desktop: the stopped one stands out,
the gateway's hostile answer is inert text, and nothing is wider than the screen."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from hashcart.ports import Authorisation
from tests.loopback import LiveServer
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop

WIDTHS = [390, 1200]
HOSTILE = "<script>window.pwned = 1</script>" + "a-very-long-unbroken-gateway-answer-" * 12


def _owe(shop: WebShop, key: str, error: str, *, stopped: bool) -> None:
    """An authorisation whose void the gateway refused: asked again soon, or stopped."""
    now = shop.clock.now()
    with shop.app.unit_of_work() as uow:
        uow.payments.start(key, "test_card", Decimal("18.00"), "USD", now)
        uow.payments.record_authorisation(key, Authorisation(True, "CARD-4242-X", "ok"), now)
        assert uow.payments.owe(key, "void", now)
        uow.payments.step_failed(
            key, "void", error, now, None if stopped else now + timedelta(hours=1)
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_console_home_lists_unsettled_payments(
    live_shop: tuple[WebShop, LiveServer], page: Any, width: int
) -> None:
    shop, server = live_shop
    _owe(shop, "s" * 32, f"void refused: {HOSTILE}", stopped=True)
    _owe(shop, "r" * 32, "void refused: the gateway is busy", stopped=False)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{server.url}/merchant/sign-in")
    page.fill("input[name=email]", MERCHANT_EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/merchant/sign-in'] button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{server.url}/merchant")

    table = page.locator("table.unsettled")
    assert table.is_visible()
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    assert "stopped" in rows.nth(0).inner_text()  # the one that needs the merchant, first
    assert "asked again" in rows.nth(1).inner_text()
    assert HOSTILE in rows.nth(0).inner_text()  # shown as the text it is, not run
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.documentElement.scrollWidth") <= width
