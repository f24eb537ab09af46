"""Stream cursors: where each listener got to, saved only after what came before it is
committed, so a restart resumes from there and loses nothing (the engine drops repeats)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from hashcart.store import schema as t
from hashcart.store.repository import upsert


def load_cursor(engine: Engine, name: str) -> str | None:
    with engine.connect() as connection:
        return connection.scalar(
            select(t.stream_cursors.c.value).where(t.stream_cursors.c.name == name)
        )


def save_cursor(engine: Engine, name: str, value: str, at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            upsert(connection.dialect.name, t.stream_cursors, ["name"]),
            {"name": name, "value": value, "updated_at": at},
        )
