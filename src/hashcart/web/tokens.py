"""Random secrets handed to people (session cookies, reset links, API tokens), stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from hashcart.errors import HashcartError

if TYPE_CHECKING:
    from sqlalchemy import Connection


def new_secret() -> str:
    """32 random bytes, URL-safe: unguessable, fit for a cookie or a link."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database keeps instead of the secret (SHA-256, hex). The secrets are random
    and long, so a plain hash is enough: there is nothing to guess."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# --- merchant API tokens: one way to name and make one, for `hashcart tokens` and the
# console's /merchant/tokens page ------------------------------------------------------

# A prefix people and secret scanners recognise; the rest is 32 random bytes.
TOKEN_PREFIX = "hc_"
MAX_NAME_CHARS = 100


class TokenNameError(HashcartError, ValueError):
    """A token name the shop does not keep (blank, or too long); the message says which."""


def token_label(name: str | None, now: datetime) -> str:
    """The name a token is kept under: `name` with its spaces collapsed, or, without one,
    the time it was made."""
    if name is None:
        return f"made {now:%Y-%m-%d %H:%M:%S} UTC"
    label = " ".join(name.split())
    if not label:
        raise TokenNameError("a token needs a name")
    if len(label) > MAX_NAME_CHARS:
        raise TokenNameError(f"a token name has at most {MAX_NAME_CHARS} characters")
    return label


def create_api_token(connection: Connection, label: str, now: datetime) -> tuple[int, str]:
    """Make a token under `label`: its id and the token itself, which is not kept (only its
    hash is) and so can be shown this once."""
    from hashcart.store import api_tokens

    token = TOKEN_PREFIX + new_secret()
    return api_tokens.create_token(connection, label, digest(token), now), token
