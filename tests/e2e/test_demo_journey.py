"""The demo journey in a real browser: a shopper's reply is ingested, the shopper signs in and
sees the line with its source, checks out with the test card and receives the email; the
merchant sees the post's funnel count it carted and ordered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hashcart.outbox.dispatcher import dispatch_once
from tests.e2e.conftest import screenshot
from tests.harness import HOST
from tests.loopback import LiveServer
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.smtp_support import SMTPServer, smtp_server
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop
from tests.web.sign_up_support import follow_sign_up_link

__all__ = ["smtp_server"]  # a fixture, used by name

MUG = f"https://{HOST}/products/enamel-mug"
SHOPPER = "maya@example.com"
SHOPPER_DID = "did:plc:maya0000000000000000000000"
BRAND_POST = post_uri(SHOP_DID, "3mmbrandmug01")


@pytest.fixture
def mailing_live_shop(
    tmp_path: Path, smtp_server: SMTPServer
) -> Iterator[tuple[WebShop, LiveServer]]:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'journey.db'}",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        mail_from="Trailhead Coffee <shop@trailhead.example>",
    )
    with LiveServer(shop.web) as server:
        yield shop, server
    shop.close()


def test_reply_to_cart_to_order_to_funnel(
    mailing_live_shop: tuple[WebShop, LiveServer], smtp_server: SMTPServer, page: Any
) -> None:
    shop, server = mailing_live_shop
    url = server.url
    # The brand posts the mug; Maya, not yet a customer, replies #cart: the request waits.
    shop.ingest(
        [
            jetstream_post(
                SHOP_DID, "3mmbrandmug01", f"Our enamel mug is back {MUG}", links=(MUG,)
            ),
            jetstream_post(
                SHOPPER_DID, "3mmmayacart01", "#cart x2", reply_to=BRAND_POST, minutes=3
            ),
        ]
    )

    # Maya signs up, gets a one-time code and posts it from her Bluesky account.
    page.goto(f"{url}/sign-up")
    page.fill("input[name=name]", "Maya")
    page.fill("input[name=email]", SHOPPER)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/sign-up'] button[type=submit]")
    follow_sign_up_link(page, url, shop.app.engine, SHOPPER)
    page.goto(f"{url}/account")
    page.click("form[action='/account/link-code'] button[type=submit]")
    code_line = page.inner_text("#link-code")
    code = re.fullmatch(r"#cartlink (\S+)", code_line)
    assert code, code_line
    shop.ingest([jetstream_post(SHOPPER_DID, "3mmmayalink01", code_line, minutes=10)])

    # The waiting request landed: her cart shows the mug, two of them, and where it came from.
    page.goto(f"{url}/cart")
    cart = page.inner_text("main")
    assert "Trailhead Enamel Mug" in cart
    assert "from your reply to" in cart
    assert "on Bluesky" in cart
    source = page.locator(".source a").first.get_attribute("href")
    assert source == "https://bsky.app/profile/did:plc:shopbrand000000000000000/post/3mmbrandmug01"
    assert page.locator("input[name=quantity]").first.input_value() == "2"
    screenshot(page, "cart")

    # Checkout with the test card.
    page.click("a.checkout-button")
    page.fill("input[name=name]", "Maya Lind")
    page.fill("input[name=line1]", "12 Harbour Street")
    page.fill("input[name=postcode]", "94110")
    page.fill("input[name=city]", "San Francisco")
    page.fill("input[name=country]", "US")
    page.check("input[name=payment_method][value=test_card]")
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.fill("input[name=card_expiry]", "12/30")
    page.fill("input[name=card_cvc]", "123")
    screenshot(page, "checkout")
    page.click("button.place-order")
    page.wait_for_url(re.compile(r".*/orders/\d+\?placed=1$"))
    confirmation = page.inner_text("main")
    assert "Trailhead Enamel Mug" in confirmation
    assert "$36.00" in confirmation
    screenshot(page, "order")

    # The confirmation email arrives over SMTP with the dispatcher's next run.
    dispatch_once(shop.app)
    [email] = [m for m in smtp_server.messages if m["To"] == SHOPPER]
    assert "Trailhead Enamel Mug" in email.get_content()

    # The merchant's funnel counts the post's reply, the cart add and the order.
    merchant = page.context.browser.new_context(viewport={"width": 1280, "height": 800})
    console = merchant.new_page()
    console.goto(f"{url}/merchant/sign-in")
    console.fill("input[name=email]", MERCHANT_EMAIL)
    console.fill("input[name=password]", PASSWORD)
    console.click("form[action='/merchant/sign-in'] button[type=submit]")
    console.goto(f"{url}/merchant/posts")
    row = console.locator("tbody tr", has_text="Our enamel mug is back")
    cells = {
        header.strip(" ▲▼\n").lower(): cell.strip()
        for header, cell in zip(
            console.locator("thead th").all_inner_texts(),
            row.locator("td").all_inner_texts(),
            strict=False,
        )
    }
    assert cells["carted"] == "1", cells
    assert cells["orders"] == "1", cells
    assert cells["units"] == "2", cells
    assert cells["revenue"] == "$36.00", cells
    merchant.close()
