"""Connecting the shop's own X, Mastodon and Bluesky accounts by OAuth from the console's
Networks page (issue 14), instead of pasting tokens.

The flow is the shoppers' (services/oauth_links: a state kept as its hash, a PKCE verifier
and any DPoP key sealed with the token_key, the network's provider trading the code) with
the scopes the shop needs (the adapter's `connect`, networks/base.ShopConnect), but its
states live apart (`shop_connect_states`, tied to the merchant who started) and its callback
is the console's: a shop connect never links a shopper's account, and a shopper's sign-in
never connects the shop. The callback writes the account's tokens and handle where the
network's parts already read them (the Networks settings, secrets sealed, and the sealed
sessions), so the listeners and the dispatcher use the account without a pasted token.
Disconnect revokes where the network allows and clears those values again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from hashcart.bootstrap import App
from hashcart.networks import registry
from hashcart.networks.base import ShopConnect
from hashcart.networks.setting_fields import NETWORK_SETTING_FIELDS as FIELDS
from hashcart.ports import (
    Authorization,
    OAuthFailed,
    OAuthProvider,
    OAuthUnavailable,
    PendingSignIn,
    ProvenAccount,
)
from hashcart.secretbox import NoTokenKey, SecretBox, UnreadableSecret
from hashcart.services.oauth_links import (
    STATE_LIFETIME,
    Revocation,
    StoredClients,
    begin_sign_in,
    checked_state,
    pending_sign_in,
)
from hashcart.store import network_config, shop_connections
from hashcart.store.database import read_only_transaction, write_transaction
from hashcart.store.shop_connections import ShopConnection


def callback_path(network: str) -> str:
    return f"/merchant/networks/{network}/connect/callback"


def connect_of(network: str) -> ShopConnect | None:
    """The network's shop connect, None when it has none (or is no registered network)."""
    adapter = registry.find(network)
    return None if adapter is None else adapter.connect


def _box(app: App) -> SecretBox:
    try:
        return SecretBox.of(app.effective_settings())
    except NoTokenKey as error:
        raise OAuthUnavailable(
            "Connecting needs a token_key to keep the account's tokens encrypted: set one "
            "(hashcart makes one beside the database on first start) and restart."
        ) from error


def provider_for(app: App, network: str) -> OAuthProvider:
    connect = connect_of(network)
    if connect is None:
        raise OAuthUnavailable("That network's account cannot be connected here.")
    return connect.provider(app, StoredClients(app, "shop"), callback_path(network))


def start(app: App, merchant_id: int, network: str, entered: str = "") -> Authorization:
    """Remember the state and verifier for this merchant; where to send the browser."""
    callback = f"{app.effective_settings().public_url.rstrip('/')}{callback_path(network)}"
    started = begin_sign_in(_box(app), provider_for(app, network), callback, entered)
    now = app.clock.now()
    with write_transaction(app.engine) as connection:
        shop_connections.forget_expired_states(connection, now)
        shop_connections.add_state(
            connection,
            started.state_hash,
            merchant_id,
            network,
            started.authorization.server,
            started.sealed,
            now,
            now + STATE_LIFETIME,
        )
    return started.authorization


def take(app: App, merchant_id: int, network: str, state: str) -> PendingSignIn:
    """Use up the merchant's state (it works once), or refuse the callback."""
    hashed = checked_state(state)
    box = _box(app)
    with write_transaction(app.engine) as connection:
        found = shop_connections.take_state(connection, hashed, merchant_id, network)
    return pending_sign_in(box, found, app.clock.now())


def finish(
    app: App, network: str, pending: PendingSignIn, code: str, callback: Mapping[str, str]
) -> ShopConnection:
    """Trade the code and keep the shop account's tokens where the network's parts read
    them; the connected account replaces any connected before."""
    if not code or len(code) > 4096:
        raise OAuthFailed("The network sent no sign-in code back.")
    connect = connect_of(network)
    assert connect is not None
    provider = provider_for(app, network)
    proven = provider.exchange(code, callback, pending)
    box = _box(app)
    now = app.clock.now()
    values = connect.values(proven, pending.server, now)
    connected = ShopConnection(
        network, proven.account_id, proven.handle, pending.server, proven.tokens.scope, now
    )
    try:
        with write_transaction(app.engine) as connection:
            network_config.save(
                connection, app.settings, dict(values.plain), dict(values.secrets), networks=FIELDS
            )
            for name, data in values.sessions.items():
                shop_connections.keep_session(connection, name, box.seal(data), now)
            shop_connections.save(connection, connected)
    except network_config.NetworkConfigError as problem:
        # Nothing was kept: tokens nobody stores are withdrawn rather than left to expire.
        with contextlib.suppress(OAuthFailed):
            provider.revoke(pending.server, {**proven.tokens.extra, **_tokens(proven)})
        raise OAuthFailed(f"The account could not be kept: {problem}.") from problem
    return connected


def _tokens(proven: ProvenAccount) -> dict[str, Any]:
    return {
        "access_token": proven.tokens.access_token,
        "refresh_token": proven.tokens.refresh_token,
    }


def connected_accounts(app: App) -> dict[str, ShopConnection]:
    with read_only_transaction(app.engine) as connection:
        return shop_connections.connections(connection)


def disconnect(app: App, network: str) -> tuple[ShopConnection | None, Revocation]:
    """Revoke the connected account's tokens where the network allows, then forget them and
    the values the connect set (the settings file's are in force again)."""
    connect = connect_of(network)
    if connect is None:
        return None, "none"
    found = connected_accounts(app).get(network)
    if found is None:
        return None, "none"
    revocation = _revoke(app, network, connect, found)
    with write_transaction(app.engine) as connection:
        network_config.save(
            connection,
            app.settings,
            dict.fromkeys(connect.plain_keys, ""),
            {},
            clear=connect.secret_keys,
            networks=FIELDS,
        )
        for name in connect.session_names:
            shop_connections.forget_session(connection, name)
        shop_connections.forget(connection, network)
    return found, revocation


def _revoke(app: App, network: str, connect: ShopConnect, found: ShopConnection) -> Revocation:
    secrets: dict[str, Any] = {}
    with contextlib.suppress(OAuthUnavailable, UnreadableSecret):
        box = _box(app)
        if connect.revoke_session is not None:
            with read_only_transaction(app.engine) as connection:
                sealed = shop_connections.read_session(connection, connect.revoke_session)
            if sealed is not None:
                secrets = box.open(sealed)
        elif connect.revoke_setting is not None:
            value = getattr(app.effective_settings(), connect.revoke_setting, None)
            token = value.get_secret_value() if isinstance(value, SecretStr) else value
            if isinstance(token, str) and token:
                secrets = {"access_token": token}
    if not secrets.get("access_token"):
        return "failed"
    try:
        provider_for(app, network).revoke(found.server, secrets)
    except (OAuthFailed, OAuthUnavailable):
        return "failed"
    return "revoked"
