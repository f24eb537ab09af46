"""The merchant connects the shop's own X and Mastodon accounts from the console's Networks
page (issue 14), through the real web app, against the loopback stand-ins for X's and
Mastodon's OAuth endpoints (tests/oauth/standins: the documented shapes of docs.x.com
fundamentals/authentication/oauth-2-0/user-access-token and users/me, and of
docs.joinmastodon.org methods/apps, methods/oauth, methods/accounts#verify_credentials):
the scopes the shop needs, the tokens where the dispatcher reads them, refresh, Disconnect
with revocation, and the refusals (shoppers, strangers, replayed and foreign states)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from hashcart.networks.x.shop_token import ShopToken
from hashcart.secretbox import SecretBox
from hashcart.store import accounts
from hashcart.store import schema as t
from hashcart.store.network_sessions import StoredSessions
from tests.loopback import LiveServer
from tests.oauth.conftest import (
    PUBLIC_URL,
    TOKEN_KEY,
    X_CLIENT_ID,
    X_CLIENT_SECRET,
    Peer,
    linking_settings,
    query_of,
    sign_in_at_network,
)
from tests.oauth.standins import XStandIn
from tests.web.conftest import PASSWORD, Browser, WebShop

X_CALLBACK = f"{PUBLIC_URL}/merchant/networks/x/connect/callback"
SHOP_X = {"id": "1001", "username": "trailhead", "name": "Trailhead Coffee"}
OTHER_MERCHANT = "partner@example.com"


@pytest.fixture
def shop_x() -> Iterator[Peer]:
    """X's stand-in with the app's callback for the shop's connect registered."""
    standin = XStandIn(X_CLIENT_ID, X_CLIENT_SECRET, X_CALLBACK)
    standin.signed_in = dict(SHOP_X)
    with LiveServer(standin.app) as server:
        yield Peer(standin, server)


@pytest.fixture
def console(tmp_path: Any, shop_x: Peer) -> Iterator[WebShop]:
    made = WebShop(f"sqlite:///{tmp_path / 'connect.db'}", **linking_settings(shop_x))
    yield made
    made.close()


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def connect(browser: Browser, network: str, entered: str = "") -> Any:
    """Press Connect, sign in at the network (the stand-in consents), come back."""
    started = browser.submit(f"/merchant/networks/{network}/connect", {"entered": entered})
    assert started.status_code == 303, started.text
    return browser.get(sign_in_at_network(started.headers["location"]))


def shown(page: Any) -> str:
    """The page's text as a person reads it (the template escapes quotes)."""
    return html.unescape(page.text)


def count(shop: WebShop, table: Any) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def session(shop: WebShop, name: str) -> dict[str, Any]:
    with shop.app.engine.connect() as connection:
        sealed = connection.scalar(
            select(t.network_sessions.c.secret_data).where(t.network_sessions.c.name == name)
        )
    assert sealed is not None, f"no {name} session"
    return SecretBox(TOKEN_KEY).open(sealed)


# X ------------------------------------------------------------------------------------------


def test_connecting_x_puts_the_shop_accounts_token_where_the_dispatcher_reads_it(
    console: WebShop, shop_x: Peer
) -> None:
    browser = merchant(console)
    started = browser.submit("/merchant/networks/x/connect")
    query = query_of(started.headers["location"])
    # The scopes the shop needs, the console's callback, PKCE; the state kept apart from
    # shoppers' sign-ins, as its hash.
    assert query["scope"] == "tweet.read tweet.write users.read dm.write offline.access"
    assert query["redirect_uri"] == X_CALLBACK
    assert query["code_challenge_method"] == "S256"
    with console.app.engine.connect() as connection:
        (state_hash,) = connection.execute(select(t.shop_connect_states.c.state_hash)).scalars()
    assert query["state"] not in state_hash and count(console, t.oauth_states) == 0

    page = browser.get(sign_in_at_network(started.headers["location"]))

    assert page.status_code == 200, page.text
    assert "Connected the shop's X account @trailhead." in shown(page)
    assert "Connected as <strong>@trailhead</strong>" in shown(page)
    (access,) = shop_x.standin.access
    settings = console.app.effective_settings()
    assert settings.x_access_token is not None
    assert settings.x_access_token.get_secret_value() == access
    assert (settings.x_shop_user_id, settings.x_shop_handle) == ("1001", "trailhead")
    # Sealed at rest, in the settings and in the session the sender refreshes.
    with console.app.engine.connect() as connection:
        stored = " ".join(connection.execute(select(t.shop_config.c.value)).scalars())
    assert access not in stored
    x_session = session(console, "x:shop")
    assert x_session["access_token"] == access
    assert x_session["refresh_token"].startswith("xrt-")
    # The shop's account is no shopper's: nothing was linked.
    assert count(console, t.account_links) == 0 and count(console, t.account_tokens) == 0
    # The Networks card says X can answer now.
    assert "Replies to shoppers" in shown(page)


def test_the_connected_x_token_is_refreshed_and_the_rotated_pair_kept(
    console: WebShop, shop_x: Peer
) -> None:
    connect(merchant(console), "x")
    first = session(console, "x:shop")
    settings = console.app.effective_settings()
    token = ShopToken(StoredSessions(console.app.engine, console.clock), settings, console.clock)

    fresh = token.refresh()

    assert fresh is not None and fresh != first["access_token"]
    assert fresh in shop_x.standin.access
    kept = session(console, "x:shop")
    assert kept["access_token"] == fresh == token.access_token()
    assert kept["refresh_token"] != first["refresh_token"]  # X rotated it
    assert shop_x.standin.seen.refusals == []


def test_disconnecting_x_revokes_the_tokens_and_forgets_them(
    console: WebShop, shop_x: Peer
) -> None:
    browser = merchant(console)
    connect(browser, "x")
    x_session = session(console, "x:shop")

    page = browser.submit("/merchant/networks/x/disconnect")

    assert page.status_code == 200, page.text
    assert "Disconnected the shop's X account @trailhead. X has withdrawn" in shown(page)
    assert shop_x.standin.seen.revoked == [x_session["refresh_token"], x_session["access_token"]]
    settings = console.app.effective_settings()
    assert settings.x_access_token is None and settings.x_shop_user_id is None
    assert count(console, t.shop_connections) == count(console, t.network_sessions) == 0
    assert 'form="connect-x"' in shown(page)


def test_the_networks_page_lets_its_connect_forms_lead_to_the_networks(console: WebShop) -> None:
    """Browsers apply form-action to the redirect after a form: Connect leads to X, any
    Mastodon server or a Bluesky PDS (http only as these tests allow private servers)."""
    policy = merchant(console).get("/merchant/networks").headers["content-security-policy"]

    assert policy.endswith("form-action 'self' https: http:")


def test_a_pasted_token_keeps_working_beside_connect(console: WebShop) -> None:
    browser = merchant(console)
    saved = browser.submit("/merchant/networks", {"x_access_token": "pasted-user-token"})

    assert saved.status_code == 303
    settings = console.app.effective_settings()
    assert settings.x_access_token is not None
    assert settings.x_access_token.get_secret_value() == "pasted-user-token"
    assert 'form="connect-x"' in shown(browser.get("/merchant/networks"))


# Mastodon ------------------------------------------------------------------------------------


def test_connecting_mastodon_registers_apart_with_the_shops_scopes(
    console: WebShop, mastodon_peer: Peer
) -> None:
    mastodon_peer.standin.signed_in = "trailhead"
    browser = merchant(console)

    page = connect(browser, "mastodon", mastodon_peer.url)

    assert page.status_code == 200, page.text
    host = urlsplit(mastodon_peer.url).hostname
    assert f"Connected the shop's Mastodon account @trailhead@{host}." in shown(page)
    (registration,) = mastodon_peer.standin.seen.registrations
    assert registration["scopes"] == "read write:statuses write:conversations"
    assert registration["redirect_uris"] == [
        f"{PUBLIC_URL}/merchant/networks/mastodon/connect/callback"
    ]
    (query,) = mastodon_peer.standin.seen.authorize_queries
    assert query["scope"] == "read write:statuses write:conversations"
    (access,) = mastodon_peer.standin.access
    settings = console.app.effective_settings()
    assert settings.mastodon_url == mastodon_peer.url
    assert settings.mastodon_access_token is not None
    assert settings.mastodon_access_token.get_secret_value() == access
    with console.app.engine.connect() as connection:
        registered = connection.execute(select(t.oauth_clients.c.network)).scalars().all()
        (connected,) = connection.execute(select(t.shop_connections)).all()
    assert registered == ["mastodon:shop"]
    assert connected.account_id == f"{mastodon_peer.url}/users/trailhead"
    assert count(console, t.account_links) == 0

    gone = browser.submit("/merchant/networks/mastodon/disconnect")

    assert "Mastodon has withdrawn hashcart's access." in shown(gone)
    assert mastodon_peer.standin.seen.revoked == [access]
    assert console.app.effective_settings().mastodon_access_token is None


def test_connecting_x_without_the_apps_client_id_says_what_to_set(tmp_path: Any) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'bare.db'}", **linking_settings())
    try:
        page = merchant(shop).submit("/merchant/networks/x/connect")
    finally:
        shop.close()

    assert page.status_code == 503
    assert "Connecting X needs the app's OAuth 2.0 client id and secret" in shown(page)


def test_a_mastodon_server_that_is_no_server_is_refused_beside_the_button(
    console: WebShop,
) -> None:
    page = merchant(console).submit(
        "/merchant/networks/mastodon/connect", {"entered": "not a host"}
    )

    assert page.status_code == 400
    assert "That is not a server name." in shown(page)
    assert count(console, t.shop_connect_states) == 0


# refusals ------------------------------------------------------------------------------------


def test_shoppers_and_strangers_cannot_start_or_finish_a_shop_connect(
    console: WebShop, shop_x: Peer
) -> None:
    started = merchant(console).submit("/merchant/networks/x/connect")
    back = sign_in_at_network(started.headers["location"])
    callback = back.removeprefix(PUBLIC_URL)

    shopper = console.browser()
    shopper.sign_up("ann@example.com")
    stranger = console.browser()

    assert shopper.submit("/merchant/networks/x/connect").status_code == 403
    assert shopper.get(callback).status_code == 403
    assert shopper.submit("/merchant/networks/x/disconnect").status_code == 403
    anonymous = stranger.submit("/merchant/networks/x/connect")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/merchant/sign-in")
    assert stranger.get(callback, follow_redirects=False).status_code == 303
    # None of them used the state up, connected or linked anything.
    assert count(console, t.shop_connect_states) == 1
    assert count(console, t.shop_connections) == count(console, t.account_links) == 0
    assert shop_x.standin.seen.token_forms == []


def test_a_replayed_state_is_refused(console: WebShop, shop_x: Peer) -> None:
    browser = merchant(console)
    started = browser.submit("/merchant/networks/x/connect")
    back = sign_in_at_network(started.headers["location"])
    assert browser.get(back).status_code == 200

    again = browser.get(back)

    assert again.status_code == 400
    assert "was already used" in shown(again)
    assert len(shop_x.standin.seen.token_forms) == 1


def test_another_merchants_state_is_refused(console: WebShop, shop_x: Peer) -> None:
    password_hash = accounts_hash(console)
    with console.app.engine.begin() as connection:
        accounts.add_merchant(connection, OTHER_MERCHANT, password_hash, console.clock.now())
    started = merchant(console).submit("/merchant/networks/x/connect")
    back = sign_in_at_network(started.headers["location"])
    partner = console.browser()
    assert partner.merchant_sign_in(OTHER_MERCHANT, PASSWORD).status_code == 303

    refused = partner.get(back)

    assert refused.status_code == 400
    assert "started by someone else" in shown(refused)
    assert count(console, t.shop_connections) == 0


def test_a_shoppers_sign_in_and_a_shop_connect_cannot_finish_each_other(
    console: WebShop, shop_x: Peer
) -> None:
    shopper = console.browser()
    shopper.sign_up("ann@example.com")
    linking = shopper.submit("/account/oauth/x/start")
    shopper_state = query_of(linking.headers["location"])["state"]
    owner = merchant(console)
    connecting = owner.submit("/merchant/networks/x/connect")
    shop_state = query_of(connecting.headers["location"])["state"]

    # The shopper's state at the console's callback, the shop's at the shopper's.
    at_console = owner.get(f"/merchant/networks/x/connect/callback?state={shopper_state}&code=c")
    at_account = shopper.get(f"/account/oauth/x/callback?state={shop_state}&code=c")

    assert at_console.status_code == 400 and at_account.status_code == 400
    assert count(console, t.account_links) == count(console, t.shop_connections) == 0
    assert shop_x.standin.seen.token_forms == []


def test_an_unknown_network_has_no_connect(console: WebShop) -> None:
    answer = merchant(console).submit("/merchant/networks/myspace/connect")

    assert answer.status_code == 404
    assert "The shop connects its X, Mastodon and Bluesky accounts here." in shown(answer)


def accounts_hash(shop: WebShop) -> str:
    """The test merchant's password hash, for a second merchant with the same password."""
    with shop.app.engine.connect() as connection:
        return str(connection.scalar(select(t.merchants.c.password_hash)))
