"""Linking a Bluesky account by AT Protocol OAuth (atproto.com/specs/oauth).

The shopper names their handle (or DID); the Bluesky identity resolver turns it into a DID
(the AppView's `com.atproto.identity.resolveHandle`) and the DID document (PLC directory, or
`did:web`) into its PDS; we ask the PDS for its authorization server
(`/.well-known/oauth-protected-resource`) and that server for its metadata
(`/.well-known/oauth-authorization-server`). Then a pushed authorization request (PAR) with
PKCE S256, `login_hint` and scope `atproto`, signed by a DPoP key made for this sign-in; the
browser goes to the server's authorization page. The code comes back with `iss`, which must
be that server; the token request (DPoP again) answers with `sub`, which must be the DID the
handle resolved to.

hashcart is a public web client (`token_endpoint_auth_method: none`): its client id is the
URL of the metadata document served at `/oauth/bluesky/client-metadata.json`, except on a
loopback `public_url`, where it is the spec's development client id
`http://localhost?redirect_uri=…&scope=atproto` (the server builds the metadata from it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from hashcart.clock import SystemClock
from hashcart.config import Settings
from hashcart.domain.posts import Network
from hashcart.networks.bluesky.dpop import DPoPKey, post_form
from hashcart.networks.bluesky.identity import (
    IdentityNotFound,
    IdentityResolver,
    is_did,
    is_handle,
)
from hashcart.networks.bluesky.xrpc import BlueskyError, Xrpc
from hashcart.networks.oauth_http import check_public_url, error_of, http_client, send
from hashcart.ports import (
    Authorization,
    OAuthFailed,
    OAuthInputError,
    PendingSignIn,
    ProvenAccount,
    StartInput,
    TokenSet,
)

SCOPE = "atproto"
# The shop's own account (issue 14's Connect): writing posts in its repository and its
# direct messages, the transitional scopes that stand for an app password's rights
# (atproto.com/specs/oauth "Scopes": `transition:generic`, `transition:chat.bsky`).
SHOP_SCOPE = "atproto transition:generic transition:chat.bsky"
METADATA_PATH = "/oauth/bluesky/client-metadata.json"
CALLBACK_PATH = "/account/oauth/bluesky/callback"
SHOP_CALLBACK_PATH = "/merchant/networks/bluesky/connect/callback"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def client_metadata(settings: Settings) -> dict[str, Any]:
    """The client metadata document for a production (non-loopback) public_url."""
    base = settings.public_url.rstrip("/")
    return {
        "client_id": f"{base}{METADATA_PATH}",
        "client_name": settings.shop_name,
        "client_uri": base,
        "redirect_uris": [f"{base}{CALLBACK_PATH}", f"{base}{SHOP_CALLBACK_PATH}"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        # Every scope hashcart may ask for; each sign-in asks for what it needs.
        "scope": SHOP_SCOPE,
        "token_endpoint_auth_method": "none",
        "application_type": "web",
        "dpop_bound_access_tokens": True,
    }


def is_loopback(public_url: str) -> bool:
    return (urlsplit(public_url).hostname or "") in LOOPBACK_HOSTS


def client_id_and_redirect(
    public_url: str, callback_path: str = CALLBACK_PATH, scope: str = SCOPE
) -> tuple[str, str]:
    """hashcart's client id and redirect URI for this public_url (a shopper's linking by
    default; the shop's connect passes its own callback and scope)."""
    base = public_url.rstrip("/")
    if not is_loopback(base):
        return f"{base}{METADATA_PATH}", f"{base}{callback_path}"
    # The development client: the redirect must name 127.0.0.1 (not `localhost`), any port.
    parts = urlsplit(base)
    netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
    redirect = urlunsplit(("http", netloc, parts.path + callback_path, "", ""))
    query = urlencode({"redirect_uri": redirect, "scope": scope}, quote_via=quote)
    return f"http://localhost?{query}", redirect


class BlueskyOAuth:
    """Bluesky's sign-in: identity resolution, PAR, DPoP, and the `sub` check."""

    network = Network.BLUESKY

    def __init__(
        self,
        public_url: str,
        plc_url: str,
        appview_url: str,
        *,
        allow_private: bool,
        callback_path: str = CALLBACK_PATH,
        scope: str = SCOPE,
    ):
        self.public_url = public_url
        self.plc_url = plc_url.rstrip("/")
        self.appview_url = appview_url.rstrip("/")
        self.allow_private = allow_private
        self.callback_path = callback_path
        self.scope = scope

    @classmethod
    def from_settings(
        cls, settings: Settings, callback_path: str = CALLBACK_PATH, scope: str = SCOPE
    ) -> BlueskyOAuth:
        return cls(
            settings.public_url,
            settings.bluesky_plc_url,
            settings.bluesky_appview_url,
            allow_private=settings.oauth_allow_private_servers,
            callback_path=callback_path,
            scope=scope,
        )

    # the sign-in ---------------------------------------------------------------------------

    def authorize(self, start: StartInput) -> Authorization:
        client_id, redirect = client_id_and_redirect(
            self.public_url, self.callback_path, self.scope
        )
        with http_client(public_only=not self.allow_private) as client:
            did, handle, pds = self.resolve(client, start.entered)
            issuer = self._authorization_server(client, pds)
            meta = self._server_metadata(client, issuer)
            key = DPoPKey.generate()
            response, answer, nonce = post_form(
                client,
                key,
                meta["pushed_authorization_request_endpoint"],
                {
                    "client_id": client_id,
                    "response_type": "code",
                    "redirect_uri": redirect,
                    "scope": self.scope,
                    "state": start.state,
                    "code_challenge": start.code_challenge,
                    "code_challenge_method": "S256",
                    "login_hint": handle or did,
                },
                None,
                "Your Bluesky server",
            )
        request_uri = answer.get("request_uri")
        if response.status_code not in (200, 201) or not isinstance(request_uri, str):
            raise OAuthFailed(f"Your Bluesky server refused the sign-in ({error_of(answer)}).")
        query = urlencode({"client_id": client_id, "request_uri": request_uri})
        return Authorization(
            f"{meta['authorization_endpoint']}?{query}",
            server=issuer,
            secrets={
                "dpop_key": key.private_jwk(),
                "dpop_nonce": nonce,
                "did": did,
                "handle": handle,
                "pds": pds,
                "client_id": client_id,
                "redirect_uri": redirect,
                "iss_required": bool(meta.get("authorization_response_iss_parameter_supported")),
            },
        )

    def exchange(
        self, code: str, callback: Mapping[str, str], pending: PendingSignIn
    ) -> ProvenAccount:
        secrets = pending.secrets
        issuer = pending.server or ""
        sent_issuer = callback.get("iss")
        if sent_issuer is not None and sent_issuer != issuer:
            raise OAuthFailed("The sign-in came back from a different server than it went to.")
        if sent_issuer is None and secrets.get("iss_required"):
            raise OAuthFailed("The sign-in came back without saying which server it was.")
        # Metadata again, from the issuer we started with: where to send the code.
        response, answer, nonce = self._token_request(
            issuer,
            secrets,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": str(secrets["redirect_uri"]),
                "code_verifier": pending.code_verifier,
                "client_id": str(secrets["client_id"]),
            },
        )
        if response.status_code != 200:
            raise OAuthFailed(f"Your Bluesky server refused the sign-in ({error_of(answer)}).")
        did = str(secrets["did"])
        if answer.get("sub") != did:
            raise OAuthFailed("Your Bluesky server signed in a different account than you named.")
        access, scope = answer.get("access_token"), answer.get("scope")
        if not isinstance(access, str) or not access:
            raise OAuthFailed("Your Bluesky server answered without an access token.")
        if str(answer.get("token_type", "")).lower() != "dpop":
            raise OAuthFailed("Your Bluesky server did not bind the tokens to hashcart (DPoP).")
        if not isinstance(scope, str) or not set(self.scope.split()) <= set(scope.split()):
            raise OAuthFailed(f"Your Bluesky server did not grant the scope {self.scope}.")
        refresh, expires_in = answer.get("refresh_token"), answer.get("expires_in")
        tokens = TokenSet(
            access,
            refresh if isinstance(refresh, str) else None,
            float(expires_in) if isinstance(expires_in, int | float) else None,
            scope,
            extra={
                "dpop_key": secrets["dpop_key"],
                "dpop_nonce": nonce,
                "client_id": secrets["client_id"],
                "pds": secrets["pds"],
                "issuer": issuer,
            },
        )
        handle = secrets.get("handle")
        return ProvenAccount(did, handle if isinstance(handle, str) else None, tokens)

    def refresh(self, server: str, secrets: Mapping[str, Any]) -> dict[str, Any]:
        """`secrets` with new tokens for its refresh token (the server rotates it: the old
        one is spent), and the server's newest nonce; OAuthFailed when it refuses."""
        token = secrets.get("refresh_token")
        if not token or "dpop_key" not in secrets:
            raise OAuthFailed("There is no refresh token to renew the session with.")
        response, answer, nonce = self._token_request(
            server,
            secrets,
            {
                "grant_type": "refresh_token",
                "refresh_token": str(token),
                "client_id": str(secrets.get("client_id", "")),
            },
        )
        access = answer.get("access_token")
        if response.status_code != 200 or not isinstance(access, str) or not access:
            raise OAuthFailed(f"Your Bluesky server refused to renew ({error_of(answer)}).")
        if answer.get("sub") not in (None, secrets.get("did")):
            raise OAuthFailed("Your Bluesky server renewed a different account's session.")
        refresh, expires_in = answer.get("refresh_token"), answer.get("expires_in")
        return {
            **secrets,
            "access_token": access,
            "refresh_token": refresh if isinstance(refresh, str) else token,
            "expires_in": float(expires_in) if isinstance(expires_in, int | float) else None,
            "dpop_nonce": nonce,
        }

    def _token_request(
        self, issuer: str, secrets: Mapping[str, Any], form: Mapping[str, str]
    ) -> tuple[httpx.Response, dict[str, Any], str | None]:
        """POST the issuer's token endpoint (from its metadata) with a DPoP proof of the
        session's key: the code's exchange and a refresh alike."""
        key = DPoPKey.from_jwk(secrets["dpop_key"])
        with http_client(public_only=not self.allow_private) as client:
            meta = self._server_metadata(client, issuer)
            return post_form(
                client,
                key,
                meta["token_endpoint"],
                form,
                secrets.get("dpop_nonce"),
                "Your Bluesky server",
            )

    def revoke(self, server: str | None, secrets: Mapping[str, Any]) -> None:
        """Revoke at the server's `revocation_endpoint` (the refresh token ends the session)."""
        token = secrets.get("refresh_token") or secrets.get("access_token")
        if not server or not token or "dpop_key" not in secrets:
            raise OAuthFailed("There is nothing hashcart could revoke.")
        key = DPoPKey.from_jwk(secrets["dpop_key"])
        with http_client(public_only=not self.allow_private) as client:
            meta = self._server_metadata(client, server)
            endpoint = meta.get("revocation_endpoint")
            if not isinstance(endpoint, str):
                raise OAuthFailed("Your Bluesky server offers no way to revoke.")
            check_public_url(endpoint, allow_private=self.allow_private)
            response, answer, _nonce = post_form(
                client,
                key,
                endpoint,
                {"token": str(token), "client_id": str(secrets.get("client_id", ""))},
                secrets.get("dpop_nonce"),
                "Your Bluesky server",
            )
        if response.status_code != 200:
            raise OAuthFailed(f"Your Bluesky server refused to revoke ({error_of(answer)}).")

    # identity ------------------------------------------------------------------------------

    def resolve(self, client: httpx.Client, entered: str) -> tuple[str, str | None, str]:
        """Handle or DID → (DID, handle, PDS URL), by the Bluesky identity resolver: the
        AppView resolves the handle, the DID document (PLC or did:web) names the PDS."""
        name = entered.strip().removeprefix("@").lower()
        if not name:
            raise OAuthInputError("Type your Bluesky handle, for example alice.bsky.social.")
        if not (is_did(name) or is_handle(name)):
            raise OAuthInputError("That is not a Bluesky handle.")
        resolver = IdentityResolver(
            Xrpc(client), self.plc_url, SystemClock(), allow_private=self.allow_private
        )
        try:
            did = name if is_did(name) else resolver.did_of_handle(name, self.appview_url)
            pds = resolver.identity(did).pds
        except IdentityNotFound as error:
            raise OAuthInputError(f"No Bluesky account answers to {entered.strip()!r}.") from error
        except BlueskyError as error:
            raise OAuthFailed(f"Bluesky could not be asked who that is ({error}).") from error
        handle = None if is_did(name) else name
        return did, handle, check_public_url(pds, allow_private=self.allow_private)

    def _authorization_server(self, client: httpx.Client, pds: str) -> str:
        response, answer = send(
            client,
            client.build_request("GET", f"{pds}/.well-known/oauth-protected-resource"),
            "Your Bluesky server",
        )
        servers = answer.get("authorization_servers")
        if response.status_code != 200 or not isinstance(servers, list) or not servers:
            raise OAuthFailed("Your Bluesky server does not say where to sign in.")
        issuer = servers[0]
        if not isinstance(issuer, str):
            raise OAuthFailed("Your Bluesky server does not say where to sign in.")
        return check_public_url(issuer.rstrip("/"), allow_private=self.allow_private)

    def _server_metadata(self, client: httpx.Client, issuer: str) -> dict[str, Any]:
        """The authorization server's metadata, checked the way the spec asks."""
        check_public_url(issuer, allow_private=self.allow_private)
        response, meta = send(
            client,
            client.build_request("GET", f"{issuer}/.well-known/oauth-authorization-server"),
            "Your Bluesky sign-in server",
        )
        if response.status_code != 200 or meta.get("issuer") != issuer:
            raise OAuthFailed("Your Bluesky sign-in server describes itself wrongly.")
        needs = (
            "S256" in (meta.get("code_challenge_methods_supported") or []),
            "ES256" in (meta.get("dpop_signing_alg_values_supported") or []),
            "none" in (meta.get("token_endpoint_auth_methods_supported") or []),
            bool(meta.get("client_id_metadata_document_supported")),
        )
        if not all(needs):
            raise OAuthFailed("Your Bluesky sign-in server does not offer what hashcart needs.")
        for name in ("pushed_authorization_request_endpoint", "authorization_endpoint"):
            if not isinstance(meta.get(name), str):
                raise OAuthFailed(f"Your Bluesky sign-in server names no {name}.")
        for name in ("pushed_authorization_request_endpoint", "token_endpoint"):
            value = meta.get(name)
            if not isinstance(value, str):
                raise OAuthFailed(f"Your Bluesky sign-in server names no {name}.")
            check_public_url(value, allow_private=self.allow_private)
        authorize = str(meta["authorization_endpoint"])
        if urlsplit(authorize).scheme not in ("https", "http" if self.allow_private else "https"):
            raise OAuthFailed("Your Bluesky sign-in page is not on https.")
        return meta
