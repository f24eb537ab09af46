"""A reminder (issue 14) is opt-in twice: the shopper ticks a box on /account, the merchant
turns reminders on in the console's settings (both POSTs with CSRF)."""

from __future__ import annotations

import json

from sqlalchemy import select

from hashcart.store import schema as t
from tests.web.conftest import Browser, WebShop

EMAIL = "sam@example.com"


def asked(shop: WebShop) -> bool:
    with shop.app.engine.connect() as connection:
        return bool(
            connection.execute(
                select(t.customers.c.cart_reminders).where(t.customers.c.email == EMAIL)
            ).scalar_one()
        )


def shopper(shop: WebShop) -> Browser:
    browser = shop.browser()
    browser.sign_up(EMAIL)
    return browser


def test_the_shopper_ticks_and_unticks_the_reminder_box(web_shop: WebShop) -> None:
    browser = shopper(web_shop)
    page = browser.get("/account").text
    assert 'name="cart_reminders" value="on">' in page  # unticked: off unless they tick it
    assert "This shop does not send reminders at the moment." in page
    assert not asked(web_shop)

    ticked = browser.submit("/account/reminders", {"cart_reminders": "on"})
    assert ticked.status_code == 303
    assert ticked.headers["location"] == "/account?done=reminders-on#reminders"
    assert asked(web_shop)
    page = browser.get(ticked.headers["location"]).text
    assert 'name="cart_reminders" value="on" checked>' in page
    assert "We will remind you once of a cart you leave waiting." in page
    assert json.loads(browser.get("/account/export").text)["profile"]["cart_reminders"] is True

    unticked = browser.submit("/account/reminders", {})  # a box left unticked sends nothing
    assert unticked.headers["location"] == "/account?done=reminders-off#reminders"
    assert not asked(web_shop)


def test_without_the_csrf_token_nothing_changes(web_shop: WebShop) -> None:
    browser = shopper(web_shop)
    refused = browser.client.post(
        "/account/reminders", data={"cart_reminders": "on"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert not asked(web_shop)


def test_the_merchant_turns_reminders_on_for_the_shop(web_shop: WebShop) -> None:
    merchant = web_shop.browser()
    assert merchant.merchant_sign_in().status_code == 303
    assert "Cart reminders are <strong>off</strong>" in merchant.get("/merchant/settings").text
    turned = merchant.submit("/merchant/settings/reminders", {"cart_reminders": "on"})
    assert turned.status_code == 303
    assert web_shop.app.effective_settings().cart_reminders is True
    page = merchant.get("/merchant/settings").text
    assert "Cart reminders are <strong>on</strong>" in page
    assert 'href="/merchant/messages/cart_reminder"' in page
    assert (
        merchant.submit("/merchant/settings/reminders", {"cart_reminders": "x"}).status_code == 400
    )
    shopper_page = shopper(web_shop).get("/account").text
    assert "This shop does not send reminders at the moment." not in shopper_page
