"""Secrets at rest (OAuth tokens, network sessions, PKCE verifiers): Fernet with the
`token_key` setting, so a copied database alone gives no one a shopper's tokens."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

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


# --- the token key kept in a file (issue 14) -------------------------------------------
# Without a `token_key` setting, the first start makes one and keeps it in a file only its
# owner can read: beside a SQLite database (`hashcart.db` → `hashcart.db.token_key`), or
# for PostgreSQL (and in-memory SQLite) beside the settings file, else in the working
# directory (`hashcart.token_key`). Every later start reads it back.

TOKEN_KEY_SUFFIX = ".token_key"
DEFAULT_TOKEN_KEY_FILE = "hashcart.token_key"


# `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite+pysqlite:///…`, a query after.
_SQLITE_FILE = re.compile(r"sqlite(?:\+\w+)?:///(?P<path>[^?]*)(?:\?.*)?", re.DOTALL)


class TokenKeyFileError(HashcartError, PermissionError):
    """The token key file is readable by others, or unreadable: hashcart does not start."""


def token_key_path(database_url: str, config_file: Path | None = None) -> Path:
    """Where the token key of this database is kept when no `token_key` is set. The URL is
    read without SQLAlchemy: commands that never open the database do not import it."""
    sqlite = _SQLITE_FILE.fullmatch(database_url.strip())
    if sqlite is not None:
        database = sqlite["path"]
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            return path.with_name(path.name + TOKEN_KEY_SUFFIX)
    folder = config_file.parent if config_file is not None else Path.cwd()
    return folder / DEFAULT_TOKEN_KEY_FILE


def read_token_key(path: Path) -> str:
    """The key in `path`; refused when others may read the file (it opens every sealed
    token) or when it holds no Fernet key."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise TokenKeyFileError(
            f"the token key file {path} can be read by others (mode {mode:04o}): "
            f"run chmod 600 {path}, or set token_key (HASHCART_TOKEN_KEY)"
        )
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise TokenKeyFileError(f"the token key file {path} cannot be read: {error}") from error
    SecretBox(key)  # NoTokenKey with the reason when it is no key
    return key


def ensure_token_key_file(path: Path) -> str:
    """The key in `path`, made there (mode 0600, created exclusively so two first starts
    agree on one key) when the file does not exist yet."""
    from cryptography.fernet import Fernet

    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token_key(path)
    key = Fernet.generate_key().decode()
    with os.fdopen(handle, "w", encoding="ascii") as file:
        file.write(key + "\n")
    return key


def with_token_key(settings: Settings, config_file: Path | None, *, create: bool) -> Settings:
    """`settings` with a `token_key`: the set one, else the file's (made first when
    `create`, i.e. on a start of serve, listen or dispatch). Unchanged when none is set,
    no file exists and `create` is false."""
    if settings.token_key is not None:
        return settings
    path = token_key_path(settings.database_url, config_file)
    if create:
        key = ensure_token_key_file(path)
    elif path.exists():
        key = read_token_key(path)
    else:
        return settings
    return settings.model_copy(update={"token_key": SecretStr(key)})
