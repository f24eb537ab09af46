"""Connecting the shop's own Bluesky account from the console (issue 14): AT Protocol OAuth
(PAR, PKCE, DPoP) with the transitional scopes that stand for an app password's rights
(bluesky/oauth.SHOP_SCOPE); the handle and PDS into `bluesky_identifier` and
`bluesky_pds_url`, and the DPoP-bound session (tokens, key, issuer) into the `bluesky:oauth`
session, which the sender prefers to an app password (bluesky/oauth_session)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hashcart.networks.base import ShopAccountValues, ShopConnect, SignInAsks

if TYPE_CHECKING:
    from hashcart.networks.base import NetworkHost
    from hashcart.ports import ClientRegistry, OAuthProvider, ProvenAccount

SESSION = "bluesky:oauth"  # read by bluesky/oauth_session


def _provider(host: NetworkHost, clients: ClientRegistry, callback_path: str) -> OAuthProvider:
    from hashcart.networks.bluesky.oauth import SHOP_SCOPE, BlueskyOAuth

    return BlueskyOAuth.from_settings(host.effective_settings(), callback_path, SHOP_SCOPE)


def _values(proven: ProvenAccount, server: str | None, now: datetime) -> ShopAccountValues:
    tokens = proven.tokens
    extra = tokens.extra
    session: dict[str, Any] = {
        "did": proven.account_id,
        "handle": proven.handle,
        "pds": extra.get("pds"),
        "issuer": server,
        "client_id": extra.get("client_id"),
        "dpop_key": extra.get("dpop_key"),
        "dpop_nonce": extra.get("dpop_nonce"),
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
    }
    if tokens.expires_in is not None:
        session["expires_at"] = (now + timedelta(seconds=tokens.expires_in)).isoformat()
    return ShopAccountValues(
        plain={
            "bluesky_identifier": proven.handle or proven.account_id,
            "bluesky_pds_url": str(extra.get("pds") or ""),
        },
        sessions={SESSION: session},
    )


CONNECT = ShopConnect(
    provider=_provider,
    values=_values,
    plain_keys=("bluesky_identifier", "bluesky_pds_url"),
    session_names=(SESSION,),
    revoke_session=SESSION,
    asks=SignInAsks("handle", "The shop's Bluesky handle", "shop.bsky.social", "username"),
    asks_setting="bluesky_identifier",
)
