"""The console's API tokens page (issue 14): the list (name, made, last used), a token made
and shown once with a copy button, and revoked; every POST carries the CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from hashcart.store import schema as t
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import HOSTILE_SCRIPT, parse


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def made_token(html: str) -> str:
    found = re.search(r'<code id="new-token">(hc_[A-Za-z0-9_-]+)</code>', html)
    assert found, "no new token on the page"
    return found.group(1)


def stored_names(shop: WebShop) -> list[str]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.api_tokens.c.name)).scalars())


def test_only_a_signed_in_merchant_reaches_the_page(web_shop: WebShop) -> None:
    anybody = web_shop.browser()
    response = anybody.get("/merchant/tokens", follow_redirects=False)
    assert response.status_code == 303 and "/merchant/sign-in" in response.headers["location"]
    posted = anybody.submit("/merchant/tokens", {"name": "sneaky"})
    assert posted.status_code == 303 and "/merchant/sign-in" in posted.headers["location"]
    assert stored_names(web_shop) == []


def test_a_post_without_the_csrf_token_makes_and_revokes_nothing(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    refused = browser.client.post(
        "/merchant/tokens", data={"name": "no csrf"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert stored_names(web_shop) == []
    token = made_token(browser.submit("/merchant/tokens", {"name": "reporting"}).text)
    browser.client.post("/merchant/tokens/1/revoke", follow_redirects=False)
    api = web_shop.browser().get("/api/posts", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200


def test_a_token_made_in_the_console_is_shown_once_and_opens_the_api(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    made = browser.submit("/merchant/tokens", {"name": "  nightly   reporting "})
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    token = made_token(made.text)
    assert f'data-copy="{token}"' in made.text  # the copy button carries it
    assert "/static/account.js" in made.text  # which shows the button where the clipboard works
    assert stored_names(web_shop) == ["nightly reporting"]

    web_shop.clock.advance(timedelta(minutes=5))
    api = web_shop.browser().get("/api/posts", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200

    listed = browser.get("/merchant/tokens")
    assert token not in listed.text  # never again
    rows = [row for row in parse(listed.text).rows if row and row[0] == "nightly reporting"]
    assert len(rows) == 1
    _name, created, last_used, state = rows[0]
    assert created.endswith("UTC") and last_used.endswith("UTC") and created != last_used
    assert state.startswith("Active")


def test_names_blank_too_long_and_hostile(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    refused = browser.submit("/merchant/tokens", {"name": "x" * 101})
    assert refused.status_code == 400
    assert 'id="name-error">A token name has at most 100 characters.</span>' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert stored_names(web_shop) == []

    made_token(browser.submit("/merchant/tokens", {"name": "   "}).text)
    now = web_shop.clock.now()
    assert stored_names(web_shop) == [f"made {now:%Y-%m-%d %H:%M:%S} UTC"]

    made = browser.submit("/merchant/tokens", {"name": HOSTILE_SCRIPT})
    assert HOSTILE_SCRIPT not in made.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in made.text
    assert parse(made.text).tags.count("script") == 1  # the copy button's own, nothing more


def test_revoking_a_token_shuts_the_api_and_the_list_says_so(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    token = made_token(browser.submit("/merchant/tokens", {"name": "old script"}).text)
    with web_shop.app.engine.connect() as connection:
        token_id = connection.execute(select(t.api_tokens.c.id)).scalar_one()
    revoked = browser.submit(f"/merchant/tokens/{token_id}/revoke")
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/merchant/tokens?done=revoked"
    api = web_shop.browser().get("/api/posts", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    page = browser.get(revoked.headers["location"]).text
    assert "Token revoked" in page
    (row,) = [row for row in parse(page).rows if row and row[0] == "old script"]
    assert row[3].startswith("Revoked ")
    assert f"/merchant/tokens/{token_id}/revoke" not in page
    for path in ("/merchant/tokens/99/revoke", "/merchant/tokens/x1/revoke"):
        response = browser.submit(path)
        assert response.status_code == 404
        assert "There is no such API token." in response.text
