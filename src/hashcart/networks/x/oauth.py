"""Linking an X account: OAuth 2.0 authorization code with PKCE (S256), hashcart as a
confidential client (HTTP Basic with the client id and secret at the token and revoke
endpoints), then `GET /2/users/me` for the account's stable id.

docs.x.com: fundamentals/authentication/oauth-2-0/user-access-token (authorize
`x.com/i/oauth2/authorize`, token `POST /2/oauth2/token`, revoke `POST /2/oauth2/revoke`;
an authorization code lives 30 s, an access token 2 h, a refresh token needs
`offline.access`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from hashcart.config import Settings
from hashcart.domain.posts import Network
from hashcart.networks.oauth_http import error_of, http_client, send
from hashcart.ports import (
    Authorization,
    OAuthFailed,
    OAuthUnavailable,
    PendingSignIn,
    ProvenAccount,
    StartInput,
    TokenSet,
)

SCOPES = "tweet.read users.read offline.access"
# The shop's own account (issue 14's Connect): post replies, send direct messages, and keep
# going past the 2-hour access token (docs.x.com fundamentals/authentication/oauth-2-0/
# authorization-code, "Scopes").
SHOP_SCOPES = "tweet.read tweet.write users.read dm.write offline.access"


class XOAuth:
    """X's sign-in for one shop's app (client id and secret from the settings)."""

    network = Network.X

    def __init__(
        self,
        api_url: str,
        authorize_url: str,
        client_id: str,
        client_secret: str | None,
        scopes: str = SCOPES,
    ):
        self.api_url = api_url.rstrip("/")
        self.authorize_url = authorize_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes

    @classmethod
    def from_settings(cls, settings: Settings, scopes: str = SCOPES) -> XOAuth:
        if not settings.x_client_id:
            raise OAuthUnavailable(
                "Linking an X account by sign-in is not set up in this shop (no X client id). "
                "Use the one-time code below instead."
            )
        secret = settings.x_client_secret.get_secret_value() if settings.x_client_secret else None
        return cls(
            settings.x_api_url, settings.x_authorize_url, settings.x_client_id, secret, scopes
        )

    def authorize(self, start: StartInput) -> Authorization:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": start.redirect_uri,
                "scope": self.scopes,
                "state": start.state,
                "code_challenge": start.code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return Authorization(f"{self.authorize_url}?{query}")

    def exchange(
        self, code: str, callback: Mapping[str, str], pending: PendingSignIn
    ) -> ProvenAccount:
        with http_client() as client:
            tokens = self._token(
                client,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": pending.redirect_uri,
                    "code_verifier": pending.code_verifier,
                },
                "the sign-in",
            )
            account_id, username = self._users_me(client, tokens.access_token)
        return ProvenAccount(account_id, username, tokens)

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new token pair for a refresh token (X rotates refresh tokens: the old one is
        spent once this answers)."""
        with http_client() as client:
            return self._token(
                client,
                {"grant_type": "refresh_token", "refresh_token": refresh_token},
                "to refresh the token",
            )

    def _token(self, client: httpx.Client, fields: dict[str, str], what: str) -> TokenSet:
        """POST the token endpoint with `fields`, authenticated as this client."""
        response, answer = send(
            client,
            client.build_request(
                "POST",
                f"{self.api_url}/2/oauth2/token",
                data={**fields, **self._client_in_body()},
                headers=self._client_auth(),
            ),
            "X",
        )
        if response.status_code != 200:
            raise OAuthFailed(f"X refused {what} ({error_of(answer)}).")
        return _token_set(answer)

    def revoke(self, server: str | None, secrets: Mapping[str, Any]) -> None:
        """Revoke the refresh token (which ends the grant) and the access token."""
        with http_client() as client:
            for hint in ("refresh_token", "access_token"):
                token = secrets.get(hint)
                if not token:
                    continue
                response, answer = send(
                    client,
                    client.build_request(
                        "POST",
                        f"{self.api_url}/2/oauth2/revoke",
                        data={
                            "token": str(token),
                            "token_type_hint": hint,
                            **self._client_in_body(),
                        },
                        headers=self._client_auth(),
                    ),
                    "X",
                )
                if response.status_code != 200:
                    raise OAuthFailed(f"X refused to revoke ({error_of(answer)}).")

    def _users_me(self, client: httpx.Client, access_token: str) -> tuple[str, str]:
        """The signed-in account's id (what links it: usernames change) and username."""
        response, answer = send(
            client,
            client.build_request(
                "GET",
                f"{self.api_url}/2/users/me",
                headers={"Authorization": f"Bearer {access_token}"},
            ),
            "X",
        )
        if response.status_code != 200:
            raise OAuthFailed(f"X answered {response.status_code} when asked who signed in.")
        data = answer.get("data")
        account_id = data.get("id") if isinstance(data, dict) else None
        username = data.get("username") if isinstance(data, dict) else None
        if not isinstance(account_id, str) or not account_id.isdigit():
            raise OAuthFailed("X did not say which account signed in.")
        return account_id, str(username or "")[:100]

    def _client_auth(self) -> dict[str, str]:
        """A confidential client authenticates with HTTP Basic (client id : secret)."""
        if not self.client_secret:
            return {}
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    def _client_in_body(self) -> dict[str, str]:
        """A public client (no secret) names itself in the form instead."""
        return {} if self.client_secret else {"client_id": self.client_id}


def _token_set(token: Mapping[str, Any]) -> TokenSet:
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthFailed("X answered without an access token.")
    refresh = token.get("refresh_token")
    expires_in = token.get("expires_in")
    scope = token.get("scope")
    return TokenSet(
        access,
        refresh if isinstance(refresh, str) else None,
        float(expires_in) if isinstance(expires_in, int | float) else None,
        scope if isinstance(scope, str) else None,
    )
