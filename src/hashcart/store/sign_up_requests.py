"""Sign-ups waiting for their emailed link (schema.sign_up_requests). The link's token
arrives here already hashed; a request is taken once, while it is live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from hashcart.store import schema as t

_r = t.sign_up_requests


@dataclass(frozen=True)
class SignUpRequest:
    email: str
    name: str | None
    password_hash: str
    next_path: str


def add_request(
    connection: Connection,
    token_hash: str,
    request: SignUpRequest,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Keep a sign-up until its link is followed; the expired ones go as a new one comes,
    so the table holds only live requests."""
    connection.execute(delete(_r).where(_r.c.expires_at <= now))
    connection.execute(
        insert(_r).values(
            token_hash=token_hash,
            email=request.email,
            name=request.name,
            password_hash=request.password_hash,
            next_path=request.next_path,
            created_at=now,
            expires_at=expires_at,
        )
    )


def live_request(connection: Connection, token_hash: str, now: datetime) -> SignUpRequest | None:
    row = connection.execute(
        select(_r.c.email, _r.c.name, _r.c.password_hash, _r.c.next_path).where(
            _r.c.token_hash == token_hash, _r.c.expires_at > now
        )
    ).first()
    return (
        None
        if row is None
        else SignUpRequest(row.email, row.name, row.password_hash, row.next_path)
    )


def take_request(connection: Connection, token_hash: str, now: datetime) -> SignUpRequest | None:
    """The live request, deleted in the caller's transaction: of two takes at once (a
    double click, a replayed form) one gets it, the other None."""
    found = live_request(connection, token_hash, now)
    if found is None:
        return None
    taken = connection.execute(delete(_r).where(_r.c.token_hash == token_hash)).rowcount
    return found if taken == 1 else None
