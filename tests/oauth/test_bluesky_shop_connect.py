"""The merchant connects the shop's Bluesky account by AT Protocol OAuth against a real PDS on
loopback (tests/peers/bluesky: a PLC directory and a PDS from @atproto/dev-env), in headless
Chromium: "Connect Bluesky" on the Networks page, the PDS's own sign-in and consent pages,
back to the console connected. Then the dispatcher, built from the settings as `hashcart
dispatch` builds it, answers a shopper's `#cart` on the PDS from the shop's account with the
connected DPoP-bound session (no app password anywhere), the session is renewed before it
expires, and Disconnect revokes it at the PDS.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from hashcart.domain.posts import Network
from hashcart.networks.bluesky.oauth import SHOP_CALLBACK_PATH, SHOP_SCOPE, BlueskyOAuth
from hashcart.networks.bluesky.oauth_session import OAuthShopSession
from hashcart.outbox.dispatcher import dispatch_once
from hashcart.secretbox import SecretBox
from hashcart.store import schema as t
from tests.harness import HOST
from tests.networks.bluesky.peer import BlueskyPeer, reply_texts_to
from tests.oauth.test_bluesky_live import session_status
from tests.payloads import jetstream_post
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop

MUG = f"https://{HOST}/products/enamel-mug"
STEP_TIMEOUT_MS = 20_000


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    yield page
    context.close()


def connected_session(shop: WebShop) -> dict[str, Any]:
    with shop.app.engine.connect() as connection:
        sealed = connection.scalar(
            t.network_sessions.select()
            .with_only_columns(t.network_sessions.c.secret_data)
            .where(t.network_sessions.c.name == "bluesky:oauth")
        )
    assert sealed is not None, "no connected Bluesky session"
    return SecretBox.of(shop.app.settings).open(sealed)


def test_the_merchant_connects_the_shops_bluesky_account_and_the_dispatcher_replies_with_it(
    served: tuple[WebShop, str], bluesky_peer: BlueskyPeer, page: Any
) -> None:
    shop, url = served
    brand = bluesky_peer.account("northwind")
    ada = bluesky_peer.account("ada")
    assert shop.app.effective_settings().bluesky_app_password is None

    page.goto(f"{url}/merchant/sign-in")
    page.fill("input[name=email]", MERCHANT_EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/merchant/sign-in'] button[type=submit]")
    page.goto(f"{url}/merchant/networks")
    page.fill("#connect-bluesky-entered", brand.handle)
    page.click("button[form=connect-bluesky]")
    # The PDS's own sign-in page (its React app), then its consent page.
    page.get_by_placeholder("Enter your password").fill(brand.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/merchant/networks/bluesky/connect/callback*")

    text = page.inner_text("#shop-account-bluesky")
    assert f"Connected as @{brand.handle}" in text
    assert "transition:generic" in text and "transition:chat.bsky" in text
    stored = connected_session(shop)
    assert stored["did"] == brand.did
    # The account and its PDS (as its DID document names it) are the settings in force.
    settings = shop.app.effective_settings()
    assert (settings.bluesky_identifier, settings.bluesky_pds_url) == (brand.handle, stored["pds"])
    assert session_status(stored) == 200  # the PDS's real, DPoP-bound tokens for the shop

    # Ada replies #cart to the shop's post on the PDS; hashcart hears it and answers.
    product = bluesky_peer.post(brand, f"Our mug {MUG}", links=(MUG,))
    trigger = bluesky_peer.post(ada, "#cart", tags=("cart",), reply_to=product)
    shop.customer("ada@example.com", (Network.BLUESKY, ada.did, ada.handle))
    shop.ingest(
        [
            jetstream_post(brand.did, product.rkey, f"Our mug {MUG}", links=(MUG,)),
            jetstream_post(ada.did, trigger.rkey, "#cart", reply_to=product.uri),
        ]
    )
    assert shop.cart("ada@example.com") == [("mug", 1)]

    run = dispatch_once(shop.app)

    assert (run.sent, run.failed) == (1, 0)
    [reply] = reply_texts_to(bluesky_peer, brand, trigger.uri)
    assert "Enamel Mug" in reply

    # When the access token is about to expire, the sender's session renews it at the
    # server (which rotates the refresh token) and keeps the new pair sealed.
    shop.clock.advance(timedelta(days=1))
    renewing = OAuthShopSession(
        shop.app.sealed_sessions(),
        SecretBox.of(settings),
        shop.clock,
        BlueskyOAuth.from_settings(settings, SHOP_CALLBACK_PATH, SHOP_SCOPE),
    )
    renewed = renewing.current()
    kept = connected_session(shop)
    assert renewed.access_jwt == kept["access_token"] != stored["access_token"]
    assert kept["refresh_token"] != stored["refresh_token"]
    assert session_status(kept) == 200

    page.click("button[form=disconnect-bluesky]")

    assert "Bluesky has withdrawn hashcart's access." in page.inner_text("body")
    assert page.is_visible("button[form=connect-bluesky]")
    assert session_status(kept) == 401
    assert shop.app.effective_settings().bluesky_identifier is None
