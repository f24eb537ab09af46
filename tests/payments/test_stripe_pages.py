"""The account page saves a card with Stripe's own script (never a card number in hashcart's
pages, requests or tables), and the console's settings say which Stripe settings are set,
never their values. The browser's part (Stripe.js confirming the SetupIntent) is done here
as the script does it, against localstripe; tests/e2e/test_stripe_card.py drives it in
Chromium."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hashcart.store import schema as t
from tests.payments.stripe_support import SAM, WEBHOOK_SECRET
from tests.peers.fake_stripe.fixture import LocalStripe
from tests.web.cart_support import csrf_of, text_of
from tests.web.conftest import Browser, WebShop


def _shopper(shop: WebShop, email: str = SAM) -> tuple[Browser, str]:
    browser = shop.browser()
    browser.sign_up(email)
    return browser, csrf_of(browser.get("/account"))


def _confirm_in_browser(localstripe: LocalStripe, client_secret: str, number: str) -> str:
    """What Stripe.js's confirmCardSetup sends: the card goes to Stripe with the
    publishable key (https://docs.stripe.com/js/setup_intents/confirm_card_setup)."""
    setup_intent = client_secret.split("_secret_")[0]
    answer = httpx.post(
        f"{localstripe.url}/v1/setup_intents/{setup_intent}/confirm",
        json={
            "key": localstripe.publishable_key,
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"},
            },
        },
    )
    answer.raise_for_status()
    return setup_intent


def _start(browser: Browser, csrf: str) -> Any:
    return browser.client.post("/account/payment-method/setup", headers={"X-CSRF-Token": csrf})


def _saved_rows(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.saved_payment_methods)))


def test_the_account_page_saves_a_card_through_stripe(
    shop: WebShop, localstripe: LocalStripe
) -> None:
    browser, csrf = _shopper(shop)
    page = browser.get("/account")
    assert 'id="card-form"' in page.text
    assert f'src="{localstripe.url}/js.stripe.com/v3/"' in page.text
    policy = page.headers["content-security-policy"]
    assert f"script-src 'self' {localstripe.url}" in policy
    assert f"connect-src 'self' {localstripe.url}" in policy
    started = _start(browser, csrf)
    assert started.status_code == 200 and started.headers["cache-control"] == "no-store"
    setup_intent = _confirm_in_browser(
        localstripe, started.json()["client_secret"], "4242424242424242"
    )
    saved = browser.client.post(
        "/account/payment-method/saved",
        data={"csrf_token": csrf, "setup_intent": setup_intent},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/account?done=card#payment"
    assert "Saved: Visa ending in 4242" in text_of(browser.get("/account?done=card"))
    [row] = _saved_rows(shop)
    assert (row.gateway, row.brand, row.last4) == ("stripe", "Visa", "4242")
    assert row.method_id.startswith("pm_")
    with shop.app.engine.connect() as connection:
        for table in t.metadata.sorted_tables:
            for stored in connection.execute(select(table)):
                assert "424242424242" not in " ".join(map(str, stored)), table.name


def test_the_page_has_no_card_number_field(shop: WebShop) -> None:
    browser, _ = _shopper(shop)
    page = browser.get("/account").text
    assert "card_number" not in page and "cc-number" not in page


def test_someone_else_s_setup_intent_is_not_kept(shop: WebShop, localstripe: LocalStripe) -> None:
    other, other_csrf = _shopper(shop, "ana@example.com")
    theirs = _confirm_in_browser(
        localstripe, _start(other, other_csrf).json()["client_secret"], "4242424242424242"
    )
    browser, csrf = _shopper(shop)
    _start(browser, csrf)  # Sam has a Stripe customer too
    answer = browser.client.post(
        "/account/payment-method/saved", data={"csrf_token": csrf, "setup_intent": theirs}
    )
    assert answer.status_code == 400
    assert "That is not a card setup of this shop." in text_of(answer)
    assert _saved_rows(shop) == []


def test_a_setup_intent_not_confirmed_keeps_nothing(shop: WebShop) -> None:
    browser, csrf = _shopper(shop)
    setup_intent = _start(browser, csrf).json()["client_secret"].split("_secret_")[0]
    answer = browser.client.post(
        "/account/payment-method/saved", data={"csrf_token": csrf, "setup_intent": setup_intent}
    )
    assert answer.status_code == 400 and "Stripe has not confirmed it" in text_of(answer)
    assert _saved_rows(shop) == []


@pytest.mark.parametrize(
    "setup_intent", ["", "seti_\x00", "seti_" + "a" * 190, "../v1/customers", "pm_card_visa", "é"]
)
def test_hostile_setup_intent_names_are_refused(shop: WebShop, setup_intent: str) -> None:
    browser, csrf = _shopper(shop)
    answer = browser.client.post(
        "/account/payment-method/saved", data={"csrf_token": csrf, "setup_intent": setup_intent}
    )
    assert answer.status_code in (400, 422)
    assert _saved_rows(shop) == []


def test_the_card_steps_need_the_csrf_token(shop: WebShop) -> None:
    browser, _ = _shopper(shop)
    assert _start(browser, "forged").status_code == 403
    answer = browser.client.post(
        "/account/payment-method/saved", data={"csrf_token": "x", "setup_intent": "seti_1"}
    )
    assert answer.status_code == 403


def test_without_stripe_there_is_no_card_form(database_url: str) -> None:
    shop = WebShop(database_url)
    browser, csrf = _shopper(shop)
    page = browser.get("/account")
    assert "No card is saved." in text_of(page)
    assert "card-form" not in page.text and "js.stripe.com" not in page.text
    assert "connect-src" not in page.headers["content-security-policy"]
    assert _start(browser, csrf).status_code == 404
    shop.close()


def test_with_stripe_s_own_address_the_page_loads_stripe_js_from_stripe(
    database_url: str,
) -> None:
    shop = WebShop(database_url, stripe_secret_key="sk_test_x", stripe_publishable_key="pk_x")
    browser, _ = _shopper(shop)
    page = browser.get("/account")
    assert 'src="https://js.stripe.com/v3/"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' https://js.stripe.com" in policy
    assert "connect-src 'self' https://api.stripe.com" in policy
    assert "frame-src https://js.stripe.com https://hooks.stripe.com" in policy
    shop.close()


def test_the_console_says_which_stripe_settings_are_set_never_their_values(
    shop: WebShop, localstripe: LocalStripe
) -> None:
    merchant = shop.browser()
    assert merchant.merchant_sign_in().status_code == 303
    page = merchant.get("/merchant/settings")
    words = text_of(page)
    assert "Payments with Stripe" in words
    for key in ("stripe_secret_key", "stripe_publishable_key", "stripe_webhook_secret"):
        assert key in page.text
    for key in ("stripe_secret_key", "stripe_publishable_key", "stripe_webhook_secret"):
        assert f"{key} set" in words
    for value in (localstripe.secret_key, localstripe.publishable_key, WEBHOOK_SECRET):
        assert value not in page.text


def test_the_console_says_not_set_without_stripe(database_url: str) -> None:
    shop = WebShop(database_url)
    merchant = shop.browser()
    merchant.merchant_sign_in()
    words = text_of(merchant.get("/merchant/settings"))
    for key in ("stripe_secret_key", "stripe_publishable_key", "stripe_webhook_secret"):
        assert f"{key} not set" in words
    shop.close()
