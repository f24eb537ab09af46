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

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    select,
    text,
)

from hashcart.store import schema as t
from hashcart.store.statements import json_records, planned_count, records_of

# The keys as a FROM item `k` (network, id): records_of's JSON of one object a key. (The
# generic JSON type: the PostgreSQL dialect's would load that dialect into a SQLite shop's
# `hashcart ingest`, tests/integration/test_cli_startup.)
_RECORDS = (
    func.json_to_recordset(cast(bindparam("keys", type_=Text()), JSON))
    .table_valued(column("network", String), column("id", String))
    .render_derived(name="r", with_types=True)
)
# LIMIT the number of keys (which it never cuts: read_keyed passes their count) so that the
# planner knows how few they are. It guesses 100 rows for any function's; against a table
# of a few thousand to some tens of thousands of rows a hash join over a sequential scan
# of the whole table then looks cheaper than 100 index look-ups, and every batch read all
# of `posts` two or three times (docs/benchmarks.md, "s26-engine"). With the count the
# plan is an index look-up a key at every size. The count is written into the text, rounded
# up (statements.planned_count), so the plan is kept from one execution to the next.
_KEYS = (
    select(_RECORDS.c.network, _RECORDS.c.id)
    .limit(bindparam("key_count", type_=Integer(), literal_execute=True))
    .subquery("k")
)


def _joined(columns: Sequence[Any], table: Any, network: Any, ref: Any) -> Select[Any]:
    matched = and_(network == _KEYS.c.network, ref == _KEYS.c.id)
    return select(*columns).join_from(table, _KEYS, matched)


POSTS_AMONG = _joined(
    (t.posts.c.network, t.posts.c.post_id), t.posts, t.posts.c.network, t.posts.c.post_id
)
DELETIONS_AMONG = _joined(
    (t.post_deletions.c.network, t.post_deletions.c.post_id),
    t.post_deletions,
    t.post_deletions.c.network,
    t.post_deletions.c.post_id,
)
ACTIONS_AMONG = _joined(
    (t.actions.c.network, t.actions.c.trigger_post_id),
    t.actions,
    t.actions.c.network,
    t.actions.c.trigger_post_id,
)
PRODUCTS_OF_POSTS = _joined(
    (t.post_products.c.network, t.post_products.c.post_id, t.post_products.c.product_id),
    t.post_products,
    t.post_products.c.network,
    t.post_products.c.post_id,
).order_by(t.post_products.c.network, t.post_products.c.post_id, t.post_products.c.position)
LINKED_CONTACTS = _joined(
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
).join(t.customers, t.customers.c.id == t.account_links.c.customer_id)


# Which triggers acted already, and their parents' products, in one statement (services/
# actions reads both first: a round trip a batch less than two reads). Two key sets, each
# with its own LIMIT written into the text (keyed_reads' reason); rows tagged by what they
# answer, the products in their posts' order as PRODUCTS_OF_POSTS gives them.
ACTED_AND_PRODUCTS = text(
    "SELECT 'acted' AS what, a.network, a.trigger_post_id AS id, NULL AS product_id,"
    " 0 AS position FROM actions AS a JOIN (SELECT * FROM "
    + json_records({"network": "VARCHAR", "id": "VARCHAR"}, parameter="triggers")
    + " LIMIT :trigger_count) AS k ON a.network = k.network AND a.trigger_post_id = k.id"
    " UNION ALL SELECT 'product', p.network, p.post_id, p.product_id, p.position"
    " FROM post_products AS p JOIN (SELECT * FROM "
    + json_records({"network": "VARCHAR", "id": "VARCHAR"}, parameter="parents")
    + " LIMIT :parent_count) AS q ON p.network = q.network AND p.post_id = q.id"
    " ORDER BY what, network, id, position"
).bindparams(
    bindparam("trigger_count", type_=Integer(), literal_execute=True),
    bindparam("parent_count", type_=Integer(), literal_execute=True),
)


def read_acted_and_products(
    connection: Connection,
    triggers: Iterable[tuple[str, str]],
    parents: Iterable[tuple[str, str]],
) -> list[Any]:
    """ACTED_AND_PRODUCTS' rows (what, network, id, product_id, position), each key asked
    once; both key sets must hold one key at least."""
    asked = [dict.fromkeys(triggers), dict.fromkeys(parents)]
    assert all(asked), "both key sets must hold a key"
    rows = [records_of({"network": str(network), "id": ref} for network, ref in k) for k in asked]
    return list(
        connection.execute(
            ACTED_AND_PRODUCTS,
            {
                "triggers": rows[0],
                "parents": rows[1],
                "trigger_count": planned_count(len(asked[0])),
                "parent_count": planned_count(len(asked[1])),
            },
        )
    )


def waiting_for_any(not_acted: Any) -> Select[Any]:
    """Trigger posts not acted on whose parent is one of the keys, oldest first (the
    repository's `_NOT_ACTED` passed in, so the rule has one home)."""
    return (
        _joined((t.posts,), t.posts, t.posts.c.network, t.posts.c.parent_id)
        .where(t.posts.c.list_kind.is_not(None), not_acted)
        .order_by(t.posts.c.created_at, t.posts.c.post_id)
    )


def read_keyed(
    connection: Connection, statement: Select[Any], keys: Iterable[tuple[str, str]]
) -> list[Any]:
    """The statement's rows (each a Row) for these keys, each key asked once (a key twice
    would join twice and answer twice)."""
    unique = dict.fromkeys(keys)
    if not unique:
        return []
    rows = records_of({"network": str(network), "id": ref} for network, ref in unique)
    limit = planned_count(len(unique))
    return list(connection.execute(statement, {"keys": rows, "key_count": limit}))
