"""Stream cursors: where each listener got to, written in the same transaction as the batch
it follows (services/ingest), so a restart resumes exactly after what was kept and loses
nothing (the engine drops repeats)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from hashcart.ports import Cursor
from hashcart.store import schema as t
from hashcart.store.database import write_transaction
from hashcart.store.repository import dialect_insert, upsert


def load_cursor(engine: Engine, name: str) -> str | None:
    with engine.connect() as connection:
        return read_cursor(connection, name)


def read_cursor(connection: Connection, name: str) -> str | None:
    """The cursor `name` as the caller's transaction sees it; None if there is none."""
    value = connection.scalar(
        select(t.stream_cursors.c.value).where(t.stream_cursors.c.name == name)
    )
    return None if value is None else str(value)


def write_cursor(connection: Connection, name: str, value: str, at: datetime) -> None:
    """Set the cursor `name` in the caller's transaction."""
    connection.execute(
        upsert(connection.dialect.name, t.stream_cursors, ["name"]),
        {"name": name, "value": value, "updated_at": at},
    )


def save_cursor(engine: Engine, name: str, value: str, at: datetime) -> None:
    """Set the cursor `name` in a transaction of its own (tests and tools)."""
    with write_transaction(engine) as connection:
        write_cursor(connection, name, value, at)


class StoredCursors:
    """The stream cursors of one open transaction (ports.StreamCursors)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def read(self, name: str) -> str | None:
        return read_cursor(self.connection, name)

    def write(self, cursor: Cursor, at: datetime) -> None:
        write_cursor(self.connection, cursor.name, cursor.value, at)
        if cursor.revisions:
            write_revisions(self.connection, cursor.revisions, at)

    def read_revisions(self, dids: Sequence[str]) -> dict[str, str]:
        return read_revisions(self.connection, dids)


# Bound parameters per lookup: well below SQLite's and PostgreSQL's limits.
_LOOKUP_CHUNK = 500


def read_revisions(connection: Connection, dids: Sequence[str]) -> dict[str, str]:
    """The stored newest rev of each of `dids` that has one."""
    r = t.repository_revisions
    found: dict[str, str] = {}
    unique = sorted(set(dids))
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start : start + _LOOKUP_CHUNK]
        for did, rev in connection.execute(select(r.c.did, r.c.rev).where(r.c.did.in_(chunk))):
            found[str(did)] = str(rev)
    return found


def write_revisions(
    connection: Connection, revisions: Sequence[tuple[str, str]], at: datetime
) -> None:
    """Store each (DID, rev) unless the stored rev is already at or after it: TIDs sort as
    their strings do, and a second listener on the same database must not move one back."""
    rows = {did: rev for did, rev in revisions}
    r = t.repository_revisions
    insert: Any = dialect_insert(connection.dialect.name, r)
    statement = insert.on_conflict_do_update(
        index_elements=[r.c.did],
        set_={"rev": insert.excluded.rev, "updated_at": insert.excluded.updated_at},
        where=r.c.rev < insert.excluded.rev,
    )
    connection.execute(
        statement, [{"did": did, "rev": rev, "updated_at": at} for did, rev in rows.items()]
    )
