"""Which schema revision is newest, and whether a SQLite file already has it, answered
without SQLAlchemy or Alembic.

Loading SQLAlchemy takes about 100 ms and Alembic about 80 ms more, while reading one row
with the standard library's sqlite3 takes well under one: a command that may have nothing
to do (`hashcart ingest` of an empty file) asks here first and opens the engine only when
there is work, or when the schema needs migrating (docs/benchmarks.md, "Start-up").
"""

from __future__ import annotations

import ast
import functools
import re
import sqlite3
from importlib.resources import files
from pathlib import Path

# `revision = "0005"` and `down_revision = "0004"` (a tuple in a merge, None at the root),
# with or without a type annotation, as Alembic's script template writes them.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)

# The one URL shape read here: a SQLite file named by its path, nothing else in the URL.
# Every other shape (in memory, a query such as `?timeout=5`, a driver name, escapes,
# PostgreSQL) is left to SQLAlchemy, which knows all their rules.
_PLAIN_SQLITE_FILE = "sqlite:///"
# A check that waits is no cheaper than SQLAlchemy: give up at once and let it decide.
_NO_WAIT_SECONDS = 0.0


@functools.cache
def migrations_head() -> str | None:
    """The newest migration's revision, read from the migration scripts' `revision` and
    `down_revision` lines without importing Alembic; None when that reading is unsure (a
    line it cannot read, several heads), and then Alembic decides. A test holds it equal to
    Alembic's own head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (files("hashcart.store") / "migrations" / "versions").iterdir():
        if not script.name.endswith(".py"):
            continue
        found = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found["down_revision"])
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        parents.update(down if isinstance(down, tuple) else () if down is None else (down,))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def sqlite_file_is_current(database_url: str) -> bool:
    """True when `database_url` is a plain `sqlite:///PATH` URL whose file exists and holds
    the newest schema, read with sqlite3 in read-only mode (nothing is created or changed).

    False means "not known to be current", never "broken": the URL has another shape, the
    file is missing, old, locked or unreadable, or the head is unsure. The caller then opens
    the database the usual way, which migrates it or reports the problem as it always has.
    """
    if not database_url.startswith(_PLAIN_SQLITE_FILE):
        return False
    path = database_url[len(_PLAIN_SQLITE_FILE) :]
    if not path or path == ":memory:" or any(mark in path for mark in "?#%"):
        return False
    head = migrations_head()
    if head is None:
        return False
    try:
        if not Path(path).is_file():  # (mode=ro would refuse it; this way, no error to read)
            return False
        uri = Path(path).absolute().as_uri() + "?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=_NO_WAIT_SECONDS)
        try:
            found = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            connection.close()
    except (sqlite3.Error, OSError, ValueError):  # a name too long, a NUL byte, no access
        return False
    return found == [(head,)]
