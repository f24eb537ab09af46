"""People who sign in: shoppers (customers with a password), merchants, their sessions,
failed sign-ins and password-reset links. Secrets arrive here already hashed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, insert, select, update

from hashcart.store import schema as t

Kind = Literal["shopper", "merchant"]
NOTIFY_CHOICES = ("public_reply", "private_message", "email_only")


@dataclass(frozen=True)
class Person:
    """A shopper (a customer row) or a merchant, as the web sees them."""

    kind: Kind
    id: int
    email: str
    name: str | None
    password_hash: str | None
    notify_by: str = "public_reply"


@dataclass(frozen=True)
class Session:
    kind: Kind
    subject_id: int
    csrf_token: str
    expires_at: datetime


def _person_table(kind: Kind) -> Any:
    return t.customers if kind == "shopper" else t.merchants


def find_person(
    connection: Connection, kind: Kind, *, email: str | None = None, person_id: int | None = None
) -> Person | None:
    table = _person_table(kind)
    query = select(table)
    if email is not None:
        query = query.where(func.lower(table.c.email) == email.lower())
    if person_id is not None:
        query = query.where(table.c.id == person_id)
    row = connection.execute(query).first()
    if row is None:
        return None
    values = row._mapping
    return Person(
        kind=kind,
        id=values["id"],
        email=values["email"],
        name=values.get("name"),
        password_hash=values["password_hash"],
        notify_by=values.get("notify_by", "public_reply"),
    )


def add_shopper(
    connection: Connection, email: str, name: str | None, password_hash: str, at: datetime
) -> int | None:
    """A new shopper, or a password for a customer the shop already had without one.
    None when the email already belongs to someone who can sign in."""
    existing = find_person(connection, "shopper", email=email)
    if existing is not None:
        if existing.password_hash is not None:
            return None
        connection.execute(
            update(t.customers)
            .where(t.customers.c.id == existing.id)
            .values(password_hash=password_hash, name=existing.name or name)
        )
        return existing.id
    result = connection.execute(
        insert(t.customers).values(
            email=email, name=name, password_hash=password_hash, created_at=at
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def add_merchant(connection: Connection, email: str, password_hash: str, at: datetime) -> bool:
    """A merchant, or a new password for an existing one; True if the merchant is new."""
    existing = find_person(connection, "merchant", email=email)
    if existing is not None:
        connection.execute(
            update(t.merchants)
            .where(t.merchants.c.id == existing.id)
            .values(password_hash=password_hash)
        )
        return False
    connection.execute(
        insert(t.merchants).values(email=email, password_hash=password_hash, created_at=at)
    )
    return True


def set_password(connection: Connection, kind: Kind, person_id: int, password_hash: str) -> None:
    table = _person_table(kind)
    connection.execute(
        update(table).where(table.c.id == person_id).values(password_hash=password_hash)
    )


# sessions ------------------------------------------------------------------------------


def start_session(
    connection: Connection,
    token_hash: str,
    kind: Kind,
    subject_id: int,
    csrf_token: str,
    at: datetime,
    expires_at: datetime,
) -> None:
    connection.execute(
        insert(t.web_sessions).values(
            token_hash=token_hash,
            kind=kind,
            subject_id=subject_id,
            csrf_token=csrf_token,
            created_at=at,
            expires_at=expires_at,
        )
    )


def find_session(
    connection: Connection, token_hash: str, kind: Kind, now: datetime
) -> Session | None:
    row = connection.execute(
        select(t.web_sessions).where(
            t.web_sessions.c.token_hash == token_hash,
            t.web_sessions.c.kind == kind,
            t.web_sessions.c.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    return Session(row.kind, row.subject_id, row.csrf_token, row.expires_at)


def end_session(connection: Connection, token_hash: str) -> None:
    connection.execute(delete(t.web_sessions).where(t.web_sessions.c.token_hash == token_hash))


def end_all_sessions(connection: Connection, kind: Kind, subject_id: int) -> None:
    """Sign someone out everywhere (after a password reset, or when the account goes)."""
    connection.execute(
        delete(t.web_sessions).where(
            t.web_sessions.c.kind == kind, t.web_sessions.c.subject_id == subject_id
        )
    )


# failed sign-ins -----------------------------------------------------------------------
# A sign-in attempt is written here before its password is checked, and removed when it
# succeeds (or is turned away unchecked): the rows under a key are its failed sign-ins and
# those still being checked.


def record_sign_in_attempt(connection: Connection, keys: list[str], at: datetime) -> list[int]:
    """One row per key for an attempt; their ids, to take the attempt back later."""
    return [
        int(
            connection.execute(
                insert(t.sign_in_failures).values(key=key, at=at).returning(t.sign_in_failures.c.id)
            ).scalar_one()
        )
        for key in keys
    ]


def withdraw_sign_in_attempt(connection: Connection, row_ids: list[int]) -> None:
    connection.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.id.in_(row_ids)))


def sign_in_failures_since(connection: Connection, key: str, since: datetime) -> int:
    return int(
        connection.execute(
            select(func.count()).where(
                t.sign_in_failures.c.key == key, t.sign_in_failures.c.at > since
            )
        ).scalar_one()
    )


def forget_sign_in_failures(connection: Connection, key: str) -> None:
    connection.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.key == key))


# password resets -----------------------------------------------------------------------


def add_password_reset(
    connection: Connection, token_hash: str, customer_id: int, expires_at: datetime
) -> None:
    connection.execute(
        insert(t.password_resets).values(
            token_hash=token_hash, customer_id=customer_id, expires_at=expires_at
        )
    )


def use_password_reset(connection: Connection, token_hash: str, now: datetime) -> int | None:
    """The customer a live reset link belongs to, marking it used; None if it is not live."""
    row = connection.execute(
        update(t.password_resets)
        .where(
            t.password_resets.c.token_hash == token_hash,
            t.password_resets.c.used_at.is_(None),
            t.password_resets.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(t.password_resets.c.customer_id)
    ).first()
    return None if row is None else int(row.customer_id)


def password_reset_is_live(connection: Connection, token_hash: str, now: datetime) -> bool:
    return (
        connection.execute(
            select(t.password_resets.c.customer_id).where(
                t.password_resets.c.token_hash == token_hash,
                t.password_resets.c.used_at.is_(None),
                t.password_resets.c.expires_at > now,
            )
        ).first()
        is not None
    )
