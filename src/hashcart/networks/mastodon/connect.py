"""Connecting the shop's own Mastodon account from the console (issue 14): the shopper's
sign-in (app registration, PKCE) with the scopes the listener and the dispatcher use
(mastodon/oauth.SHOP_SCOPES), registered apart from shoppers' linking; the server into
`mastodon_url` and the access token (Mastodon's do not expire) into `mastodon_access_token`,
sealed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from hashcart.networks.base import ShopAccountValues, ShopConnect, SignInAsks

if TYPE_CHECKING:
    from hashcart.networks.base import NetworkHost
    from hashcart.ports import ClientRegistry, OAuthProvider, ProvenAccount


def _provider(host: NetworkHost, clients: ClientRegistry, callback_path: str) -> OAuthProvider:
    from hashcart.networks.mastodon.oauth import SHOP_SCOPES, MastodonOAuth

    return MastodonOAuth.from_settings(host.effective_settings(), clients, SHOP_SCOPES)


def _values(proven: ProvenAccount, server: str | None, now: datetime) -> ShopAccountValues:
    return ShopAccountValues(
        plain={"mastodon_url": server or ""},
        secrets={"mastodon_access_token": proven.tokens.access_token},
    )


CONNECT = ShopConnect(
    provider=_provider,
    values=_values,
    plain_keys=("mastodon_url",),
    secret_keys=("mastodon_access_token",),
    revoke_setting="mastodon_access_token",
    asks=SignInAsks("server", "The shop's Mastodon server", "mastodon.social"),
    asks_setting="mastodon_url",
)
