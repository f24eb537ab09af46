"""The saved shipping address (issue 12): set on the account page with the checkout's fields
and checks (each problem beside its field, the rest kept), pre-filling the checkout, saved
by a checkout that is asked to remember it, in the account's export and gone with the
account. On SQLite and PostgreSQL where it is written."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from hashcart.store import schema as t
from tests.web.cart_support import (
    ADDRESS,
    bluesky_reply_cart,
    checkout_form,
    link_everywhere,
    post_form,
    signed_in,
    text_of,
)
from tests.web.conftest import PASSWORD, WebShop

SAM = "sam@example.com"
HOME = {
    "name": "Sam Shopper",
    "line1": "9 Lantern Row",
    "line2": "Flat 4",
    "city": "Salem",
    "postcode": "97301",
    "country": "us",
}


def _saved(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.saved_addresses)).all())


def test_the_account_page_saves_the_address(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    browser = signed_in(shop)
    page = browser.get("/account")
    assert 'id="address"' in page.text and "No address is saved." in text_of(page)

    answer = browser.submit("/account/address", HOME)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account?done=address#address"
    [row] = _saved(shop)
    assert (row.ship_line1, row.ship_line2, row.ship_city, row.ship_country) == (
        "9 Lantern Row",
        "Flat 4",
        "Salem",
        "US",
    )
    words = text_of(browser.get(answer.headers["location"]))
    assert "Your address is saved." in words and "9 Lantern Row, Flat 4, 97301 Salem, US" in words
    # Saved again: replaced, still one.
    assert (
        browser.submit("/account/address", {**HOME, "line1": "10 Lantern Row"}).status_code == 303
    )
    [row] = _saved(shop)
    assert row.ship_line1 == "10 Lantern Row"


def test_a_wrong_address_is_refused_beside_each_field_and_kept(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    hostile = "<script>alert(1)</script>"
    answer = browser.submit(
        "/account/address", {**HOME, "line1": "", "country": "Narnia", "name": hostile}
    )
    assert answer.status_code == 400
    page = answer.text
    assert 'id="line1-error"' in page and "Enter the street address." in page
    assert 'id="country-error"' in page and "two-letter code" in page
    assert "There are 2 problems with the form" in page
    assert 'value="Salem"' in page  # what was typed comes back
    assert hostile not in page and "&lt;script&gt;" in page
    assert _saved(web_shop) == []


def test_checkout_starts_from_the_saved_address_over_the_last_order(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    bluesky_reply_cart(web_shop)
    placed = post_form(browser, "/checkout", checkout_form(browser))  # ships to ADDRESS
    assert placed.status_code == 303, text_of(placed)
    bluesky_reply_cart(web_shop, reply_rkey="3mmreply00002")
    assert f'value="{ADDRESS["line1"]}"' in browser.get("/checkout").text
    browser.submit("/account/address", HOME)
    page = browser.get("/checkout").text
    assert 'value="9 Lantern Row"' in page and 'value="Flat 4"' in page
    assert 'name="remember_address"' in page


def test_checkout_remembers_the_address_only_when_asked(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)
    placed = post_form(browser, "/checkout", checkout_form(browser))
    assert placed.status_code == 303, text_of(placed)
    assert _saved(shop) == []  # not asked: the order has it, the account does not
    bluesky_reply_cart(shop, reply_rkey="3mmreply00002")
    form = checkout_form(browser, **HOME, remember_address="yes")
    placed = post_form(browser, "/checkout", form)
    assert placed.status_code == 303, text_of(placed)
    [row] = _saved(shop)
    assert (row.ship_line1, row.ship_city) == ("9 Lantern Row", "Salem")


def test_the_saved_address_is_in_the_export_and_goes_with_the_account(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    browser.submit("/account/address", HOME)
    exported = json.loads(browser.get("/account/export").text)
    assert exported["saved_address"]["line1"] == "9 Lantern Row"
    assert exported["saved_address"]["country"] == "US"
    assert browser.submit("/account/delete", {"password": PASSWORD}).status_code == 200
    with web_shop.app.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(t.saved_addresses)) == 0
