"""Merchant API tokens: the table keeps each token's SHA-256 only (`web.tokens.digest`), so a
copy of the database cannot call the API; a token is shown once, when it is made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from hashcart.store import schema as t

# A token's last use is written down at most this often (the console and `hashcart tokens
# list` show it to the minute).
USE_MARKED_WITHIN = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _token(row: Row[*tuple[Any, ...]]) -> ApiToken:
    values = row._mapping
    created = values["created_at"]
    assert created is not None
    return ApiToken(
        id=values["id"],
        name=values["name"],
        created_at=created,
        last_used_at=values["last_used_at"],
        revoked_at=values["revoked_at"],
    )


_COLUMNS = (
    t.api_tokens.c.id,
    t.api_tokens.c.name,
    t.api_tokens.c.created_at,
    t.api_tokens.c.last_used_at,
    t.api_tokens.c.revoked_at,
)


def create_token(connection: Connection, name: str, token_hash: str, now: datetime) -> int:
    """Store a new token's hash under `name`; its id."""
    result = connection.execute(
        insert(t.api_tokens)
        .values(name=name, token_hash=token_hash, created_at=now)
        .returning(t.api_tokens.c.id)
    )
    return int(result.scalar_one())


def list_tokens(connection: Connection) -> list[ApiToken]:
    rows = connection.execute(select(*_COLUMNS).order_by(t.api_tokens.c.id))
    return [_token(row) for row in rows]


def find_token(connection: Connection, token_id: int) -> ApiToken | None:
    row = connection.execute(select(*_COLUMNS).where(t.api_tokens.c.id == token_id)).first()
    return None if row is None else _token(row)


def active_token(connection: Connection, token_hash: str) -> ApiToken | None:
    """The active token with this hash (a read); None if unknown or revoked."""
    row = connection.execute(
        select(*_COLUMNS).where(
            t.api_tokens.c.token_hash == token_hash, t.api_tokens.c.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else _token(row)


def needs_marking(token: ApiToken, now: datetime) -> bool:
    """Whether `token`'s last use is worth writing down again: it was never marked, or not
    within USE_MARKED_WITHIN (shown to the minute). Writing it on every request took the
    database's write lock for every API read."""
    return token.last_used_at is None or now - token.last_used_at >= USE_MARKED_WITHIN


def mark_used(connection: Connection, token_id: int, now: datetime) -> None:
    connection.execute(
        update(t.api_tokens).where(t.api_tokens.c.id == token_id).values(last_used_at=now)
    )


def revoke_token(connection: Connection, token_id: int, now: datetime) -> bool:
    """Revoke a token for good; False if it was already revoked (the first time stays)."""
    result = connection.execute(
        update(t.api_tokens)
        .where(t.api_tokens.c.id == token_id, t.api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0
