"""Linking a Mastodon account: the shopper names their server; hashcart registers itself
there once (`POST /api/v1/apps`, kept in oauth_clients), then signs in by authorization code
with PKCE (S256, Mastodon 4.3+: an older server is refused with its version named, see
oauth_server), and learns the account from `GET /api/v1/accounts/verify_credentials`: its
`uri` is the stable id (what the decoder calls the author), `acct` the handle.

docs.joinmastodon.org: methods/apps, methods/oauth (authorize, token, revoke). The server
name comes from a stranger, so it is normalised to `https://host` and refused when it
resolves to a private, loopback or link-local address (unless `oauth_allow_private_servers`,
for tests on loopback).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from hashcart.config import Settings
from hashcart.domain.posts import Network
from hashcart.networks.mastodon.oauth_server import require_pkce
from hashcart.networks.oauth_http import check_public_url, error_of, http_client, send
from hashcart.ports import (
    Authorization,
    ClientRegistry,
    OAuthFailed,
    OAuthInputError,
    PendingSignIn,
    ProvenAccount,
    RegisteredApp,
    StartInput,
    TokenSet,
)

SCOPES = "read:accounts"
# The shop's own account (issue 14's Connect): what the listener reads (notifications,
# statuses, the streaming API, relationships) and what the dispatcher writes: statuses,
# public and direct (docs.joinmastodon.org api/oauth-scopes).
SHOP_SCOPES = "read write:statuses write:conversations"
# Dot-separated labels of letters, digits and inner hyphens (after IDNA encoding).
_HOST_NAME = re.compile(
    r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)
MAX_SERVER_NAME = 300


def normalise_server(entered: str, *, allow_private: bool) -> str:
    """`mastodon.social`, `https://mastodon.social/@ann`, `@ann@mastodon.social` →
    `https://mastodon.social`; refused when it is no server name or not a public address."""
    text = entered.strip()
    if not text:
        raise OAuthInputError("Name your Mastodon server, for example mastodon.social.")
    if len(text) > MAX_SERVER_NAME or any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        raise OAuthInputError("That is not a server name.")
    if "://" not in text:
        text = "https://" + text.rsplit("@", 1)[-1]
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError as error:
        raise OAuthInputError("That is not a server name.") from error
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_private and scheme == "http"):
        raise OAuthInputError("hashcart signs in with Mastodon servers over https only.")
    if not host or parts.username is not None:
        raise OAuthInputError("That is not a server name.")
    server = f"{scheme}://{_ascii_host(host)}" + (f":{port}" if port else "")
    return check_public_url(server, allow_private=allow_private)


def _ascii_host(host: str) -> str:
    """A host name in ASCII (IDNA) or an IP address (IPv6 in brackets); nothing else."""
    try:
        return (
            f"[{ipaddress.IPv6Address(host)}]" if ":" in host else str(ipaddress.IPv4Address(host))
        )
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise OAuthInputError("That is not a server name.") from error
    if len(name) > 253 or not _HOST_NAME.fullmatch(name):
        raise OAuthInputError("That is not a server name.")
    return name


class MastodonOAuth:
    """Mastodon's sign-in, for whichever server the shopper names."""

    network = Network.MASTODON

    def __init__(
        self,
        clients: ClientRegistry,
        shop_name: str,
        website: str,
        *,
        allow_private: bool,
        scopes: str = SCOPES,
    ) -> None:
        self.clients = clients
        self.shop_name = shop_name
        self.website = website
        self.allow_private = allow_private
        self.scopes = scopes

    @classmethod
    def from_settings(
        cls, settings: Settings, clients: ClientRegistry, scopes: str = SCOPES
    ) -> MastodonOAuth:
        """`clients` keeps one registration per server and set of scopes: the shop's
        connect registers apart from shoppers' linking (another redirect, more scopes)."""
        return cls(
            clients,
            settings.shop_name,
            settings.public_url,
            allow_private=settings.oauth_allow_private_servers,
            scopes=scopes,
        )

    def authorize(self, start: StartInput) -> Authorization:
        server = normalise_server(start.entered, allow_private=self.allow_private)
        with http_client(public_only=not self.allow_private) as client:
            require_pkce(client, server)  # Mastodon 4.3+, else an error naming the version
        registered = self._registration(server, start.redirect_uri)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": registered.client_id,
                "redirect_uri": start.redirect_uri,
                "scope": self.scopes,
                "state": start.state,
                "code_challenge": start.code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return Authorization(f"{server}/oauth/authorize?{query}", server=server)

    def exchange(
        self, code: str, callback: Mapping[str, str], pending: PendingSignIn
    ) -> ProvenAccount:
        server = self._server_of(pending.server)
        registered = self._known_registration(server)
        with http_client(public_only=not self.allow_private) as client:
            response, answer = send(
                client,
                client.build_request(
                    "POST",
                    f"{server}/oauth/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "client_id": registered.client_id,
                        "client_secret": registered.client_secret or "",
                        "redirect_uri": pending.redirect_uri,
                        "code_verifier": pending.code_verifier,
                        "scope": self.scopes,
                    },
                ),
                "Your Mastodon server",
            )
            if response.status_code != 200:
                raise OAuthFailed(f"Your Mastodon server refused the sign-in ({error_of(answer)}).")
            access = answer.get("access_token")
            if not isinstance(access, str) or not access:
                raise OAuthFailed("Your Mastodon server answered without an access token.")
            scope = answer.get("scope")
            tokens = TokenSet(access, scope=scope if isinstance(scope, str) else None)
            response, account = send(
                client,
                client.build_request(
                    "GET",
                    f"{server}/api/v1/accounts/verify_credentials",
                    headers={"Authorization": f"Bearer {access}"},
                ),
                "Your Mastodon server",
            )
        if response.status_code != 200:
            raise OAuthFailed(
                f"Your Mastodon server answered {response.status_code} when asked who signed in."
            )
        uri, acct = account.get("uri"), account.get("acct")
        if not isinstance(uri, str) or not isinstance(acct, str) or not acct:
            raise OAuthFailed("Your Mastodon server did not say which account signed in.")
        _check_account_uri(uri, server)
        host = urlsplit(server).hostname or ""
        handle = acct if "@" in acct else f"{acct}@{host}"
        return ProvenAccount(uri, handle[:300], tokens)

    def revoke(self, server: str | None, secrets: Mapping[str, Any]) -> None:
        known = self._server_of(server)
        registered = self._known_registration(known)
        with http_client(public_only=not self.allow_private) as client:
            try:
                response = client.post(
                    f"{known}/oauth/revoke",
                    data={
                        "client_id": registered.client_id,
                        "client_secret": registered.client_secret or "",
                        "token": str(secrets.get("access_token", "")),
                    },
                )
            except httpx.HTTPError as error:
                raise OAuthFailed(
                    f"Your Mastodon server could not be asked ({type(error).__name__})."
                ) from error
        if response.status_code != 200:
            raise OAuthFailed(f"Your Mastodon server answered {response.status_code}.")

    # registration -------------------------------------------------------------------------

    def _registration(self, server: str, redirect_uri: str) -> RegisteredApp:
        """hashcart's registration on `server`, made the first time someone links there."""
        found = self.clients.find(self.network, server)
        if found is not None:
            return found
        with http_client(public_only=not self.allow_private) as client:
            response, answer = send(
                client,
                client.build_request(
                    "POST",
                    f"{server}/api/v1/apps",
                    json={
                        "client_name": self.shop_name,
                        "redirect_uris": [redirect_uri],
                        "scopes": self.scopes,
                        "website": self.website,
                    },
                ),
                "That Mastodon server",
            )
        client_id, secret = answer.get("client_id"), answer.get("client_secret")
        if response.status_code != 200 or not isinstance(client_id, str) or not client_id:
            raise OAuthFailed(
                f"That Mastodon server would not register hashcart ({error_of(answer)})."
            )
        return self.clients.keep(
            self.network,
            server,
            RegisteredApp(client_id, secret if isinstance(secret, str) else None),
        )

    def _known_registration(self, server: str) -> RegisteredApp:
        found = self.clients.find(self.network, server)
        if found is None:
            raise OAuthFailed("hashcart is not registered with that Mastodon server any more.")
        return found

    def _server_of(self, server: str | None) -> str:
        if not server:
            raise OAuthFailed("This sign-in does not say which Mastodon server it was with.")
        # Checked again: an address that was public when the sign-in began must still be.
        return check_public_url(server, allow_private=self.allow_private)


def _check_account_uri(uri: str, server: str) -> None:
    """The account must live on the server that vouched for it (or on the domain above it,
    for servers whose web address is a subdomain of their account domain): a server cannot
    sign someone in as an account of another server."""
    account_host = (urlsplit(uri).hostname or "").lower()
    server_host = (urlsplit(server).hostname or "").lower()
    if urlsplit(uri).scheme not in ("https", "http") or not account_host:
        raise OAuthFailed("Your Mastodon server named an account without an address.")
    if account_host != server_host and not server_host.endswith("." + account_host):
        raise OAuthFailed("Your Mastodon server named an account that lives on another server.")
