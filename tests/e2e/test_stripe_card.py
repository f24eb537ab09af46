"""The account page saves a card in a real browser: Stripe's script (localstripe's
`/js.stripe.com/v3/` stand-in, served on loopback) draws the card fields and confirms the
SetupIntent; hashcart then shows the brand and last four digits, and the card number was
never in a request to hashcart. On a 390 px phone and a desktop."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import WebShop
from tests.web.sign_up_support import sign_up_in_browser

WIDTHS = [390, 1200]
NUMBER = "4242424242424242"


def _sign_up(page: Any, url: str, shop: WebShop, email: str = "maya@example.com") -> None:
    sign_up_in_browser(page, url, shop.app.engine, email)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_card_is_saved_on_the_account_page_by_stripe_s_script(
    stripe_live_shop: tuple[WebShop, str], page: Any, width: int
) -> None:
    shop, url = stripe_live_shop
    sent_to_hashcart: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent_to_hashcart.append(f"{request.url} {request.post_data or ''}")
            if request.url.startswith(url)
            else None
        ),
    )
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security" in message.text else None
        ),
    )
    page.set_viewport_size({"width": width, "height": 844})
    _sign_up(page, url, shop)
    page.goto(f"{url}/account#payment")
    assert "No card is saved." in page.inner_text("#payment")
    page.click("#card-start")
    # The stand-in draws plain inputs named by their placeholders (Stripe's own script
    # draws them in its iframe).
    fields = page.locator("#card-element input")
    fields.first.wait_for()
    page.fill("#card-element input[placeholder=number]", NUMBER)
    page.fill("#card-element input[placeholder=exp_month]", "12")
    page.fill("#card-element input[placeholder=exp_year]", "31")
    page.fill("#card-element input[placeholder=cvc]", "123")
    page.fill("#card-element input[placeholder=postal_code]", "10115")
    page.click("#card-save")
    page.wait_for_url(f"{url}/account?done=card#payment")
    assert "Saved: Visa ending in 4242" in page.inner_text("#payment")
    assert "Your card is saved." in page.inner_text("main")
    assert refused == []
    assert not any(NUMBER in sent for sent in sent_to_hashcart)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_a_saved_card_is_removed_on_the_account_page_and_stripe_detaches_it(
    stripe_live_shop: tuple[WebShop, str], page: Any, width: int
) -> None:
    shop, url = stripe_live_shop
    page.set_viewport_size({"width": width, "height": 844})
    _sign_up(page, url, shop)
    cards = shop.app.stripe_cards()
    assert cards is not None
    with shop.app.unit_of_work() as uow:
        customer_id = uow.gateway_records.customer_with_email("maya@example.com")
    assert customer_id is not None
    saved = cards.save_test_card(customer_id, "maya@example.com", NUMBER)
    page.goto(f"{url}/account#payment")
    assert "Saved: Visa ending in 4242" in page.inner_text("#payment")
    remove = page.locator("#card-remove")
    assert remove.is_visible()
    box = remove.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    remove.click()
    page.wait_for_url(f"{url}/account?done=card-removed#payment")
    assert "No card is saved." in page.inner_text("#payment")
    assert "Nothing will be charged to it again." in page.inner_text("main")
    assert page.locator("#card-remove").count() == 0
    method = cards.client.v1.payment_methods.retrieve(saved.method_id)
    assert getattr(method, "customer", None) is None
    assert page.evaluate("document.documentElement.scrollWidth") <= width
