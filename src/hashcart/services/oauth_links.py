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
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from hashcart.domain.posts import Network
from hashcart.errors import HashcartError
from hashcart.networks.addresses import PublicOnlyTransport, non_public_host_reason
from hashcart.secretbox import NoTokenKey, SecretBox, UnreadableSecret
from hashcart.services.linking import LinkError, link_account
from hashcart.store import oauth as stored
from hashcart.store.repository import Repository

if TYPE_CHECKING:
    from hashcart.bootstrap import App
    from hashcart.config import Settings

# How long a shopper has to finish signing in at the network.
STATE_LIFETIME = timedelta(minutes=10)
# RFC 7636: a verifier of 43 to 128 unreserved characters; 64 random letters and digits.
VERIFIER_LENGTH = 64
STATE_LENGTH = 43
# Answers from servers a stranger named are read up to this size, then refused.
MAX_ANSWER_BYTES = 1 << 20
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "hashcart (account linking)"


class OAuthUnavailable(HashcartError, RuntimeError):
    """The shop is not set up for this network's sign-in (no token_key, no client id)."""


class OAuthInputError(HashcartError, ValueError):
    """What the shopper typed cannot be used (no such server, a private address, …)."""


class OAuthFailed(HashcartError, RuntimeError):
    """The network did not complete the sign-in; the message says what it answered."""


class StateRefused(HashcartError, ValueError):
    """A callback whose state is unknown, used, expired or someone else's: nothing linked."""


@dataclass(frozen=True)
class StartInput:
    """What a provider needs to send the browser to the network."""

    state: str
    code_challenge: str
    redirect_uri: str
    entered: str  # the server (Mastodon) or handle (Bluesky) the shopper typed; "" for X


@dataclass(frozen=True)
class Authorization:
    url: str  # where the browser goes to sign in
    server: str | None = None  # the server this sign-in is with (Mastodon host, Bluesky issuer)
    secrets: dict[str, Any] = field(default_factory=dict)  # kept sealed with the state


@dataclass(frozen=True)
class PendingSignIn:
    """A started sign-in, as its callback finds it again."""

    server: str | None
    code_verifier: str
    redirect_uri: str
    secrets: dict[str, Any]


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None = None
    expires_in: float | None = None
    scope: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # kept sealed too (a DPoP key, …)


@dataclass(frozen=True)
class ProvenAccount:
    """Who signed in, by the network's stable id, and the tokens that prove it."""

    account_id: str
    handle: str | None
    tokens: TokenSet


class OAuthProvider(Protocol):
    network: Network

    def authorize(self, start: StartInput) -> Authorization:
        """Prepare the sign-in (register, push the request…) and say where to send the browser."""
        ...

    def exchange(
        self, code: str, callback: Mapping[str, str], pending: PendingSignIn
    ) -> ProvenAccount:
        """Trade the code for tokens and learn the account; raise OAuthFailed if refused."""
        ...

    def revoke(self, server: str | None, secrets: Mapping[str, Any]) -> None:
        """Ask the network to forget the tokens; raise OAuthFailed if it could not be asked."""
        ...


@dataclass(frozen=True)
class RegisteredApp:
    """hashcart's registration as a client on one server."""

    client_id: str
    client_secret: str | None


class ClientRegistry(Protocol):
    """Where hashcart keeps its registrations (one per Mastodon server)."""

    def find(self, network: Network, server: str) -> RegisteredApp | None: ...

    def keep(self, network: Network, server: str, app: RegisteredApp) -> RegisteredApp:
        """Store a new registration; returns the one in force (an earlier one wins)."""
        ...


@dataclass(frozen=True)
class Linked:
    network: Network
    handle: str | None
    account_id: str
    created: bool
    applied: int


Revocation = Literal["none", "revoked", "failed"]


class StoredClients:
    """ClientRegistry in the database, client secrets sealed with `token_key`."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.box = secret_box(app.effective_settings())

    def find(self, network: Network, server: str) -> RegisteredApp | None:
        with self.app.engine.connect() as connection:
            found = stored.find_client(connection, network.value, server)
        return None if found is None else self._opened(found)

    def keep(self, network: Network, server: str, app: RegisteredApp) -> RegisteredApp:
        sealed = None if app.client_secret is None else self.box.seal({"secret": app.client_secret})
        with self.app.engine.begin() as connection:
            kept = stored.add_client(
                connection, network.value, server, app.client_id, sealed, self.app.clock.now()
            )
        return self._opened(kept)

    def _opened(self, found: stored.RegisteredClient) -> RegisteredApp:
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


def start_link(
    app: App, customer_id: int, provider: OAuthProvider, entered: str = ""
) -> Authorization:
    """Begin linking: remember the state and verifier, return where to send the browser."""
    settings = app.effective_settings()
    box = secret_box(settings)
    state = random_token(STATE_LENGTH)
    verifier = random_token(VERIFIER_LENGTH)
    callback = redirect_uri(settings, provider.network)
    authorization = provider.authorize(StartInput(state, s256(verifier), callback, entered.strip()))
    now = app.clock.now()
    sealed = box.seal(
        {"verifier": verifier, "redirect_uri": callback, "secrets": authorization.secrets}
    )
    with app.engine.begin() as connection:
        stored.forget_expired_states(connection, now)
        stored.add_state(
            connection,
            state_hash(state),
            customer_id,
            provider.network.value,
            authorization.server,
            sealed,
            now,
            now + STATE_LIFETIME,
        )
    return authorization


def take_pending(app: App, customer_id: int, network: Network, state: str) -> PendingSignIn:
    """Use up the shopper's state (it works once), or refuse the callback."""
    if not state or len(state) > 512:
        raise StateRefused("This sign-in link has no valid state.")
    box = secret_box(app.effective_settings())
    with app.engine.begin() as connection:
        found = stored.take_state(connection, state_hash(state), customer_id, network.value)
    if found is None:
        raise StateRefused(
            "This sign-in is unknown, was already used, or was started by someone else."
        )
    if found.expires_at <= app.clock.now():
        raise StateRefused("This sign-in took too long and has expired. Please start again.")
    try:
        secrets = box.open(found.secret_data)
    except UnreadableSecret as error:
        raise StateRefused("This sign-in can no longer be read. Please start again.") from error
    return PendingSignIn(
        found.server, str(secrets["verifier"]), str(secrets["redirect_uri"]), secrets["secrets"]
    )


def finish_link(
    app: App,
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
        with app.engine.begin() as connection:
            repo = Repository(connection)
            result = link_account(
                repo, shop, email, provider.network, proven.account_id, proven.handle, now
            )
            link_id = stored.link_id_of(connection, provider.network.value, proven.account_id)
            assert link_id is not None
            stored.save_tokens(
                connection, link_id, pending.server, sealed, tokens.scope, expires_at, now
            )
    except LinkError:
        _revoke_quietly(provider, pending.server, {**tokens.extra, **_token_fields(tokens)})
        raise
    return Linked(
        provider.network, proven.handle, proven.account_id, result.created, result.applied
    )


def stored_tokens(
    app: App, customer_id: int, link_id: int
) -> tuple[str, str | None, dict[str, Any]] | None:
    """(network, server, secrets) of one of the customer's links, if it holds tokens."""
    with app.engine.connect() as connection:
        found = stored.tokens_of_link(connection, customer_id, link_id)
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


def random_token(length: int) -> str:
    """Letters and digits from the system's CSPRNG (Authlib's generate_token)."""
    return str(generate_token(length))


def s256(value: str) -> str:
    """base64url(SHA-256(value)) without padding: PKCE's S256 challenge, and DPoP's `ath`."""
    return str(create_s256_code_challenge(value))


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


# talking to servers a stranger named ---------------------------------------------------------


def http_client(*, public_only: bool = False) -> httpx.Client:
    """A client for OAuth calls: short timeouts, no redirects followed (a server cannot send
    us somewhere else), a name that says who we are. `public_only` for servers a stranger
    named: it connects only to public addresses, the very ones it checked."""
    return httpx.Client(
        timeout=HTTP_TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        transport=PublicOnlyTransport() if public_only else None,
    )


def check_public_url(url: str, *, allow_private: bool) -> str:
    """Refuse a URL hashcart must not fetch: not https (http only when private servers are
    allowed, i.e. in tests), credentials in it, or a host that resolves to a private,
    loopback, link-local or otherwise non-public address. Returns the URL unchanged."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as error:
        raise OAuthInputError(f"{url!r} is not a usable address.") from error
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes or not host:
        raise OAuthInputError(f"{url!r} is not an https address.")
    if parts.username is not None or parts.password is not None:
        raise OAuthInputError("Addresses with a user name or password in them are not used.")
    if allow_private:
        return url
    try:
        refused = non_public_host_reason(host, port or 443)
    except (OSError, UnicodeError) as error:
        raise OAuthInputError(f"The server {host!r} could not be found.") from error
    if refused is not None:
        raise OAuthInputError(
            f"The server {host!r} is on a private or local network address; "
            "hashcart only signs in with servers on the public internet."
        )
    return url


def read_json(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object a server answered, within MAX_ANSWER_BYTES, else OAuthFailed.

    The response must have been opened with `stream=True` (so a huge answer is not read)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > MAX_ANSWER_BYTES:
            response.close()
            raise OAuthFailed(f"{what} answered with more than we read.")
    try:
        value = json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise OAuthFailed(f"{what} answered with something that is not JSON.") from error
    if not isinstance(value, dict):
        raise OAuthFailed(f"{what} answered with JSON that is not an object.")
    return value


def send(
    client: httpx.Client, request: httpx.Request, what: str
) -> tuple[httpx.Response, dict[str, Any]]:
    """Send a request and read its JSON answer (capped); network errors become OAuthFailed."""
    try:
        response = client.send(request, stream=True)
    except httpx.HTTPError as error:
        raise OAuthFailed(f"{what} could not be reached ({type(error).__name__}).") from error
    try:
        return response, read_json(response, what)
    except httpx.HTTPError as error:
        raise OAuthFailed(f"{what} broke off its answer ({type(error).__name__}).") from error
    finally:
        response.close()


def error_of(answer: Mapping[str, Any]) -> str:
    """A short, safe description of an OAuth error answer (never a token)."""
    error = answer.get("error")
    description = answer.get("error_description")
    text = str(error) if isinstance(error, str) else "an error"
    if isinstance(description, str) and description:
        text = f"{text}: {description}"
    return text[:200]
