"""The parts of OAuth linking that need no network: the account page's link section and its
form-action policy, Bluesky's client metadata and development client id, server-name
normalisation, and DPoP proofs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from hashcart.networks.bluesky.dpop import DPoPKey, target_uri
from hashcart.networks.bluesky.oauth import client_id_and_redirect
from hashcart.networks.mastodon.oauth import normalise_server
from hashcart.services.oauth_links import OAuthInputError, s256
from tests.oauth.conftest import linking_settings, start
from tests.web.conftest import WebShop


def test_the_account_page_offers_the_three_sign_ins_and_keeps_the_code(shop: WebShop) -> None:
    browser = shop.browser()
    browser.sign_up("ann@example.com")

    page = browser.get("/account")

    assert 'action="/account/oauth/x/start"' in page.text
    assert 'action="/account/oauth/mastodon/start"' in page.text and 'name="server"' in page.text
    assert 'action="/account/oauth/bluesky/start"' in page.text and 'name="handle"' in page.text
    for label in ("Link X", "Link Mastodon", "Link Bluesky"):
        assert label in page.text
    assert "Or post a one-time code" in page.text
    assert 'action="/account/link-code"' in page.text


def test_the_account_page_lets_its_link_forms_lead_to_the_networks(shop: WebShop) -> None:
    """Browsers apply form-action to a form's redirects: the page must allow https sites
    (a Mastodon server can be anywhere), and other pages keep `form-action 'self'`."""
    browser = shop.browser()
    browser.sign_up("ann@example.com")

    policy = browser.get("/account").headers["content-security-policy"]
    elsewhere = browser.get("/cart").headers["content-security-policy"]

    assert policy.endswith("form-action 'self' https: http:")  # http: only as tests allow it
    assert elsewhere.endswith("form-action 'self'")


def test_without_private_servers_the_page_allows_https_only(tmp_path: Path) -> None:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'strict.db'}", **linking_settings(oauth_allow_private_servers=False)
    )
    try:
        browser = shop.browser()
        browser.sign_up("ann@example.com")
        policy = browser.get("/account").headers["content-security-policy"]
    finally:
        shop.close()
    assert policy.endswith("form-action 'self' https:")


def test_a_typed_server_name_is_kept_in_the_form_and_escaped(shop: WebShop) -> None:
    browser = shop.browser()
    browser.sign_up("ann@example.com")

    page = start(browser, "mastodon", server='"><script>alert(1)</script>')

    assert page.status_code == 400
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_a_bluesky_handle_that_is_no_handle_is_refused_before_any_lookup(shop: WebShop) -> None:
    browser = shop.browser()
    browser.sign_up("ann@example.com")

    page = start(browser, "bluesky", handle="not a handle!")

    assert page.status_code == 400
    assert "That is not a Bluesky handle." in page.text


# Bluesky's client id ---------------------------------------------------------------------------


def test_the_client_metadata_document_describes_a_public_dpop_web_client(tmp_path: Path) -> None:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'prod.db'}",
        **linking_settings(public_url="https://shop.example.com"),
    )
    try:
        answer = shop.browser().get("/oauth/bluesky/client-metadata.json")
    finally:
        shop.close()

    assert answer.status_code == 200
    assert answer.json() == {
        "client_id": "https://shop.example.com/oauth/bluesky/client-metadata.json",
        "client_name": "Trailhead Coffee",
        "client_uri": "https://shop.example.com",
        # Shoppers link at the account page; the merchant connects the shop's account.
        "redirect_uris": [
            "https://shop.example.com/account/oauth/bluesky/callback",
            "https://shop.example.com/merchant/networks/bluesky/connect/callback",
        ],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "atproto transition:generic transition:chat.bsky",
        "token_endpoint_auth_method": "none",
        "application_type": "web",
        "dpop_bound_access_tokens": True,
    }


def test_a_loopback_shop_serves_no_metadata_and_uses_the_development_client_id(
    shop: WebShop,
) -> None:
    assert shop.browser().get("/oauth/bluesky/client-metadata.json").status_code == 404

    client_id, redirect = client_id_and_redirect("http://localhost:8000")

    assert redirect == "http://127.0.0.1:8000/account/oauth/bluesky/callback"
    parts = urlsplit(client_id)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "localhost", "")
    assert parse_qs(parts.query) == {"redirect_uri": [redirect], "scope": ["atproto"]}


# server names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "server"),
    [
        ("127.0.0.1", "https://127.0.0.1"),
        ("@ann@127.0.0.1", "https://127.0.0.1"),
        ("https://127.0.0.1:8443/@ann", "https://127.0.0.1:8443"),
        ("HTTPS://LOCALHOST/", "https://localhost"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
    ],
)
def test_server_names_are_normalised_to_an_origin(typed: str, server: str) -> None:
    assert normalise_server(typed, allow_private=True) == server


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "mastodon social",
        "https://user:pw@mastodon.social",
        "javascript:alert(1)",
        "x" * 301,
        "http://mastodon.social",  # plain http only where private servers are allowed
    ],
)
def test_unusable_server_names_are_refused(typed: str) -> None:
    with pytest.raises(OAuthInputError):
        normalise_server(typed, allow_private=False)


@pytest.mark.parametrize(
    "typed", ["127.0.0.1", "localhost", "10.0.0.7", "192.168.1.2", "[::1]", "169.254.169.254"]
)
def test_private_and_local_addresses_are_refused(typed: str) -> None:
    with pytest.raises(OAuthInputError, match="private or local network address"):
        normalise_server(typed, allow_private=False)


# DPoP ----------------------------------------------------------------------------------------


def test_a_dpop_proof_is_signed_by_the_key_it_carries_and_names_the_request() -> None:
    key = DPoPKey.generate()

    proof = key.proof(
        "post", "https://pds.example/oauth/token?x=1#f", nonce="n-1", access_token="at-1"
    )

    header = jwt.decode(proof, ECKey.import_key(key.public_jwk())).header
    claims = jwt.decode(proof, ECKey.import_key(header["jwk"])).claims
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert "d" not in header["jwk"]  # the public half only
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://pds.example/oauth/token"
    assert claims["nonce"] == "n-1"
    assert claims["ath"] == s256("at-1")
    assert len(claims["jti"]) >= 16


def test_each_proof_is_unique_and_the_key_survives_being_stored() -> None:
    key = DPoPKey.generate()
    again = DPoPKey.from_jwk(key.private_jwk())

    first, second = (
        key.proof("GET", "https://a.example/x"),
        again.proof("GET", "https://a.example/x"),
    )

    other = ECKey.import_key(key.public_jwk())
    assert jwt.decode(first, other).claims["jti"] != jwt.decode(second, other).claims["jti"]
    assert target_uri("https://a.example/x?q=1") == "https://a.example/x"
