"""A shopper saves a card on the account page in a real browser (Stripe's script: localstripe's
stand-in on loopback), then buys with a post: `#buy` under the shop's post and `#confirm CODE`
are ingested as Bluesky sends them, Stripe holds and captures the money, and the shopper sees
the order on their orders page. Without a shipping address the `#buy` is answered
`address_needed`; the shopper saves one on the account page (a wrong field is shown beside
itself), and the order ships there. On a 390 px phone and a desktop."""

from __future__ import annotations

from typing import Any

import pytest

from hashcart.domain.posts import Network
from tests.buying.support import code_in, own_post
from tests.harness import HOST
from tests.integration.social import Shopper
from tests.web.conftest import WebShop
from tests.web.sign_up_support import sign_up_in_browser

WIDTHS = [390, 1200]
MUG = f"https://{HOST}/products/enamel-mug"
MAYA = Shopper(Network.BLUESKY, "did:plc:maya00000000000000000000", "maya.bsky.social")


def _save_address(page: Any, url: str, width: int) -> None:
    page.goto(f"{url}/account#address")
    form = page.locator("form.address-form")
    form.locator("input[name=name]").fill("Maya Okafor")
    form.locator("input[name=line1]").fill("12 Ridge Rd")
    form.locator("input[name=postcode]").fill("97701")
    form.locator("input[name=city]").fill("Bend")
    form.locator("input[name=country]").fill("XX")  # no country: refused beside the field
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    error = page.locator("#country-error")
    assert "two-letter code" in error.inner_text()
    assert form.locator("input[name=country]").get_attribute("aria-invalid") == "true"
    assert form.locator("input[name=city]").input_value() == "Bend"  # the rest kept
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    form.locator("input[name=country]").fill("us")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{url}/account?done=address#address")
    assert "12 Ridge Rd" in page.inner_text("#address")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _save_card(page: Any, url: str, shop: WebShop) -> None:
    sign_up_in_browser(page, url, shop.app.engine)
    page.goto(f"{url}/account#payment")
    page.click("#card-start")
    page.locator("#card-element input").first.wait_for()
    page.fill("#card-element input[placeholder=number]", "4242424242424242")
    page.fill("#card-element input[placeholder=exp_month]", "12")
    page.fill("#card-element input[placeholder=exp_year]", "31")
    page.fill("#card-element input[placeholder=cvc]", "123")
    page.fill("#card-element input[placeholder=postal_code]", "10115")
    page.click("#card-save")
    page.wait_for_url(f"{url}/account?done=card#payment")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_card_saved_on_the_account_page_then_a_buy_with_a_post(
    stripe_live_shop: tuple[WebShop, str], page: Any, width: int
) -> None:
    shop, url = stripe_live_shop
    page.set_viewport_size({"width": width, "height": 844})
    _save_card(page, url, shop)
    shop.link("maya@example.com", MAYA.network, MAYA.account_id, MAYA.handle)

    parent = MAYA.key()
    shop.ingest([MAYA.parent(parent, (MUG,)), MAYA.reply(MAYA.key(), parent, "#buy x2")])
    assert shop.outbox()[-1]["reason"] == "address_needed"
    _save_address(page, url, width)
    shop.ingest([MAYA.reply(MAYA.key(), parent, "#buy x2", minutes=6)])
    asked = shop.outbox()[-1]
    assert asked["reason"] == "buy_confirm_needed" and "ending in 4242" in asked["text"]
    shop.ingest([own_post(MAYA, MAYA.key(), f"#confirm {code_in(asked['text'])}")])
    assert "purchased" in shop.reasons()

    page.goto(f"{url}/orders")
    main = page.inner_text("main")
    assert "$36.00" in main
    page.click("main a[href^='/orders/']")
    page.wait_for_load_state()
    order = page.inner_text("main")
    assert "Trailhead Enamel Mug" in order and "$36.00" in order
    assert "12 Ridge Rd" in order and "97701 Bend" in order
    assert page.evaluate("document.documentElement.scrollWidth") <= width
