"""The callback's state: it must exist, be unexpired, unused, and be the signed-in shopper's;
otherwise a clear 400 page and nothing linked (X's stand-in issues the codes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from hashcart.store import schema as t
from tests.oauth.conftest import Peer, query_of, sign_in_at_network, start
from tests.web.conftest import Browser, WebShop

ANN, BEN = "ann@example.com", "ben@example.com"


def signed_up(shop: WebShop, email: str = ANN) -> Browser:
    browser = shop.browser()
    browser.sign_up(email)
    return browser


def count(shop: WebShop, table: Any) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def came_back(browser: Browser) -> str:
    """Start at X and get the callback URL X sends the browser back to (not yet visited)."""
    return sign_in_at_network(start(browser, "x").headers["location"])


def test_an_unknown_state_is_refused(shop: WebShop, x_peer: Peer) -> None:
    browser = signed_up(shop)
    code = query_of(came_back(browser))["code"]

    page = browser.get(f"/account/oauth/x/callback?state=made-up-state&code={code}")

    assert page.status_code == 400
    assert "unknown, was already used, or was started by someone else" in page.text
    assert count(shop, t.account_links) == 0
    assert x_peer.standin.seen.token_forms == []  # the code never went to X


def test_a_missing_state_is_refused(shop: WebShop, x_peer: Peer) -> None:
    browser = signed_up(shop)
    code = query_of(came_back(browser))["code"]

    page = browser.get(f"/account/oauth/x/callback?code={code}")

    assert page.status_code == 400
    assert count(shop, t.account_links) == 0


def test_a_state_works_once(shop: WebShop, x_peer: Peer) -> None:
    browser = signed_up(shop)
    back = came_back(browser)
    assert browser.get(back).status_code == 200
    assert count(shop, t.account_links) == 1

    again = browser.get(back)

    assert again.status_code == 400
    assert "already used" in again.text
    assert len(x_peer.standin.seen.token_forms) == 1


def test_an_expired_state_is_refused(shop: WebShop, x_peer: Peer) -> None:
    browser = signed_up(shop)
    back = came_back(browser)
    shop.clock.advance(timedelta(minutes=10, seconds=1))

    page = browser.get(back)

    assert page.status_code == 400
    assert "expired" in page.text
    assert count(shop, t.account_links) == 0
    assert x_peer.standin.seen.token_forms == []


def test_a_state_just_inside_ten_minutes_still_works(shop: WebShop) -> None:
    browser = signed_up(shop)
    back = came_back(browser)
    shop.clock.advance(timedelta(minutes=9, seconds=59))

    assert browser.get(back).status_code == 200
    assert count(shop, t.account_links) == 1


def test_another_shoppers_state_is_refused_and_stays_theirs(shop: WebShop, x_peer: Peer) -> None:
    """Ben is handed the callback link of Ann's sign-in (a login CSRF): his session cannot
    use it, nothing is linked to him, and Ann can still finish."""
    ann = signed_up(shop, ANN)
    ben = signed_up(shop, BEN)
    anns_callback = came_back(ann)

    refused = ben.get(anns_callback)

    assert refused.status_code == 400
    assert count(shop, t.account_links) == 0
    assert x_peer.standin.seen.token_forms == []
    finished = ann.get(anns_callback)
    assert finished.status_code == 200
    assert "Linked your X account" in finished.text


def test_a_state_started_for_one_network_does_not_finish_another(shop: WebShop) -> None:
    browser = signed_up(shop)
    query = query_of(came_back(browser))

    page = browser.get(
        f"/account/oauth/mastodon/callback?state={query['state']}&code={query['code']}"
    )

    assert page.status_code == 400
    assert count(shop, t.account_links) == 0


def test_the_callback_needs_a_signed_in_shopper(shop: WebShop) -> None:
    back = came_back(signed_up(shop))
    stranger = shop.browser()

    page = stranger.get(back, follow_redirects=False)

    assert page.status_code == 303
    assert page.headers["location"].startswith("/sign-in?next=")
    assert count(shop, t.account_links) == 0


def test_an_unknown_network_is_not_found(shop: WebShop) -> None:
    browser = signed_up(shop)
    assert start(browser, "myspace").status_code == 404
    assert browser.get("/account/oauth/myspace/callback?state=a&code=b").status_code == 404


def test_starting_needs_the_forms_csrf_token(shop: WebShop) -> None:
    browser = signed_up(shop)
    response = browser.client.post("/account/oauth/x/start", follow_redirects=False)
    assert response.status_code == 403
    assert count(shop, t.oauth_states) == 0


def test_expired_states_are_cleared_when_new_sign_ins_start(shop: WebShop) -> None:
    browser = signed_up(shop)
    start(browser, "x")
    shop.clock.advance(timedelta(hours=1))
    start(browser, "x")
    assert count(shop, t.oauth_states) == 1
