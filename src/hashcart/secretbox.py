"""Secrets at rest (OAuth tokens, network sessions, PKCE verifiers): Fernet with the
`token_key` setting, so a copied database alone gives no one a shopper's tokens."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hashcart.config import Settings
from hashcart.errors import HashcartError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

# `cryptography` is imported when a box is made, not with this module: every command
# reads the console's network settings through here, and most have no secret to open.


class NoTokenKey(HashcartError, RuntimeError):
    """Storing a token needs the `token_key` setting; the message says how to make one."""


class UnreadableSecret(HashcartError, ValueError):
    """Stored data that the current key cannot open (the key changed, or the data was edited)."""


class SecretBox:
    def __init__(self, key: str | bytes) -> None:
        from cryptography.fernet import Fernet

        self._fernet: Fernet
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as error:
            raise NoTokenKey(f"token_key is not a Fernet key: {error}") from error

    @classmethod
    def of(cls, settings: Settings) -> SecretBox:
        if settings.token_key is None:
            raise NoTokenKey(
                "set token_key (HASHCART_TOKEN_KEY) to store network tokens: "
                'python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            )
        return cls(settings.token_key.get_secret_value())

    def seal(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            value = json.loads(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError) as error:
            raise UnreadableSecret("stored secret cannot be read with this token_key") from error
        if not isinstance(value, dict):
            raise UnreadableSecret("stored secret is not an object")
        return value
