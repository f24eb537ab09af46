"""Linking a Mastodon account: the shopper names their server, hashcart registers there once,
then authorization code with PKCE; against a loopback stand-in of a Mastodon server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from hashcart.store import schema as t
from tests.harness import HOST
from tests.oauth.conftest import PUBLIC_URL, Peer, link, linking_settings, query_of, start
from tests.oauth.standins import mastodon_document
from tests.payloads import mastodon_status
from tests.web.conftest import Browser, WebShop

ANN, BEN = "ann@example.com", "ben@example.com"
MUG = f"https://{HOST}/products/enamel-mug"


def signed_up(shop: WebShop, email: str = ANN) -> Browser:
    browser = shop.browser()
    browser.sign_up(email)
    return browser


def table(shop: WebShop, name: Any) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(name)))


def test_linking_mastodon_links_the_account_uri_and_applies_its_waiting_reply(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    account_uri = f"{mastodon_peer.url}/users/ann"
    shop.ingest(
        [
            mastodon_status(
                "2000",
                "https://shop.social/users/trailhead",
                "trailhead",
                f'<p>Mug <a href="{MUG}">{MUG}</a></p>',
            ),
            mastodon_status(
                "2001",
                account_uri,
                "ann",
                "<p>#cart</p>",
                reply_to="2000",
                tags=("cart",),
                minutes=1,
            ),
        ]
    )
    assert [row["status"] for row in shop.pending()] == ["waiting"]

    page = link(signed_up(shop), "mastodon", server=mastodon_peer.url)

    assert page.status_code == 200, page.text
    host = mastodon_peer.url.split("//")[1].split(":")[0]
    assert f"Linked your Mastodon account @ann@{host}. 1 waiting reply was applied." in page.text
    (linked,) = table(shop, t.account_links)
    assert (linked.network, linked.account_id) == ("mastodon", account_uri)
    assert shop.cart(ANN) == [("mug", 1)]
    assert mastodon_peer.standin.seen.refusals == []


def test_hashcart_registers_once_per_server_and_reuses_the_registration(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    link(signed_up(shop, ANN), "mastodon", server=mastodon_peer.url)
    mastodon_peer.standin.signed_in = "ben"
    link(signed_up(shop, BEN), "mastodon", server=mastodon_peer.url)

    (registration,) = mastodon_peer.standin.seen.registrations
    assert registration == {
        "client_name": "Trailhead Coffee",
        "redirect_uris": [f"{PUBLIC_URL}/account/oauth/mastodon/callback"],
        "scopes": "read:accounts",
        "website": PUBLIC_URL,
    }
    (client,) = table(shop, t.oauth_clients)
    assert (client.network, client.server) == ("mastodon", mastodon_peer.url)
    (app,) = mastodon_peer.standin.apps.values()
    assert client.client_id == app["client_id"]
    assert app["client_secret"] not in (client.client_secret or "")  # sealed
    assert len(table(shop, t.account_links)) == 2


def test_the_authorize_request_uses_pkce_s256_and_the_registered_client(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    started = start(signed_up(shop), "mastodon", server=mastodon_peer.url)

    location = started.headers["location"]
    assert location.startswith(f"{mastodon_peer.url}/oauth/authorize?")
    query = query_of(location)
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == "read:accounts"
    assert query["client_id"] in mastodon_peer.standin.apps
    (state,) = table(shop, t.oauth_states)
    assert state.server == mastodon_peer.url


def test_tokens_are_stored_encrypted_and_unlink_revokes_them(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    browser = signed_up(shop)
    link(browser, "mastodon", server=mastodon_peer.url)
    (access,) = mastodon_peer.standin.access
    (stored,) = table(shop, t.account_tokens)
    assert access not in stored.secret_data
    assert stored.server == mastodon_peer.url
    (linked,) = table(shop, t.account_links)

    response = browser.submit(f"/account/links/{linked.id}/unlink")

    assert response.headers["location"] == "/account?done=unlinked-revoked#links"
    assert mastodon_peer.standin.seen.revoked == [access]
    assert table(shop, t.account_links) == []
    assert table(shop, t.account_tokens) == []


def test_the_recorded_verify_credentials_answer_is_understood(
    shop: WebShop, mastodon_peer: Peer, shared_fixtures: Path
) -> None:
    """The real answer of a Mastodon 4.5 server (Mastodon.py's recorded test suite), moved
    to the stand-in's address: its `uri` becomes the link, its `acct` the handle."""
    recorded = yaml.safe_load((shared_fixtures / "mastodon" / "test_status_reply.yaml").read_text())
    (answer,) = [
        json.loads(item["response"]["body"]["string"])
        for item in recorded["interactions"]
        if item["request"]["uri"].endswith("/api/v1/accounts/verify_credentials")
    ][:1]
    moved = json.loads(json.dumps(answer).replace("http://localhost:3000", mastodon_peer.url))
    mastodon_peer.standin.account_override = moved

    page = link(signed_up(shop), "mastodon", server=mastodon_peer.url)

    assert page.status_code == 200, page.text
    (linked,) = table(shop, t.account_links)
    assert linked.account_id == moved["uri"]
    assert moved["uri"].startswith(f"{mastodon_peer.url}/ap/users/")
    assert linked.handle.startswith(f"{answer['acct']}@")


def test_a_server_that_vouches_for_another_servers_account_is_refused(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    mastodon_peer.standin.account_override = {
        "id": "1",
        "username": "victim",
        "acct": "victim",
        "uri": "https://mastodon.social/users/victim",
    }

    page = link(signed_up(shop), "mastodon", server=mastodon_peer.url)

    assert page.status_code == 502
    assert "lives on another server" in page.text
    assert table(shop, t.account_links) == []


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("", "Name your Mastodon server"),
        ("not a server", "That is not a server name."),
        ("ftp://mastodon.social", "https only"),
    ],
)
def test_unusable_server_names_re_render_the_page_with_a_message(
    shop: WebShop, server: str, message: str
) -> None:
    response = start(signed_up(shop), "mastodon", server=server)

    assert response.status_code == 400
    assert message in response.text
    assert table(shop, t.oauth_states) == []


def test_a_private_address_is_refused_without_the_setting(
    tmp_path: Path, mastodon_peer: Peer
) -> None:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'strict.db'}",
        **linking_settings(oauth_allow_private_servers=False),
    )
    try:
        browser = signed_up(shop)
        over_http = start(browser, "mastodon", server=mastodon_peer.url)
        loopback = start(browser, "mastodon", server="127.0.0.1")
        localhost = start(browser, "mastodon", server="localhost")
        link_local = start(browser, "mastodon", server="169.254.169.254")
        states = table(shop, t.oauth_states)
    finally:
        shop.close()

    assert over_http.status_code == 400 and "https only" in over_http.text
    for refused in (loopback, localhost, link_local):
        assert refused.status_code == 400
        assert "private or local network address" in refused.text
    assert mastodon_peer.standin.seen.registrations == []
    assert states == []


# --- servers before Mastodon 4.3 (issue 11) -------------------------------------------------


def test_a_server_before_4_3_is_refused_with_its_version_named(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    """methods/oauth.md: before 4.3 the authorization server metadata answers 404 (no PKCE,
    spec/oauth.md; no list of redirect_uris, methods/apps.md). The version comes from the
    instance document: here the documented v1 answer of a 3.5.3 server, verbatim
    (methods/instance.md), which has no v2 yet."""
    standin = mastodon_peer.standin
    standin.metadata = None
    standin.instance = {"/api/v1/instance": mastodon_document("instance_v1_3.5.3")}

    page = start(signed_up(shop), "mastodon", server=mastodon_peer.url)

    assert page.status_code == 502
    assert "That Mastodon server runs 3.5.3" in page.text
    assert "Mastodon 4.3 or later" in page.text
    assert standin.seen.registrations == []  # nothing registered on a server we cannot use
    assert table(shop, t.oauth_states) == []


def test_a_4_2_server_is_named_from_its_v2_instance_document(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    # Hand-edited: the documented v2 instance answer (methods/instance.md) with a 4.2 version.
    standin = mastodon_peer.standin
    standin.metadata = None
    standin.instance["/api/v2/instance"]["version"] = "4.2.10+glitch"

    page = start(signed_up(shop), "mastodon", server=mastodon_peer.url)

    assert page.status_code == 502
    assert "runs 4.2.10+glitch; hashcart signs in with Mastodon 4.3 or later" in page.text


def test_a_server_without_pkce_that_hides_its_version_says_so(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    # Hand-built: metadata without S256 (RFC 8414 lets a server list none), and a version
    # that is no version (hostile text is not repeated to the shopper).
    standin = mastodon_peer.standin
    standin.metadata = {**mastodon_document("authorization_server_metadata")}
    del standin.metadata["code_challenge_methods_supported"]
    standin.instance["/api/v2/instance"]["version"] = "<script>alert(1)</script>\x00"

    page = start(signed_up(shop), "mastodon", server=mastodon_peer.url)

    assert page.status_code == 502
    assert "did not say which version it runs" in page.text
    assert "alert(1)" not in page.text


def test_a_4_3_server_states_pkce_in_its_documented_metadata(
    shop: WebShop, mastodon_peer: Peer
) -> None:
    started = start(signed_up(shop), "mastodon", server=mastodon_peer.url)

    assert started.status_code == 303
    assert query_of(started.headers["location"])["code_challenge_method"] == "S256"
