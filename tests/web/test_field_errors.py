"""Issue 14: a form showed one error at a time at the top. Checkout and sign-up now show every
problem at once, each beside its own field (marked aria-invalid and described by it), and the
top of the form says how many there are."""

from __future__ import annotations

import re

from hashcart.services.checkout import address_problems, read_address
from tests.web.cart_support import checkout_form, post_form
from tests.web.conftest import WebShop
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
