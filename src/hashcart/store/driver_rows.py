"""PostgreSQL: a bus batch's hottest statements run on the driver's cursor, inside SQLAlchemy's
connection and transaction, without SQLAlchemy's per-execution result machinery.

Nine of the twelve statements a bus worker runs a batch are the keyed reads (store/keyed_reads)
and the JSON inserts (store/statements.insert_rows_ignoring): each of constant text, with one
JSON parameter, answering plain values (keys, ids, texts). For each, SQLAlchemy's execution
(an execution context, a CursorResult whose metadata it builds again from the cursor's
description, a Row a row) cost a worker ~40-60 us of CPU on top of psycopg's own ~15-25 us:
about a sixth of a worker's CPU a batch of two posts (docs/benchmarks.md, "s28-workercpu").

What is kept of SQLAlchemy's execution is what its own special-case path for statements run
on a cursor of its connection keeps (`Connection._cursor_execute`, which SQLAlchemy's dialects
use for sequences and defaults): the `before_cursor_execute` / `after_cursor_execute` events
(tests and an operator's hooks see every statement), the echo log, and its error handling (a
driver error raised as SQLAlchemy's DBAPIError of the same kind, IntegrityError, DataError,
OperationalError…, a lost connection invalidated, so the pool replaces it). The statement runs
on the connection's DB-API connection, in its transaction. What is not kept is result
processing: only statements whose columns need none come here (`plain_columns`); the others
(a UTCDateTime column's conversion) run through SQLAlchemy's execution as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Select


def plain_columns(statement: Select[Any], dialect: Dialect) -> bool:
    """True if every column `statement` selects comes back from the driver as SQLAlchemy
    would hand it over (no result processor for this dialect), so its rows may be the
    driver's tuples."""
    return all(
        column.type.dialect_impl(dialect).result_processor(dialect, None) is None
        for column in statement.selected_columns
    )


_SELECT_TEXTS: dict[tuple[type[Dialect], Select[Any]], str | None] = {}


def select_rows(connection: Connection, statement: Select[Any]) -> list[Sequence[Any]]:
    """The rows of a statement that binds nothing (one built once: it is a key here): on the
    driver's cursor when the dialect is PostgreSQL and its columns need no processing,
    through SQLAlchemy's execution otherwise (SQLite: a statement there is a function call,
    not a round trip)."""
    dialect = connection.dialect
    key = (type(dialect), statement)
    if key not in _SELECT_TEXTS:
        compiled = statement.compile(dialect=dialect)
        on_driver = dialect.name == "postgresql" and plain_columns(statement, dialect)
        _SELECT_TEXTS[key] = str(compiled) if on_driver and not compiled.params else None
    sql = _SELECT_TEXTS[key]
    if sql is None:
        return list(connection.execute(statement))
    return rows_on_driver(connection, sql, {})


def rows_on_driver(
    connection: Connection, sql: str, parameters: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """The rows of `sql` (the dialect's own text and parameter style) run on a cursor of
    `connection` (the driver's tuples).

    Outside a transaction SQLAlchemy's own execution runs it: it begins the transaction
    (autobegin), which a statement run on the cursor would leave unknown to SQLAlchemy."""
    if not connection.in_transaction():
        return list(connection.exec_driver_sql(sql, dict(parameters)))
    cursor = connection.connection.cursor()
    try:
        # Events, echo, and the error handling of SQLAlchemy's own execution (see above).
        connection._cursor_execute(cursor, sql, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()
