"""DPoP (RFC 9449) for AT Protocol OAuth: a fresh ES256 key per sign-in, a signed proof on
every request to the authorization server (and with the access token, `ath`), and the
server's nonces: a request answered `use_dpop_nonce` is sent once more with the nonce from
the `DPoP-Nonce` header, and the newest nonce is kept for the next request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from hashcart.networks.oauth_http import random_token, s256, send
from hashcart.ports import OAuthFailed

NONCE_HEADER = "DPoP-Nonce"


class DPoPKey:
    """The key that binds a session's tokens to hashcart (kept sealed with them)."""

    def __init__(self, key: ECKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> DPoPKey:
        return cls(ECKey.generate_key("P-256", private=True))

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> DPoPKey:
        try:
            key = ECKey.import_key(dict(jwk))
        except (ValueError, TypeError, KeyError) as error:
            raise OAuthFailed("The stored DPoP key cannot be read.") from error
        return cls(key)

    def private_jwk(self) -> dict[str, Any]:
        return dict(self._key.as_dict(private=True))

    def public_jwk(self) -> dict[str, Any]:
        return dict(self._key.as_dict(private=False))

    def proof(
        self, method: str, url: str, *, nonce: str | None = None, access_token: str | None = None
    ) -> str:
        """A DPoP proof for one request. Its time is the wall clock, not the shop's clock:
        the server checks `iat` against its own time."""
        claims: dict[str, Any] = {
            "jti": random_token(24),
            "htm": method.upper(),
            "htu": target_uri(url),
            "iat": int(time.time()),
        }
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            # `ath` is the base64url SHA-256 of the token: the same computation as PKCE S256.
            claims["ath"] = s256(access_token)
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.public_jwk()}
        return jwt.encode(header, claims, self._key, algorithms=["ES256"])


def target_uri(url: str) -> str:
    """`htu`: the request's URL without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def post_form(
    client: httpx.Client,
    key: DPoPKey,
    url: str,
    form: Mapping[str, str],
    nonce: str | None,
    what: str,
) -> tuple[httpx.Response, dict[str, Any], str | None]:
    """POST a form with a DPoP proof; once more with the server's nonce if it asks for one.
    Returns the response, its JSON, and the newest nonce the server gave."""
    for _attempt in range(2):
        request = client.build_request(
            "POST", url, data=dict(form), headers={"DPoP": key.proof("POST", url, nonce=nonce)}
        )
        response, answer = send(client, request, what)
        nonce = response.headers.get(NONCE_HEADER) or nonce
        asks_for_nonce = response.status_code in (400, 401) and (
            answer.get("error") == "use_dpop_nonce"
        )
        if not asks_for_nonce:
            break
    return response, answer, nonce


class DPoPBinding:
    """A session's DPoP key as a resource server (the PDS) sees it: every call carries a
    proof with the access token's hash (`ath`), and the newest nonce the PDS gave."""

    def __init__(self, key: DPoPKey, nonce: str | None = None) -> None:
        self.key = key
        self.nonce = nonce

    def headers(self, method: str, url: str, access_token: str) -> dict[str, str]:
        proof = self.key.proof(method, url, nonce=self.nonce, access_token=access_token)
        return {"Authorization": f"DPoP {access_token}", "DPoP": proof}

    def learn(self, headers: Mapping[str, str]) -> bool:
        """Keep the nonce an answer carries; whether it was a new one."""
        nonce = headers.get(NONCE_HEADER)
        if not nonce or nonce == self.nonce:
            return False
        self.nonce = nonce
        return True
