"""The handles the shop knows for accounts whose posts carry none (Bluesky's Jetstream gives a
DID only): one recorded for the account (`known_handles`), else the handle the shopper's link
carries (`account_links`). Identity stays the stable id; a handle is only what is shown."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select, tuple_

from hashcart.errors import HashcartError
from hashcart.store import schema as t
from hashcart.store.statements import dialect_insert

# A handle as networks spell them: a Bluesky domain handle, an X screen name, a Mastodon
# user@host. Anything else (control characters, markup, spaces, overlong text) is not kept.
_HANDLE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,252}(@[A-Za-z0-9.\-]{1,253})?")
MAX_HANDLE = 300


class NotAHandle(HashcartError, ValueError):
    """The text is not something a network would give as a handle."""


def clean_handle(handle: str) -> str:
    """`handle` without its '@', checked; raises NotAHandle."""
    bare = handle.strip().removeprefix("@")
    if len(bare) > MAX_HANDLE or not _HANDLE.fullmatch(bare):
        raise NotAHandle(f"not a handle: {handle[:40]!r}")
    return bare


def remember_handle(
    connection: Connection, network: str, account_id: str, handle: str, at: datetime
) -> None:
    """Record (or replace: handles change) the handle of `network`'s `account_id`."""
    values = {
        "network": network,
        "account_id": account_id,
        "handle": clean_handle(handle),
        "learned_at": at,
    }
    statement = dialect_insert(connection.dialect.name, t.known_handles).values(**values)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["network", "account_id"],
            set_={"handle": values["handle"], "learned_at": at},
        )
    )


def known_handles(
    connection: Connection, accounts: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """(network, account id) -> handle, for those of `accounts` the shop knows a handle of."""
    keys = sorted(set(accounts))
    if not keys:
        return {}
    found: dict[tuple[str, str], str] = {}
    links = connection.execute(
        select(t.account_links.c.network, t.account_links.c.account_id, t.account_links.c.handle)
        .where(tuple_(t.account_links.c.network, t.account_links.c.account_id).in_(keys))
        .where(t.account_links.c.handle.is_not(None), t.account_links.c.handle != "")
    )
    for row in links:
        found[(row.network, row.account_id)] = row.handle.removeprefix("@")
    recorded = connection.execute(
        select(
            t.known_handles.c.network, t.known_handles.c.account_id, t.known_handles.c.handle
        ).where(tuple_(t.known_handles.c.network, t.known_handles.c.account_id).in_(keys))
    )
    for row in recorded:  # what the shop recorded wins over what a link once carried
        found[(row.network, row.account_id)] = row.handle
    return found
