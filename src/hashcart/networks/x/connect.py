"""Connecting the shop's own X account from the console (issue 14): X's OAuth 2.0 sign-in
with the scopes the shop needs (x/oauth.SHOP_SCOPES), its access token into the
`x_access_token` setting (sealed) and its id and username into `x_shop_user_id` and
`x_shop_handle`, and the token pair into the `x:shop` session the sender refreshes
(x/shop_token: X rotates the refresh token, so the newest pair lives there)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hashcart.networks.base import ShopAccountValues, ShopConnect
from hashcart.ports import OAuthUnavailable

if TYPE_CHECKING:
    from hashcart.networks.base import NetworkHost
    from hashcart.ports import ClientRegistry, OAuthProvider, ProvenAccount

SESSION = "x:shop"  # read by x/shop_token


def _provider(host: NetworkHost, clients: ClientRegistry, callback_path: str) -> OAuthProvider:
    from hashcart.networks.x.oauth import SHOP_SCOPES, XOAuth

    settings = host.effective_settings()
    if not settings.x_client_id:
        raise OAuthUnavailable(
            "Connecting X needs the app's OAuth 2.0 client id and secret: set them below "
            "(and the callback {public_url}/merchant/networks/x/connect/callback at X)."
        )
    return XOAuth.from_settings(settings, SHOP_SCOPES)


def _values(proven: ProvenAccount, server: str | None, now: datetime) -> ShopAccountValues:
    tokens = proven.tokens
    session = {"access_token": tokens.access_token}
    if tokens.refresh_token:
        session["refresh_token"] = tokens.refresh_token
    session["expires_at"] = (now + timedelta(seconds=tokens.expires_in or 7200)).isoformat()
    return ShopAccountValues(
        plain={"x_shop_user_id": proven.account_id, "x_shop_handle": proven.handle or ""},
        secrets={"x_access_token": tokens.access_token},
        sessions={SESSION: session},
    )


CONNECT = ShopConnect(
    provider=_provider,
    values=_values,
    plain_keys=("x_shop_user_id", "x_shop_handle"),
    secret_keys=("x_access_token",),
    session_names=(SESSION,),
    revoke_session=SESSION,
)
