"""Issue 14: after sign-up the shopper lands on a prompt to link a social account (the one
thing that makes #cart work), with the way on to where they were going one click away."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, WebShop
from tests.web.sign_up_support import sign_up_link


def test_sign_up_lands_on_the_prompt_to_link_a_social_account(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.get("/sign-up?next=/s/demo")
    response = browser.submit(
        "/sign-up",
        {"email": "ann@example.com", "name": "Ann", "password": PASSWORD, "next": "/s/demo"},
    )
    assert response.status_code == 200  # "Check your email": the emailed link makes it
    response = browser.submit(sign_up_link(web_shop.app.engine, "ann@example.com"))
    assert response.status_code == 303
    assert response.headers["location"] == "/account/welcome?next=%2Fs%2Fdemo"

    page = browser.get(response.headers["location"])
    assert page.status_code == 200
    assert "Welcome, Ann! One more step" in page.text
    assert "Link the social account you reply from" in page.text
    assert 'action="/account/link-code"' in page.text  # the code way
    assert 'href="/s/demo">Skip for now' in page.text
    # The OAuth forms leave for the network's sign-in page: the page's CSP lets them.
    assert "form-action 'self' https:" in page.headers["content-security-policy"]


def test_the_welcome_page_never_sends_the_shopper_off_site(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")
    for hostile in ("https://evil.example/", "//evil.example", "javascript:alert(1)"):
        page = browser.get("/account/welcome", params={"next": hostile})
        assert page.status_code == 200
        assert 'href="/cart">Skip for now' in page.text, hostile


def test_the_welcome_page_is_for_signed_in_shoppers(web_shop: WebShop) -> None:
    response = web_shop.browser().get("/account/welcome", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


def test_the_account_page_still_offers_linking(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")
    page = browser.get("/account").text
    assert 'id="link"' in page and 'action="/account/link-code"' in page
