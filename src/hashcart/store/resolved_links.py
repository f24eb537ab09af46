"""The short-link cache: where each short link led (or why it could not be followed).

A short link is followed once (see networks.shortlinks); every later post that carries it
reads the answer here, so a popular post's link costs one request, not one per reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from hashcart.store import schema as t
from hashcart.store.repository import upsert

# The cache's key column is this long; a longer link is followed but not cached.
MAX_KEY_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class Resolution:
    """A short link's outcome: its `target`, or the `problem` that stopped us."""

    url: str
    target: str | None
    problem: str | None


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
    with engine.begin() as connection:
        connection.execute(
            upsert(connection.dialect.name, t.resolved_links, ["url"]),
            {
                "url": resolution.url,
                "target": resolution.target,
                "problem": resolution.problem,
                "resolved_at": at,
            },
        )
