"""Random secrets handed to people (session cookies, reset links, API tokens), stored hashed."""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    """32 random bytes, URL-safe: unguessable, fit for a cookie or a link."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database keeps instead of the secret (SHA-256, hex). The secrets are random
    and long, so a plain hash is enough: there is nothing to guess."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
