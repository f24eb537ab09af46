"""The Networks page names the secret X's webhook needs: the consumer secret, which keys the
CRC and the `x-twitter-webhooks-signature` header (docs.x.com/x-api/webhooks/quickstart).
The OAuth 2.0 client secret alone cannot answer X's webhook, so it does not count."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import WebShop
from tests.web.console_support import parse


def test_a_client_secret_alone_does_not_set_up_the_x_webhook(tmp_path: Any) -> None:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'x.db'}",
        x_client_secret="oauth2-client-secret",
        x_access_token="shop-user-token",
    )
    try:
        browser = shop.browser()
        assert browser.merchant_sign_in().status_code == 303
        text = " ".join(parse(browser.get("/merchant/networks").text).text.split())
    finally:
        shop.close()
    assert "X partly set up" in text
    assert (
        "To listen, one of: Webhook deliveries (Account Activity or X Activity API): "
        "API key secret (consumer secret);"
    ) in text
    assert "webhooks' OAuth 2 signature" not in text
