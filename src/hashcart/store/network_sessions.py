"""Network sessions of the shop's own account (X's OAuth token set, the Bluesky login), kept
sealed in `network_sessions`: the sealed-sessions port (hashcart.ports.SealedSessions)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from hashcart.ports import Clock
from hashcart.store import schema as t
from hashcart.store.database import write_transaction
from hashcart.store.repository import upsert


class StoredSessions:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def read(self, name: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.scalar(
                select(t.network_sessions.c.secret_data).where(t.network_sessions.c.name == name)
            )

    def keep(self, name: str, sealed: str) -> None:
        with write_transaction(self.engine) as connection:
            connection.execute(
                upsert(connection.dialect.name, t.network_sessions, ["name"]),
                {"name": name, "secret_data": sealed, "updated_at": self.clock.now()},
            )
