"""The short-link cache: where each short link led (or why it could not be followed).

A short link is followed once (see networks.shortlinks); every later post that carries it
reads the answer here, so a popular post's link costs one request, not one per reply."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from hashcart.ports import Clock, Resolution
from hashcart.store import schema as t
from hashcart.store.database import write_transaction
from hashcart.store.repository import upsert

__all__ = ["MAX_KEY_LENGTH", "Resolution", "StoredResolutions", "lookup", "record"]

# The cache's key column is this long; a longer link is followed but not cached.
MAX_KEY_LENGTH = 2048


def lookup(engine: Engine, url: str) -> Resolution | None:
    """What following `url` gave the last time, or None if it was never followed."""
    if len(url) > MAX_KEY_LENGTH:
        return None
    with engine.connect() as connection:
        row = connection.execute(
            select(t.resolved_links.c.target, t.resolved_links.c.problem).where(
                t.resolved_links.c.url == url
            )
        ).first()
    return None if row is None else Resolution(url, row.target, row.problem)


def record(engine: Engine, resolution: Resolution, at: datetime) -> None:
    """Remember `resolution` (the last writer wins if two processes followed the link)."""
    if len(resolution.url) > MAX_KEY_LENGTH:
        return
    with write_transaction(engine) as connection:
        connection.execute(
            upsert(connection.dialect.name, t.resolved_links, ["url"]),
            {
                "url": resolution.url,
                "target": resolution.target,
                "problem": resolution.problem,
                "resolved_at": at,
            },
        )


class StoredResolutions:
    """The short-link cache port (hashcart.ports.ResolvedLinks) in `resolved_links`."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def lookup(self, url: str) -> Resolution | None:
        return lookup(self.engine, url)

    def record(self, resolution: Resolution) -> None:
        record(self.engine, resolution, self.clock.now())
