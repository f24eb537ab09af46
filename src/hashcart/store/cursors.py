"""Stream cursors: where each listener got to, written in the same transaction as the batch
it follows (services/ingest), so a restart resumes exactly after what was kept and loses
nothing (the engine drops repeats)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select

from hashcart.ports import Cursor
from hashcart.store import schema as t
from hashcart.store.database import write_transaction
from hashcart.store.repository import upsert


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
