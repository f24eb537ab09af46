"""The two pieces of OAuth that are no HTTP: random tokens (states, PKCE verifiers, DPoP
ids) and PKCE's S256 challenge (RFC 7636). The linking flow (services/oauth_links) makes
its states and verifiers with these; each network's sign-in (networks/oauth_http re-exports
them) uses them too, so there is one home for both."""

from __future__ import annotations

from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]


def random_token(length: int) -> str:
    """Letters and digits from the system's CSPRNG (Authlib's generate_token)."""
    return str(generate_token(length))


def s256(value: str) -> str:
    """base64url(SHA-256(value)) without padding: PKCE's S256 challenge, and DPoP's `ath`."""
    return str(create_s256_code_challenge(value))
