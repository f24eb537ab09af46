"""Linking a Bluesky account by AT Protocol OAuth against a real network on loopback: a PLC
directory and a PDS from @atproto/dev-env (tests/peers/bluesky), the shop served by uvicorn,
and headless Chromium doing what a shopper does: press "Link Bluesky", sign in on the PDS's
own page, authorize, and come back linked. Everything after the button is real: handle
resolution, DID document, protected-resource and authorization-server metadata, PAR with
PKCE and DPoP (nonce retries), the PDS's sign-in and consent pages, the token request, the
`sub` check, and revocation at unlink."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hashcart.networks.bluesky.dpop import DPoPKey
from hashcart.secretbox import SecretBox
from hashcart.store import schema as t
from tests.harness import HOST
from tests.networks.bluesky.peer import Account, BlueskyPeer
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.web.conftest import PASSWORD, WebShop
from tests.web.sign_up_support import follow_sign_up_link

ANN = "ann@example.com"
MUG = f"https://{HOST}/products/enamel-mug"
STEP_TIMEOUT_MS = 20_000


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    yield page
    context.close()


def sign_up_and_link(page: Any, url: str, shop: WebShop, account: Account) -> None:
    """A shopper signs up, presses Link Bluesky, signs in at their PDS and authorizes."""
    page.goto(f"{url}/sign-up")
    page.fill("input[name=email]", ANN)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/sign-up'] button[type=submit]")
    follow_sign_up_link(page, url, shop.app.engine, ANN)
    page.goto(f"{url}/account")
    page.fill("form[action='/account/oauth/bluesky/start'] input[name=handle]", account.handle)
    page.click("form[action='/account/oauth/bluesky/start'] button[type=submit]")
    # The PDS's own sign-in page (its React app), then its consent page.
    page.get_by_placeholder("Enter your password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/account/oauth/bluesky/callback*")


def stored_secrets(shop: WebShop) -> dict[str, Any]:
    with shop.app.engine.connect() as connection:
        row = connection.execute(select(t.account_tokens)).one()
    return SecretBox.of(shop.app.settings).open(row.secret_data)


def session_status(secrets: dict[str, Any]) -> int:
    """Ask the PDS who the access token belongs to (DPoP-bound, as the PDS requires)."""
    url = f"{secrets['pds']}/xrpc/com.atproto.server.getSession"
    key = DPoPKey.from_jwk(secrets["dpop_key"])
    nonce = secrets.get("dpop_nonce")
    status = 0
    for _attempt in range(2):
        proof = key.proof("GET", url, nonce=nonce, access_token=secrets["access_token"])
        answer = httpx.get(
            url,
            headers={"Authorization": f"DPoP {secrets['access_token']}", "DPoP": proof},
            timeout=10,
        )
        status = answer.status_code
        nonce = answer.headers.get("DPoP-Nonce") or nonce
        if status != 401 or "use_dpop_nonce" not in answer.text:
            break
    return status


def test_a_shopper_links_bluesky_by_oauth_and_their_waiting_reply_is_applied(
    served: tuple[WebShop, str], bluesky_peer: BlueskyPeer, page: Any
) -> None:
    shop, url = served
    ann = bluesky_peer.account("ann")
    shop.ingest(
        [
            jetstream_post(SHOP_DID, "3mmbrand00001", f"New in: {MUG}", links=(MUG,)),
            jetstream_post(
                ann.did, "3mmann000001", "#cart", reply_to=post_uri(SHOP_DID, "3mmbrand00001")
            ),
        ]
    )
    assert [row["status"] for row in shop.pending()] == ["waiting"]

    sign_up_and_link(page, url, shop, ann)

    text = page.inner_text("body")
    assert f"Linked your Bluesky account @{ann.handle}. 1 waiting reply was applied." in text
    with shop.app.engine.connect() as connection:
        (linked,) = connection.execute(select(t.account_links)).all()
        (tokens,) = connection.execute(select(t.account_tokens)).all()
    assert (linked.network, linked.account_id, linked.handle) == ("bluesky", ann.did, ann.handle)
    assert shop.cart(ANN) == [("mug", 1)]
    secrets = stored_secrets(shop)
    assert secrets["access_token"] not in tokens.secret_data
    assert tokens.scope is not None and "atproto" in tokens.scope.split()
    assert tokens.server == secrets["pds"]  # the PDS is its own authorization server here
    # The tokens are the PDS's real, DPoP-bound tokens for Ann.
    assert session_status(secrets) == 200


def test_unlinking_revokes_the_session_at_the_pds(
    served: tuple[WebShop, str], bluesky_peer: BlueskyPeer, page: Any
) -> None:
    shop, url = served
    ann = bluesky_peer.account("ann")
    sign_up_and_link(page, url, shop, ann)
    secrets = stored_secrets(shop)
    assert session_status(secrets) == 200

    page.goto(f"{url}/account")
    page.click("#links form button[type=submit]")

    assert "the network has withdrawn our access" in page.inner_text("body")
    with shop.app.engine.connect() as connection:
        assert connection.execute(select(t.account_links)).all() == []
    assert session_status(secrets) == 401


def test_an_unknown_handle_is_refused_on_the_account_page(
    served: tuple[WebShop, str], page: Any
) -> None:
    shop, url = served
    page.goto(f"{url}/sign-up")
    page.fill("input[name=email]", ANN)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/sign-up'] button[type=submit]")
    follow_sign_up_link(page, url, shop.app.engine, ANN)
    page.goto(f"{url}/account")
    page.fill("form[action='/account/oauth/bluesky/start'] input[name=handle]", "nobody9.test")
    page.click("form[action='/account/oauth/bluesky/start'] button[type=submit]")

    assert page.url.startswith(url)
    assert "No Bluesky account answers to 'nobody9.test'." in page.inner_text("body")
