"""The dialects' INSERT … ON CONFLICT statements and PostgreSQL's JSON recordsets, shared by
the store's modules.

A leaf of the store package (it imports only the schema), so any store module can build its
statements without importing the repository (store/buys uses store/stock and the repository
exposes the buys: the repository importing them must not be imported back).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Boolean, Connection, Dialect, Insert, Table, TextClause, literal_column, text
from sqlalchemy.exc import DBAPIError

from hashcart.store import schema as t
from hashcart.store.driver_rows import rows_on_driver

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


def planned_count(count: int) -> int:
    """The LIMIT of a JSON recordset of `count` rows: the next power of two, which cuts none.

    The LIMIT tells PostgreSQL's planner how few the rows are (it guesses 100 for any
    function's: see keyed_reads). As a bound parameter it made every execution of a prepared
    statement plan again: a custom plan with the actual LIMIT always looked cheaper than
    the generic one, which must guess it, so the plan cache never kept one. Four statements
    of a bus batch were planned at every call, 0.6-0.75 ms of the server's 2.4-2.8 ms a batch
    of two posts (docs/benchmarks.md, "s27-pgbatch"). Written into the text instead
    (`literal_execute`), rounded up so that a few texts serve every size, each statement
    is planned a few times and then runs its kept plan."""
    return 1 << max(0, count - 1).bit_length()


def records_of(rows: Iterable[Mapping[str, Any]]) -> str:
    """`json_records`' parameter: the rows as JSON (aware datetimes as RFC 3339 in their
    own offset, which timestamptz reads exactly; None as null)."""
    return _JSON.encode(list(rows)).decode()


_JSON = msgspec.json.Encoder()


def insert_rows_ignoring(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
) -> list[Sequence[Any]]:
    """INSERT … ON CONFLICT DO NOTHING of many rows (each with the same keys); the
    `returning` columns of the rows that went in.

    On PostgreSQL one statement whose rows are one JSON parameter (`json_records`), so its
    text is the same whatever the number of rows: psycopg converts a statement's text once
    and caches it only under 4,096 characters and 50 parameters, so the many-row form
    SQLAlchemy builds for an executemany with RETURNING (one `VALUES (…), (…)` page a batch
    size) was parsed again with a regular expression at every batch (22 % of a bus
    worker's CPU, docs/benchmarks.md "The bus, fourth pass"). One JSON text rather than one
    array a column (`unnest`, session 24): psycopg dumps an array element by element in
    Python, msgspec the rows in C (docs/benchmarks.md, "The bus, fifth pass"); the live
    sale's claims were already written this way. Elsewhere SQLAlchemy's statement."""
    if not rows:
        return []
    dialect = connection.dialect
    if dialect.name != "postgresql":
        statement = _returning_insert(dialect.name, table, tuple(returning))
        return list(connection.execute(statement, list(rows)))
    sql, processors = _json_insert_for(dialect, table, tuple(rows[0]), tuple(returning))
    if processors:
        rows = [
            {**row, **{name: process(row[name]) for name, process in processors}} for row in rows
        ]
    try:
        return rows_on_driver(connection, sql, {"rows": records_of(rows)})
    except DBAPIError as error:
        _refuse_nul(rows, error)
        raise


_Processors = tuple[tuple[str, Callable[[Any], Any]], ...]
_JSON_INSERTS: dict[
    tuple[type[Dialect], Table, tuple[str, ...], tuple[str, ...]], tuple[str, _Processors]
] = {}


def _json_insert_for(
    dialect: Dialect, table: Table, names: tuple[str, ...], returning: tuple[str, ...]
) -> tuple[str, _Processors]:
    """The JSON insert's text as the driver takes it, and the columns' bind processors (a
    UTCDateTime's check and conversion: the JSON then carries what the column would have
    been given), both worked out once per table and columns.

    Run on the driver's cursor (store/driver_rows: SQLAlchemy's events and error handling
    kept, a refused row still a DBAPIError, a lost connection still invalidated): the text
    never changes and the returned keys need no result processing, so SQLAlchemy's
    per-execution work (the text() looked up in its compiled cache, the processors looked
    up, a result and its metadata, Row objects) is left out: ~60 us a statement, four
    statements a bus batch (docs/benchmarks.md, "s28-workercpu")."""
    key = (type(dialect), table, names, returning)
    known = _JSON_INSERTS.get(key)
    if known is None:
        processors = tuple(
            (name, process)
            for name in names
            if (process := table.c[name].type.bind_processor(dialect)) is not None
            and not isinstance(table.c[name].type, Boolean)  # a bool is JSON's own true / false
        )
        sql = str(_json_insert(table, names, returning).compile(dialect=dialect))
        known = _JSON_INSERTS[key] = (sql, processors)
    return known


def _refuse_nul(rows: Sequence[dict[str, Any]], error: DBAPIError) -> None:
    """A NUL in a text: PostgreSQL's JSON reader refuses it as "unsupported Unicode escape
    sequence"; said here as psycopg said it when the rows were arrays, so the dead letter
    a post with one becomes still names the NUL. Looked for only once refused: the rows that
    go in pay nothing for it."""
    if any(isinstance(value, str) and "\x00" in value for row in rows for value in row.values()):
        import psycopg

        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes") from error


@functools.cache
def _returning_insert(dialect: str, table: Table, returning: tuple[str, ...]) -> Insert:
    """Built once (building a statement per call costs more than running it)."""
    insert = dialect_insert(dialect, table).on_conflict_do_nothing()
    return insert.returning(*(table.c[name] for name in returning))


@functools.cache
def _json_insert(table: Table, names: tuple[str, ...], returning: tuple[str, ...]) -> TextClause:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    # Each record's field as its column's type without a length: reading a longer text as
    # varchar(n) would cut it short where the INSERT refuses it.
    columns = {name: _LENGTH.sub("", table.c[name].type.compile(dialect=dialect)) for name in names}
    quoted = ", ".join(f'"{name}"' for name in names)
    selected = ", ".join(f'r."{name}"' for name in names)
    return text(
        f"INSERT INTO {table.name} ({quoted}) SELECT {selected} "
        f"FROM {json_records(columns)} "
        f"ON CONFLICT DO NOTHING RETURNING {', '.join(returning)}"
    )
