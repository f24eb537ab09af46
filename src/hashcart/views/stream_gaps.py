"""The last gap each stream listener found on resuming (a `<listener>.gap` entry of
`stream_cursors`, kept by the listener with what it read again: networks/bluesky/jetstream),
in one line for the console's Networks page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select

from hashcart.store import schema as t

_SUFFIX = ".gap"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def last_gaps(connection: Connection) -> dict[str, str]:
    """{listener name: "<from> to <to>: <what was read again>"} for listeners that kept one."""
    rows = connection.execute(
        select(t.stream_cursors.c.name, t.stream_cursors.c.value).where(
            t.stream_cursors.c.name.like(f"%{_SUFFIX}")
        )
    )
    gaps: dict[str, str] = {}
    for name, value in rows:
        line = _line(value)
        if line is not None:
            gaps[name.removesuffix(_SUFFIX)] = line
    return gaps


def _line(value: str) -> str | None:
    try:
        gap = json.loads(value)
        since, until = _when(gap["since_us"]), _when(gap["until_us"])
        note = str(gap["note"])[:300]
    except (ValueError, KeyError, TypeError, OverflowError):
        return None
    return f"{since} to {until}: {note}"


def _when(us: object) -> str:
    if not isinstance(us, int):
        raise TypeError("not a time")
    return (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%d %H:%M UTC")
