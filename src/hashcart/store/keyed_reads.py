"""PostgreSQL: the engine's reads by (network, id) keys in one statement for every network.

The repository's reads by key (which of these posts are stored, deleted, waited for; their
products; the accounts' contacts) ran one statement a network, each with an `IN` list that
SQLAlchemy expands into a text of its own for every length. A bus worker's batch holds the
three networks' posts, so at 1,000 triggers/s (batches of a few dozen posts) those were 18 of
the 26 statements a batch cost, each a round trip, a compilation of its expanded list and a
text psycopg had not prepared (docs/benchmarks.md, "The bus, fifth pass"). Here the keys are
one JSON parameter read by `json_to_recordset` (statements.json_records' way): one statement
of constant text whatever the networks and the number of keys, compiled and prepared once.

SQLite keeps the repository's statements: there a statement is a function call, not a round
trip, and SQLite has no JSON recordsets.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Dialect,
    Integer,
    Select,
    String,
    Subquery,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
)

from hashcart.store import schema as t
from hashcart.store.driver_rows import plain_columns, rows_on_driver
from hashcart.store.statements import json_records, planned_count, records_of

# The keys as a FROM item `k` (network, id): records_of's JSON of one object a key. (The
# generic JSON type: the PostgreSQL dialect's would load that dialect into a SQLite shop's
# `hashcart ingest`, tests/integration/test_cli_startup.)
_RECORDS = (
    func.json_to_recordset(cast(bindparam("keys", type_=Text()), JSON))
    .table_valued(column("network", String), column("id", String))
    .render_derived(name="r", with_types=True)
)


def _keys(limit: int) -> Subquery:
    """The keys as a FROM item `k`, LIMITed to `limit`.

    The LIMIT (which never cuts a key: read_keyed asks for at least their count) tells the
    planner how few they are. It guesses 100 rows for any function's; against a table of a
    few thousand to some tens of thousands of rows a hash join over a sequential scan of
    the whole table then looks cheaper than 100 index look-ups, and every batch read all of
    `posts` two or three times (docs/benchmarks.md, "s26-engine"). With the count the plan
    is an index look-up a key at every size. The count is written into the text, rounded up
    (statements.planned_count), so the server keeps the plan from one execution to the
    next (s27-pgbatch). It is a literal of a statement built once per count (KeyedRead),
    not a `literal_execute` parameter: that one SQLAlchemy rendered into the compiled text
    again at every execution, ~12 us of a bus worker's CPU a read (docs/benchmarks.md,
    "s28-workercpu")."""
    return (
        select(_RECORDS.c.network, _RECORDS.c.id)
        .limit(literal_column(str(int(limit)), Integer()))
        .subquery("k")
    )


class KeyedRead:
    """A read by keys: its statement for each planned count of keys, each built (and so
    compiled by SQLAlchemy) once, the first time a batch of that many keys comes. Counts
    are powers of two (statements.planned_count), so a process keeps a dozen at most."""

    def __init__(self, build: Callable[[Subquery], Select[Any]]) -> None:
        self._build = build
        self._by_count: dict[int, Select[Any]] = {}
        self._on_driver: dict[tuple[type[Dialect], int], str | None] = {}

    def for_count(self, count: int) -> Select[Any]:
        statement = self._by_count.get(count)
        if statement is None:
            # Two threads building the same count at once build equal statements: either
            # one kept is right.
            statement = self._by_count[count] = self._build(_keys(count))
        return statement

    def driver_text(self, dialect: Dialect, count: int) -> str | None:
        """The statement's text for the driver (store/driver_rows), or None when its rows
        need SQLAlchemy's result processing (a UTCDateTime column) or it binds more than
        the keys: then SQLAlchemy's execution runs it."""
        key = (type(dialect), count)
        if key not in self._on_driver:
            statement = self.for_count(count)
            compiled = statement.compile(dialect=dialect)
            plain = plain_columns(statement, dialect) and set(compiled.params) == {"keys"}
            self._on_driver[key] = str(compiled) if plain else None
        return self._on_driver[key]


def _joined(
    columns: Sequence[Any], table: Any, network: Any, ref: Any
) -> Callable[[Subquery], Select[Any]]:
    def build(keys: Subquery) -> Select[Any]:
        matched = and_(network == keys.c.network, ref == keys.c.id)
        return select(*columns).join_from(table, keys, matched)

    return build


def _ordered(build: Callable[[Subquery], Select[Any]], *order: Any) -> KeyedRead:
    return KeyedRead(lambda keys: build(keys).order_by(*order))


def _among(table: Any, ref: Any) -> KeyedRead:
    """Which keys `table` holds, as (network, ref) rows."""
    return KeyedRead(_joined((table.c.network, ref), table, table.c.network, ref))


POSTS_AMONG = _among(t.posts, t.posts.c.post_id)
DELETIONS_AMONG = _among(t.post_deletions, t.post_deletions.c.post_id)
ACTIONS_AMONG = _among(t.actions, t.actions.c.trigger_post_id)
PRODUCTS_OF_POSTS = _ordered(
    _joined(
        (t.post_products.c.network, t.post_products.c.post_id, t.post_products.c.product_id),
        t.post_products,
        t.post_products.c.network,
        t.post_products.c.post_id,
    ),
    t.post_products.c.network,
    t.post_products.c.post_id,
    t.post_products.c.position,
)
_CONTACTS = _joined(
    (
        t.account_links.c.network,
        t.account_links.c.account_id,
        t.account_links.c.customer_id,
        t.customers.c.email,
        t.customers.c.notify_by,
    ),
    t.account_links,
    t.account_links.c.network,
    t.account_links.c.account_id,
)
LINKED_CONTACTS = KeyedRead(
    lambda keys: _CONTACTS(keys).join(
        t.customers, t.customers.c.id == t.account_links.c.customer_id
    )
)


# Which triggers acted already, and their parents' products, in one statement (services/
# actions reads both first: a round trip a batch less than two reads). Two key sets, each
# with its own LIMIT written into the text (keyed_reads' reason); rows tagged by what they
# answer, the products in their posts' order as PRODUCTS_OF_POSTS gives them. Its columns
# are plain texts and numbers, so it runs on the driver (store/driver_rows) in psycopg's
# parameter style, one text per pair of planned counts, made once.
_KEY_COLUMNS = {"network": "VARCHAR", "id": "VARCHAR"}


@functools.cache
def acted_and_products_sql(trigger_count: int, parent_count: int) -> str:
    return (
        "SELECT 'acted' AS what, a.network, a.trigger_post_id AS id, NULL AS product_id,"
        " 0 AS position FROM actions AS a JOIN (SELECT * FROM "
        + json_records(_KEY_COLUMNS, parameter="triggers").replace(":triggers", "%(triggers)s")
        + f" LIMIT {int(trigger_count)}) AS k"
        " ON a.network = k.network AND a.trigger_post_id = k.id"
        " UNION ALL SELECT 'product', p.network, p.post_id, p.product_id, p.position"
        " FROM post_products AS p JOIN (SELECT * FROM "
        + json_records(_KEY_COLUMNS, parameter="parents").replace(":parents", "%(parents)s")
        + f" LIMIT {int(parent_count)}) AS q ON p.network = q.network AND p.post_id = q.id"
        " ORDER BY what, network, id, position"
    )


def read_acted_and_products(
    connection: Connection,
    triggers: Iterable[tuple[str, str]],
    parents: Iterable[tuple[str, str]],
) -> list[Any]:
    """The rows (what, network, id, product_id, position) of acted_and_products_sql, each
    key asked once; both key sets must hold one key at least."""
    asked = [dict.fromkeys(triggers), dict.fromkeys(parents)]
    assert all(asked), "both key sets must hold a key"
    rows = [records_of({"network": str(network), "id": ref} for network, ref in k) for k in asked]
    sql = acted_and_products_sql(planned_count(len(asked[0])), planned_count(len(asked[1])))
    return rows_on_driver(connection, sql, {"triggers": rows[0], "parents": rows[1]})


def waiting_for_any(not_acted: Any) -> KeyedRead:
    """Trigger posts not acted on whose parent is one of the keys, oldest first (the
    repository's `_NOT_ACTED` passed in, so the rule has one home)."""
    parent_among = _joined((t.posts,), t.posts, t.posts.c.network, t.posts.c.parent_id)
    return KeyedRead(
        lambda keys: (
            parent_among(keys)
            .where(t.posts.c.list_kind.is_not(None), not_acted)
            .order_by(t.posts.c.created_at, t.posts.c.post_id)
        )
    )


def read_keyed(
    connection: Connection, read: KeyedRead, keys: Iterable[tuple[str, str]]
) -> list[Any]:
    """The statement's rows (each a Row) for these keys, each key asked once (a key twice
    would join twice and answer twice)."""
    unique = dict.fromkeys(keys)
    if not unique:
        return []
    rows = records_of({"network": str(network), "id": ref} for network, ref in unique)
    count = planned_count(len(unique))
    sql = read.driver_text(connection.dialect, count)
    if sql is not None:
        return rows_on_driver(connection, sql, {"keys": rows})
    return list(connection.execute(read.for_count(count), {"keys": rows}))
