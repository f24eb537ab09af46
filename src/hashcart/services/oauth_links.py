"""Linking a social account by OAuth, the same way for every network.

The shopper starts on the account page; we make a state and a PKCE verifier, keep them
(the state only as its hash, the verifier sealed with `token_key`), and send the browser to
the network. Its callback must bring back a state that exists, has not expired, was not used
and was started by the same shopper; then the network's provider trades the code (with the
verifier) for tokens and tells us the account's stable id, the account is linked (which
applies its waiting replies) and the tokens are kept sealed beside the link. Unlinking asks the
network to revoke them first; a failed revoke does not keep anyone linked.

What differs per network (where to send the browser, how to trade the code, how to learn who
signed in, how to revoke) lives in a provider, `hashcart.networks.<network>.oauth`, that
follows `OAuthProvider`. Nothing here talks to a network inside a database transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from hashcart.domain.posts import Network
from hashcart.errors import HashcartError
from hashcart.pkce import random_token, s256

# The provider's port is named here too, as it was defined here.
from hashcart.ports import (
    Authorization,
    ClientRegistry,
    OAuthFailed,
    OAuthInputError,
    OAuthProvider,
    OAuthUnavailable,
    PendingSignIn,
    PendingState,
    ProvenAccount,
    RegisteredApp,
    RegisteredClient,
    StartInput,
    TokenSet,
)
from hashcart.secretbox import NoTokenKey, SecretBox, UnreadableSecret
from hashcart.services.linking import LinkError, link_account

__all__ = [
    "Authorization",
    "ClientRegistry",
    "OAuthFailed",
    "OAuthInputError",
    "OAuthProvider",
    "OAuthUnavailable",
    "PendingSignIn",
    "ProvenAccount",
    "RegisteredApp",
    "StartInput",
    "TokenSet",
    "random_token",
    "s256",
]

if TYPE_CHECKING:
    from hashcart.config import Settings
    from hashcart.host import Host
    from hashcart.services.shop import ShopHost

# How long a shopper has to finish signing in at the network.
STATE_LIFETIME = timedelta(minutes=10)
# RFC 7636: a verifier of 43 to 128 unreserved characters; 64 random letters and digits.
VERIFIER_LENGTH = 64
STATE_LENGTH = 43


class StateRefused(HashcartError, ValueError):
    """A callback whose state is unknown, used, expired or someone else's: nothing linked."""


@dataclass(frozen=True)
class Linked:
    network: Network
    handle: str | None
    account_id: str
    created: bool
    applied: int


Revocation = Literal["none", "revoked", "failed"]


class StoredClients:
    """ClientRegistry in the database, client secrets sealed with `token_key`. A `purpose`
    keeps registrations apart: the shop's connect (purpose "shop") registers with another
    redirect address and more scopes than shoppers' linking, under `<network>:shop`."""

    def __init__(self, app: Host, purpose: str = "") -> None:
        self.app = app
        self.box = secret_box(app.effective_settings())
        self.purpose = purpose

    def _key(self, network: Network) -> str:
        return f"{network.value}:{self.purpose}" if self.purpose else network.value

    def find(self, network: Network, server: str) -> RegisteredApp | None:
        with self.app.unit_of_work() as uow:
            found = uow.oauth.find_client(self._key(network), server)
        return None if found is None else self._opened(found)

    def keep(self, network: Network, server: str, app: RegisteredApp) -> RegisteredApp:
        sealed = None if app.client_secret is None else self.box.seal({"secret": app.client_secret})
        with self.app.unit_of_work() as uow:
            kept = uow.oauth.add_client(
                self._key(network), server, app.client_id, sealed, self.app.clock.now()
            )
        return self._opened(kept)

    def _opened(self, found: RegisteredClient) -> RegisteredApp:
        if found.sealed_secret is None:
            return RegisteredApp(found.client_id, None)
        try:
            secret = self.box.open(found.sealed_secret)["secret"]
        except (UnreadableSecret, KeyError) as error:
            raise OAuthUnavailable(
                "hashcart's registration with that server cannot be read with this token_key."
            ) from error
        return RegisteredApp(found.client_id, str(secret))


# the flow ------------------------------------------------------------------------------------


def secret_box(settings: Settings) -> SecretBox:
    try:
        return SecretBox.of(settings)
    except NoTokenKey as error:
        raise OAuthUnavailable(
            "Linking by sign-in is not set up in this shop yet (it needs a key to keep "
            "tokens encrypted). Use the one-time code below instead."
        ) from error


def redirect_uri(settings: Settings, network: Network) -> str:
    return f"{settings.public_url.rstrip('/')}/account/oauth/{network.value}/callback"


@dataclass(frozen=True)
class Started:
    """A sign-in sent on its way: where the browser goes, and what to keep for the callback
    (the state's hash; the verifier, callback and provider's secrets sealed)."""

    authorization: Authorization
    state_hash: str
    sealed: str


def begin_sign_in(
    box: SecretBox, provider: OAuthProvider, callback: str, entered: str = ""
) -> Started:
    """A new state and PKCE verifier, and the provider's start (register, push…): the one
    beginning of every sign-in, a shopper's linking and the shop's connect alike."""
    state = random_token(STATE_LENGTH)
    verifier = random_token(VERIFIER_LENGTH)
    authorization = provider.authorize(StartInput(state, s256(verifier), callback, entered.strip()))
    sealed = box.seal(
        {"verifier": verifier, "redirect_uri": callback, "secrets": authorization.secrets}
    )
    return Started(authorization, state_hash(state), sealed)


def checked_state(state: str) -> str:
    """The hash a callback's state is looked up by; refused when it cannot be one of ours."""
    if not state or len(state) > 512:
        raise StateRefused("This sign-in link has no valid state.")
    return state_hash(state)


def pending_sign_in(box: SecretBox, found: PendingState | None, now: datetime) -> PendingSignIn:
    """The sign-in a callback's state took back (used up), or StateRefused saying why not."""
    if found is None:
        raise StateRefused(
            "This sign-in is unknown, was already used, or was started by someone else."
        )
    if found.expires_at <= now:
        raise StateRefused("This sign-in took too long and has expired. Please start again.")
    try:
        secrets = box.open(found.secret_data)
    except UnreadableSecret as error:
        raise StateRefused("This sign-in can no longer be read. Please start again.") from error
    return PendingSignIn(
        found.server, str(secrets["verifier"]), str(secrets["redirect_uri"]), secrets["secrets"]
    )


def start_link(
    app: Host, customer_id: int, provider: OAuthProvider, entered: str = ""
) -> Authorization:
    """Begin linking: remember the state and verifier, return where to send the browser."""
    settings = app.effective_settings()
    started = begin_sign_in(
        secret_box(settings), provider, redirect_uri(settings, provider.network), entered
    )
    now = app.clock.now()
    with app.unit_of_work() as uow:
        uow.oauth.forget_expired_states(now)
        uow.oauth.add_state(
            started.state_hash,
            customer_id,
            provider.network.value,
            started.authorization.server,
            started.sealed,
            now,
            now + STATE_LIFETIME,
        )
    return started.authorization


def take_pending(app: Host, customer_id: int, network: Network, state: str) -> PendingSignIn:
    """Use up the shopper's state (it works once), or refuse the callback."""
    hashed = checked_state(state)
    box = secret_box(app.effective_settings())
    with app.unit_of_work() as uow:
        found = uow.oauth.take_state(hashed, customer_id, network.value)
    return pending_sign_in(box, found, app.clock.now())


def finish_link(
    app: ShopHost,
    email: str,
    provider: OAuthProvider,
    pending: PendingSignIn,
    code: str,
    callback: Mapping[str, str],
) -> Linked:
    """Trade the code, link the account (applying its waiting replies) and keep its tokens.

    Raises OAuthFailed when the network refuses, LinkError when the account is someone
    else's (the fresh tokens are then revoked: we have no use for them)."""
    if not code or len(code) > 4096:
        raise OAuthFailed("The network sent no sign-in code back.")
    proven = provider.exchange(code, callback, pending)
    settings = app.effective_settings()
    box = secret_box(settings)
    now = app.clock.now()
    tokens = proven.tokens
    sealed = box.seal(
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            **tokens.extra,
        }
    )
    expires_at = None if tokens.expires_in is None else now + timedelta(seconds=tokens.expires_in)
    shop = app.shop()
    try:
        with app.unit_of_work() as uow:
            result = link_account(
                uow.repository, shop, email, provider.network, proven.account_id, proven.handle, now
            )
            link_id = uow.oauth.link_id_of(provider.network.value, proven.account_id)
            assert link_id is not None
            uow.oauth.save_tokens(link_id, pending.server, sealed, tokens.scope, expires_at, now)
    except LinkError:
        _revoke_quietly(provider, pending.server, {**tokens.extra, **_token_fields(tokens)})
        raise
    return Linked(
        provider.network, proven.handle, proven.account_id, result.created, result.applied
    )


def stored_tokens(
    app: Host, customer_id: int, link_id: int
) -> tuple[str, str | None, dict[str, Any]] | None:
    """(network, server, secrets) of one of the customer's links, if it holds tokens."""
    with app.unit_of_work() as uow:
        found = uow.oauth.tokens_of_link(customer_id, link_id)
    if found is None:
        return None
    try:
        secrets = secret_box(app.effective_settings()).open(found.secret_data)
    except (OAuthUnavailable, UnreadableSecret):
        secrets = {}
    return found.network, found.server, secrets


def revoke_tokens(
    provider: OAuthProvider | None, server: str | None, secrets: Mapping[str, Any]
) -> Revocation:
    """Ask the network to revoke; 'failed' when it cannot be asked or said no."""
    if provider is None or not secrets.get("access_token"):
        return "failed"
    try:
        provider.revoke(server, secrets)
    except OAuthFailed:
        return "failed"
    return "revoked"


def _revoke_quietly(provider: OAuthProvider, server: str | None, secrets: dict[str, Any]) -> None:
    # A token nobody stores expires by itself; the refusal is what the shopper sees.
    with contextlib.suppress(OAuthFailed):
        provider.revoke(server, secrets)


def _token_fields(tokens: TokenSet) -> dict[str, Any]:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()
