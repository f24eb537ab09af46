"""Linking an X account by OAuth 2.0 with PKCE, through the real web app, against a loopback
stand-in for X's authorize, token, users/me and revoke endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.harness import HOST
from tests.oauth.conftest import (
    PUBLIC_URL,
    X_CLIENT_ID,
    Peer,
    link,
    linking_settings,
    query_of,
    sign_in_at_network,
    start,
)
from tests.payloads import x_tweet
from tests.web.conftest import Browser, WebShop

ANN, BEN = "ann@example.com", "ben@example.com"
MUG = f"https://{HOST}/products/enamel-mug"


def signed_up(shop: WebShop, email: str = ANN) -> Browser:
    browser = shop.browser()
    browser.sign_up(email)
    return browser


def links_of(shop: WebShop) -> list[tuple[Any, ...]]:
    with shop.app.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(
                    t.customers.c.email,
                    t.account_links.c.network,
                    t.account_links.c.account_id,
                    t.account_links.c.handle,
                ).join(t.customers, t.customers.c.id == t.account_links.c.customer_id)
            )
        ]


def count(shop: WebShop, table: Any) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def ann_replied_cart_before_linking(shop: WebShop) -> None:
    """The shop's post with the mug, and Ann's `#cart` reply from X while not linked."""
    shop.ingest(
        [
            x_tweet("1900", "1", "trailhead", f"Mug {MUG}", links=(MUG,)),
            x_tweet("1901", "5150", "ann_on_x", "#cart", reply_to="1900", hashtags=("cart",)),
        ]
    )
    assert [row["status"] for row in shop.pending()] == ["waiting"]


# the happy path ------------------------------------------------------------------------------


@pytest.fixture
def any_db_shop(database_url: str, x_peer: Peer) -> Iterator[WebShop]:
    made = WebShop(database_url, **linking_settings(x_peer))
    yield made
    made.close()


def test_linking_x_links_the_account_and_applies_its_waiting_reply(any_db_shop: WebShop) -> None:
    shop = any_db_shop
    ann_replied_cart_before_linking(shop)
    browser = signed_up(shop)

    page = link(browser, "x")

    assert page.status_code == 200, page.text
    assert "Linked your X account @ann_on_x. 1 waiting reply was applied." in page.text
    assert links_of(shop) == [(ANN, "x", "5150", "ann_on_x")]
    assert shop.cart(ANN) == [("mug", 1)]
    assert [row["status"] for row in shop.pending()] == ["applied"]
    assert "pending_applied" in shop.reasons()


def test_the_authorize_request_carries_pkce_s256_state_scopes_and_our_callback(
    shop: WebShop, x_peer: Peer
) -> None:
    started = start(signed_up(shop), "x")

    assert started.status_code == 303
    location = started.headers["location"]
    assert location.startswith(f"{x_peer.url}/i/oauth2/authorize?")
    query = query_of(location)
    assert query["response_type"] == "code"
    assert query["client_id"] == X_CLIENT_ID
    assert query["redirect_uri"] == f"{PUBLIC_URL}/account/oauth/x/callback"
    assert query["scope"] == "tweet.read users.read offline.access"
    assert query["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", query["code_challenge"])
    assert len(query["state"]) >= 32
    # The state is kept only as its hash; the verifier only sealed.
    with shop.app.engine.connect() as connection:
        stored = connection.execute(select(t.oauth_states)).one()
    assert query["state"] not in stored.state_hash
    assert stored.network == "x" and stored.expires_at is not None


def test_the_token_request_authenticates_the_client_and_sends_the_verifier(
    shop: WebShop, x_peer: Peer
) -> None:
    link(signed_up(shop), "x")

    (form,) = x_peer.standin.seen.token_forms
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == f"{PUBLIC_URL}/account/oauth/x/callback"
    assert 43 <= len(form["code_verifier"]) <= 128
    # The stand-in refused nothing: Basic client auth, the code, and the verifier all matched.
    assert x_peer.standin.seen.refusals == []


def test_tokens_are_stored_encrypted(shop: WebShop, x_peer: Peer) -> None:
    link(signed_up(shop), "x")

    (access,) = x_peer.standin.access
    with shop.app.engine.connect() as connection:
        row = connection.execute(select(t.account_tokens)).one()
    assert access not in row.secret_data
    assert "xrt-" not in row.secret_data
    assert row.scope == "tweet.read users.read offline.access"
    assert row.expires_at is not None
    # And the seal opens with the shop's key to the very token X issued.
    from hashcart.secretbox import SecretBox

    opened = SecretBox.of(shop.app.settings).open(row.secret_data)
    assert opened["access_token"] == access


# the network refuses ------------------------------------------------------------------------


def test_a_wrong_verifier_is_refused_by_x_and_links_nothing(shop: WebShop, x_peer: Peer) -> None:
    """Two sign-ins started; the code of the first comes back with the state of the second:
    X checks the second verifier against the first challenge and refuses. So the verifier
    we send is the one whose challenge went to X, and a mismatch links nothing."""
    browser = signed_up(shop)
    first = start(browser, "x").headers["location"]
    second = start(browser, "x").headers["location"]
    code_of_first = query_of(sign_in_at_network(first))["code"]
    state_of_second = query_of(second)["state"]

    page = browser.get(f"/account/oauth/x/callback?state={state_of_second}&code={code_of_first}")

    assert page.status_code == 502
    assert "X refused the sign-in" in page.text
    assert x_peer.standin.seen.refusals == ["verifier"]
    assert links_of(shop) == []
    assert count(shop, t.account_tokens) == 0


def test_declining_at_x_links_nothing_and_says_so(shop: WebShop, x_peer: Peer) -> None:
    x_peer.standin.deny = True
    page = link(signed_up(shop), "x")

    assert page.status_code == 200
    assert "Nothing was linked: X says you did not allow it." in page.text
    assert links_of(shop) == []
    assert count(shop, t.oauth_states) == 0  # the state is used up all the same


def test_an_account_linked_to_another_shopper_is_refused_plainly(
    shop: WebShop, x_peer: Peer
) -> None:
    shop.customer(BEN, (Network.X, "5150", "ann_on_x"))

    page = link(signed_up(shop), "x")

    assert page.status_code == 409
    assert "linked to another shopper" in page.text
    assert links_of(shop) == [(BEN, "x", "5150", "ann_on_x")]
    assert count(shop, t.account_tokens) == 0
    # The tokens we got for nothing were handed back.
    assert len(x_peer.standin.seen.revoked) == 2
    assert x_peer.standin.access == {}


def test_without_a_token_key_the_page_says_so_and_sends_nobody_away(
    tmp_path: Any, x_peer: Peer
) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'nokey.db'}", **linking_settings(x_peer, token_key=None))
    try:
        response = start(signed_up(shop), "x")
    finally:
        shop.close()
    assert response.status_code == 503
    assert "not set up in this shop" in response.text
    assert "one-time code" in response.text
    assert x_peer.standin.seen.authorize_queries == []


def test_without_an_x_client_the_page_says_so(tmp_path: Any) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'nox.db'}", **linking_settings())
    try:
        response = start(signed_up(shop), "x")
    finally:
        shop.close()
    assert response.status_code == 503
    assert "no X client id" in response.text


# unlink --------------------------------------------------------------------------------------


def link_id(shop: WebShop) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.execute(select(t.account_links.c.id)).scalar_one())


def test_unlink_revokes_the_tokens_at_x_first(shop: WebShop, x_peer: Peer) -> None:
    browser = signed_up(shop)
    link(browser, "x")
    (access,) = x_peer.standin.access

    response = browser.submit(f"/account/links/{link_id(shop)}/unlink")

    assert response.status_code == 303
    assert response.headers["location"] == "/account?done=unlinked-revoked#links"
    assert access in x_peer.standin.seen.revoked
    assert any(token.startswith("xrt-") for token in x_peer.standin.seen.revoked)
    assert links_of(shop) == []
    assert count(shop, t.account_tokens) == 0
    page = browser.get("/account?done=unlinked-revoked")
    assert "withdrawn our access" in page.text


def test_a_failed_revoke_does_not_keep_the_link(tmp_path: Any, x_peer: Peer) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'gone.db'}", **linking_settings(x_peer))
    try:
        browser = signed_up(shop)
        link(browser, "x")
        x_peer.server.__exit__()  # X is unreachable now

        response = browser.submit(f"/account/links/{link_id(shop)}/unlink")

        assert response.headers["location"] == "/account?done=unlinked-not-revoked#links"
        assert links_of(shop) == []
        assert "could not ask the network" in browser.get("/account?done=unlinked-not-revoked").text
    finally:
        shop.close()


def test_unlinking_an_account_linked_by_code_asks_no_network(shop: WebShop, x_peer: Peer) -> None:
    browser = signed_up(shop, BEN)
    shop.link(BEN, Network.X, "888", "ben_by_code")
    with shop.app.engine.connect() as connection:
        ben_link = connection.execute(
            select(t.account_links.c.id).where(t.account_links.c.account_id == "888")
        ).scalar_one()

    response = browser.submit(f"/account/links/{ben_link}/unlink")

    assert response.headers["location"] == "/account?done=unlinked#links"
    assert x_peer.standin.seen.revoked == []
