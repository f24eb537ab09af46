"""The dialects' INSERT … ON CONFLICT statements, shared by the store's modules.

A leaf of the store package (it imports only the schema), so any store module can build its
statements without importing the repository (store/buys uses store/stock and the repository
exposes the buys: the repository importing them must not be imported back).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Insert, Table, literal_column

from hashcart.store import schema as t

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert


def dialect_insert(dialect: str, table: Table) -> PostgresInsert | SqliteInsert:
    """An INSERT with `dialect`'s ON CONFLICT clauses. Each dialect's module is imported when
    first asked for, so a SQLite process never loads PostgreSQL's (about 20 ms at start)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


@functools.cache
def insert_ignoring(dialect: str, table_name: str) -> Insert:
    """One statement object per table, built once: SQLAlchemy then compiles it once too."""
    table = t.metadata.tables[table_name]
    insert = dialect_insert(dialect, table)
    return insert.on_conflict_do_nothing().returning(literal_column("1"))


def upsert(dialect: str, table: Table, keys: Sequence[str]) -> Insert:
    """Insert a row, or overwrite every other column of the row with the same `keys`."""
    insert = dialect_insert(dialect, table)
    excluded = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[table.c[name] for name in keys],
        set_={c.name: excluded[c.name] for c in table.columns if c.name not in keys},
    )
