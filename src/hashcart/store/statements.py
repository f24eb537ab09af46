"""The dialects' INSERT … ON CONFLICT statements and PostgreSQL's JSON recordsets, shared by
the store's modules.

A leaf of the store package (it imports only the schema), so any store module can build its
statements without importing the repository (store/buys uses store/stock and the repository
exposes the buys: the repository importing them must not be imported back).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Connection, Insert, Table, TextClause, literal_column, text

from hashcart.store import schema as t

_LENGTH = re.compile(r"\(.*?\)")

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


def json_records(columns: Mapping[str, str], parameter: str = "rows") -> str:
    """PostgreSQL: `json_to_recordset` of one JSON parameter (`records_of`'s text), its
    columns typed, as a FROM item named `r`. A bulk statement's rows as one string instead
    of one array parameter a column: psycopg dumps a Python list into an array's text
    element by element in Python (about 1.6 µs an element, measured), which for a live sale's
    burst of claims and replies cost more than PostgreSQL took to write the rows; msgspec
    encodes the same rows about a hundred times faster and the server reads JSON in C."""
    typed = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
    return f"json_to_recordset(CAST(:{parameter} AS json)) AS r({typed})"


def records_of(rows: Iterable[Mapping[str, Any]]) -> str:
    """`json_records`' parameter: the rows as JSON (aware datetimes as RFC 3339 in their
    own offset, which timestamptz reads exactly; None as null)."""
    return _JSON.encode(list(rows)).decode()


def json_values(values: Iterable[Any]) -> str:
    """Many values as one JSON array parameter (`json_array_elements_text(CAST(:p AS json))`
    on PostgreSQL): a statement's text the same whatever their number, so it is prepared
    once, and nothing dumped value by value in Python."""
    return _JSON.encode(list(values)).decode()


_JSON = msgspec.json.Encoder()


def insert_rows_ignoring(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
    *,
    as_json: bool = False,
) -> list[Sequence[Any]]:
    """INSERT … ON CONFLICT DO NOTHING of many rows (each with the same keys); the
    `returning` columns of the rows that went in.

    On PostgreSQL one statement of arrays (`unnest`), whose text is the same whatever the
    number of rows: psycopg converts a statement's text once and caches it only under 4,096
    characters and 50 parameters, so the many-row form SQLAlchemy builds for an executemany
    with RETURNING (one `VALUES (…), (…)` page a batch size) was parsed again with a regular
    expression at every batch: 22 % of a bus worker's CPU (docs/benchmarks.md, "The bus,
    fourth pass"). Elsewhere SQLAlchemy's statement.

    `as_json`: on PostgreSQL the rows go as one JSON parameter (`json_records`) instead of
    one array a column: psycopg dumps an array element by element in Python, which for the
    outbox's rows of a live sale's burst (nine columns, a thousand rows a settle step) was
    7 % of the ingest's CPU. For rows of our own making (the outbox's): a stranger's text
    that PostgreSQL cannot hold (a NUL) fails in both forms, but with other words."""
    if not rows:
        return []
    if connection.dialect.name != "postgresql":
        statement = _returning_insert(connection.dialect.name, table, tuple(returning))
        return list(connection.execute(statement, list(rows)))
    names = tuple(rows[0])
    if as_json:
        processors = {name: table.c[name].type.bind_processor(connection.dialect) for name in names}
        encoded = records_of(
            {
                name: process(row[name]) if process else row[name]
                for name, process in processors.items()
            }
            for row in rows
        )
        inserting = _json_insert(table, names, tuple(returning))
        return list(connection.execute(inserting, {"rows": encoded}))
    arrays: dict[str, list[Any]] = {}
    for name in names:
        process = table.c[name].type.bind_processor(connection.dialect)
        values = [row[name] for row in rows]
        arrays[name] = [process(value) for value in values] if process else values
    return list(connection.execute(_unnested_insert(table, names, tuple(returning)), arrays))


@functools.cache
def _returning_insert(dialect: str, table: Table, returning: tuple[str, ...]) -> Insert:
    """Built once (building a statement per call costs more than running it)."""
    insert = dialect_insert(dialect, table).on_conflict_do_nothing()
    return insert.returning(*(table.c[name] for name in returning))


@functools.cache
def _unnested_insert(
    table: Table, names: tuple[str, ...], returning: tuple[str, ...]
) -> TextClause:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    # Each array as its column's type without a length: an explicit CAST to varchar(n)
    # would cut a longer text short where the INSERT refuses it.
    arrays = ", ".join(
        f"CAST(:{name} AS {_LENGTH.sub('', table.c[name].type.compile(dialect=dialect))}[])"
        for name in names
    )
    return text(
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT DO NOTHING RETURNING {', '.join(returning)}"
    )


@functools.cache
def _json_insert(table: Table, names: tuple[str, ...], returning: tuple[str, ...]) -> TextClause:
    """`insert_rows_ignoring`'s statement with its rows as one JSON parameter."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    # Each column's type without a length, as in `_unnested_insert`.
    columns = {name: _LENGTH.sub("", table.c[name].type.compile(dialect=dialect)) for name in names}
    selected = ", ".join(f'r."{name}"' for name in names)
    return text(
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {selected} FROM {json_records(columns)} "
        f"ON CONFLICT DO NOTHING RETURNING {', '.join(returning)}"
    )
