"""Issue 14: a form showed one error at a time at the top. Checkout and sign-up now show every
problem at once, each beside its own field (marked aria-invalid and described by it), and the
top of the form says how many there are."""

from __future__ import annotations

import re

from hashcart.services.checkout import address_problems, read_address
from tests.web.cart_support import checkout_form, post_form
from tests.web.conftest import MERCHANT_EMAIL, Browser, WebShop
from tests.web.test_checkout import _nothing_happened, _shopper_with_two_replies


def beside(html: str, field: str) -> str | None:
    """The problem shown beside `field`, if the field is marked invalid and points at it."""
    marked = re.search(
        rf'name="{field}"[^>]*aria-invalid="true" aria-describedby="{field}-error"', html
    )
    shown = re.search(rf'<span class="field-error" id="{field}-error">([^<]*)</span>', html)
    return shown.group(1) if marked and shown else None


def test_checkout_shows_each_problem_beside_its_field(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    form = checkout_form(browser, name="", city="", country="Utopia", postcode="<b>")
    response = post_form(browser, "/checkout", form)
    assert response.status_code == 400
    html = response.text
    assert beside(html, "name") == "Enter your name."
    assert beside(html, "city") == "Enter the city."
    assert beside(html, "country") == "Enter the country as its two-letter code, like US, GB or DE."
    assert beside(html, "postcode") == "A postcode has only letters, digits, spaces and hyphens."
    assert beside(html, "line1") is None  # a good field is not marked
    assert "There are 4 problems with the form: each is shown beside its field." in html
    _nothing_happened(web_shop)


def test_checkout_names_a_missing_way_to_pay_beside_the_choices(web_shop: WebShop) -> None:
    browser = _shopper_with_two_replies(web_shop)
    response = post_form(browser, "/checkout", checkout_form(browser, payment_method="cash"))
    assert response.status_code == 400
    assert 'aria-describedby="payment_method-error"' in response.text
    assert '<span class="field-error" id="payment_method-error">Choose how you want to pay.' in (
        response.text
    )


def test_the_first_problem_is_still_a_missing_field_for_the_other_callers() -> None:
    form = {"name": "Ann", "line1": "1 Road", "line2": "x" * 201, "city": "", "country": "US"}
    assert read_address(form) == (None, "Enter the city.")
    assert set(address_problems(form)) == {"line2", "city"}


def test_sign_up_shows_the_email_and_the_password_problem_together(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    response = browser.submit("/sign-up", {"email": "not-an-email", "password": "short"})
    assert response.status_code == 400
    assert beside(response.text, "email") == "Enter an email address like name@example.com."
    assert beside(response.text, "password") is not None
    assert "There are 2 problems with the form" in response.text


# --- sign-in and reset (issue 14, i14-polish) ----------------------------------------------


def test_sign_in_names_blank_fields_and_puts_a_mismatch_beside_the_password(
    web_shop: WebShop,
) -> None:
    web_shop.browser().sign_up("ann@example.com")
    for door, path in (("shopper", "/sign-in"), ("merchant", "/merchant/sign-in")):
        browser = web_shop.browser()
        blank = browser.submit(path, {"email": " ", "password": ""})
        assert blank.status_code == 400, door
        assert beside(blank.text, "email") == "Enter your email address."
        assert beside(blank.text, "password") == "Enter your password."
        assert "There are 2 problems with the form" in blank.text
        said = {}
        # At the shopper's door: a shopper's, a merchant's and an unknown address (each a
        # password hash, so the merchant's door tries the unknown one only).
        emails = ("ann@example.com", MERCHANT_EMAIL, "nobody@example.com")
        for email in emails if door == "shopper" else emails[2:]:
            wrong = browser.submit(path, {"email": email, "password": "wrong password!"})
            assert wrong.status_code == 400
            said[email] = beside(wrong.text, "password")
            # The email field is marked too, described by the one message beside the password.
            assert re.search(
                r'name="email"[^>]*aria-invalid="true" aria-describedby="password-error"',
                wrong.text,
            )
            assert beside(wrong.text, "email") is None
        # The same words whether the address has an account (at this door or the other) or not.
        assert set(said.values()) == {"That email and password do not match."}, door


def test_reset_shows_its_problem_beside_the_field(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    refused = browser.submit("/reset", {"email": "not-an-email"})
    assert refused.status_code == 400
    assert beside(refused.text, "email") == "Enter an email address like name@example.com."


# --- the console's forms -------------------------------------------------------------------


def _merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def test_console_forms_show_each_problem_beside_its_field(web_shop: WebShop) -> None:
    browser = _merchant(web_shop)
    settings = browser.submit(
        "/merchant/settings",
        {"cart_tags": "cart", "wishlist_tags": "cart", "link_tags": "", "shop_hosts": "not a host"},
    )
    assert settings.status_code == 400
    both = "Nothing was saved: trigger tag &#39;cart&#39; is configured for both cart and wishlist."
    assert beside(settings.text, "cart_tags") == both
    assert beside(settings.text, "wishlist_tags") == both
    assert beside(settings.text, "link_tags") is None

    networks = browser.submit(
        "/merchant/networks",
        {"mastodon_url": "coffee.social", "bluesky_identifier": "not a handle"},
    )
    assert networks.status_code == 400
    assert "https:// or http:// address" in (beside(networks.text, "mastodon_url") or "")
    assert "is neither a handle" in (beside(networks.text, "bluesky_identifier") or "")
    assert beside(networks.text, "x_shop_handle") is None
    assert "Nothing was saved. There are 2 problems with the form" in networks.text

    offers = browser.submit(
        "/merchant/offers", {"tag": "summer", "kind": "percent", "value": "120", "limit": "x"}
    )
    assert offers.status_code == 400
    assert (beside(offers.text, "limit") or "").startswith("The limit must be a whole number")

    price = browser.submit(
        "/merchant/catalog/mug", {"price": "cheap", "currency": "USD", "availability": "in_stock"}
    )
    assert price.status_code == 400
    assert (beside(price.text, "price") or "").startswith("The price &#39;cheap&#39; is not")
    assert beside(price.text, "currency") is None
    stock = browser.submit("/merchant/stock/mug", {"stock": "-3"})
    assert stock.status_code == 400 and beside(stock.text, "stock") is not None

    feed = browser.submit(
        "/merchant/catalog/import", {}, files={"feed": ("feed.csv", b"\x00\x01", "text/csv")}
    )
    assert feed.status_code == 400
    assert (beside(feed.text, "feed") or "").startswith("feed.csv: ")
