"""The database triggers that name, in the writing transaction itself, the posts whose kept
funnel figures (post_funnel) a write may have changed.

They live in the database rather than in the write paths so that none can forget one: every
insert, delete, and update of a counted column of the rows the funnel counts (trigger posts,
actions, pending intents, web cart lines, order lines, buys, offer loads, failed replies and
their fallbacks, a post's products, a product's title) adds a row to post_funnel_changes, and
views/funnel_keeping.refresh recounts the posts they name from the rows. A refresh deletes
exactly the change rows it read, so a write that commits meanwhile is recounted next time.

Each mark is (condition, source, network, ref) over the row (`{row}` is NEW or OLD); an
update marks the row as it was and as it is (a line moved to another post changes both).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

# The dedupe keys of a fallback message: outbox/fallback's FALLBACK_KEY_PREFIX and
# PRIVATE_FALLBACK_KEY_PREFIX (the store cannot import the outbox; a test holds them equal).
FALLBACK_KEY_PREFIXES = ("email:fallback:", "private:fallback:")


@dataclass(frozen=True)
class Mark:
    condition: str
    source: str
    network: str
    ref: str


@dataclass(frozen=True)
class Marked:
    table: str
    # Updates of these columns mark; None: the table's inserts and deletes do not (products).
    updated: tuple[str, ...]
    marks: tuple[Mark, ...]
    inserts_and_deletes: bool = True


_FALLBACK = " OR ".join(f"{{row}}.dedupe_key LIKE '{prefix}%'" for prefix in FALLBACK_KEY_PREFIXES)

MARKED: tuple[Marked, ...] = (
    Marked(
        "posts",
        ("has_shop_link", "parent_id", "list_kind", "created_at"),
        (
            Mark("{row}.parent_id IS NULL", "post", "{row}.network", "{row}.post_id"),
            Mark("{row}.parent_id IS NOT NULL", "post", "{row}.network", "{row}.parent_id"),
        ),
    ),
    Marked(
        "post_products",
        ("network", "post_id", "product_id", "position"),
        (Mark("1 = 1", "post", "{row}.network", "{row}.post_id"),),
    ),
    Marked(
        "products",
        ("title",),
        (Mark("1 = 1", "product", "''", "{row}.product_id"),),
        inserts_and_deletes=False,
    ),
    Marked(
        "actions",
        ("network", "trigger_post_id", "outcome"),
        (Mark("1 = 1", "trigger", "{row}.network", "{row}.trigger_post_id"),),
    ),
    Marked(
        "pending_intents",
        ("network", "trigger_post_id", "status", "expires_at"),
        (Mark("1 = 1", "trigger", "{row}.network", "{row}.trigger_post_id"),),
    ),
    Marked(
        "cart_lines",
        ("network", "post_id"),
        (Mark("{row}.network = 'web'", "post", "{row}.network", "{row}.post_id"),),
    ),
    Marked(
        "order_lines",
        ("order_id", "network", "post_id", "quantity", "unit_price", "currency"),
        (
            Mark(
                "{row}.network IS NOT NULL AND {row}.post_id IS NOT NULL",
                "post",
                "{row}.network",
                "{row}.post_id",
            ),
        ),
    ),
    Marked(
        "buy_requests",
        ("network", "source_post_id", "status", "currency", "total"),
        (Mark("{row}.source_post_id <> ''", "post", "{row}.network", "{row}.source_post_id"),),
    ),
    Marked(
        "offer_loads",
        ("network", "parent_post_id", "status", "redeemed_order_id"),
        (
            Mark(
                "{row}.parent_post_id IS NOT NULL",
                "post",
                "{row}.network",
                "{row}.parent_post_id",
            ),
        ),
    ),
    Marked(
        "outbox",
        ("status", "channel", "in_reply_to", "dedupe_key"),
        (
            Mark(
                "{row}.channel = 'reply' AND {row}.status = 'failed'",
                "trigger",
                "{row}.network",
                "{row}.in_reply_to",
            ),
            Mark(f"({_FALLBACK})", "fallback", "''", "{row}.dedupe_key"),
        ),
    ),
)


def _inserts(marked: Marked, row: str) -> list[str]:
    return [
        "INSERT INTO post_funnel_changes (source, network, ref) "
        f"SELECT '{mark.source}', {mark.network.format(row=row)}, {mark.ref.format(row=row)} "
        f"WHERE {mark.condition.format(row=row)};"
        for mark in marked.marks
    ]


def _sqlite(marked: Marked) -> list[str]:
    name = f"pf_mark_{marked.table}"
    found: list[str] = []
    events: list[tuple[str, str, list[str]]] = [
        ("ins", "INSERT", ["NEW"]),
        ("del", "DELETE", ["OLD"]),
    ]
    if not marked.inserts_and_deletes:
        events = []
    events.append(("upd", f"UPDATE OF {', '.join(marked.updated)}", ["OLD", "NEW"]))
    for suffix, event, rows in events:
        body = " ".join(statement for row in rows for statement in _inserts(marked, row))
        found.append(
            f"CREATE TRIGGER IF NOT EXISTS {name}_{suffix} AFTER {event} ON {marked.table} "
            f"FOR EACH ROW BEGIN {body} END"
        )
    return found


def _when(marked: Marked, rows: tuple[str, ...]) -> str:
    """A trigger's WHEN clause: fired only for a row some mark's condition holds of (as
    it was, as it is), the very rows the function would add a change for. A row no mark
    names skips the function's call (PL/pgSQL: its statements planned and run, to insert
    nothing): each of a live sale's thousands of queued replies paid it (docs/benchmarks.md,
    "Claims for less CPU"). Empty when a mark holds of every row."""
    conditions = [mark.condition for mark in marked.marks]
    if "1 = 1" in conditions:
        return ""
    either = " OR ".join(f"({c.format(row=row)})" for row in rows for c in conditions)
    return f" WHEN ({either})"


def _postgresql(marked: Marked, when: bool = True) -> list[str]:
    name = f"pf_mark_{marked.table}"
    old = " ".join(_inserts(marked, "OLD"))
    new = " ".join(_inserts(marked, "NEW"))
    run = f"FOR EACH ROW{{when}} EXECUTE FUNCTION {name}()"
    if not when:  # migration 0031's form (0033's downgrade)
        return [
            *_function(name, old, new),
            f"DROP TRIGGER IF EXISTS {name}_upd ON {marked.table}",
            f"CREATE TRIGGER {name}_upd AFTER UPDATE OF {', '.join(marked.updated)} "
            f"ON {marked.table} " + run.format(when=""),
            *(
                [
                    f"DROP TRIGGER IF EXISTS {name}_ins ON {marked.table}",
                    f"CREATE TRIGGER {name}_ins AFTER INSERT OR DELETE ON {marked.table} "
                    + run.format(when=""),
                ]
                if marked.inserts_and_deletes
                else []
            ),
        ]
    found = [
        *_function(name, old, new),
        f"DROP TRIGGER IF EXISTS {name}_upd ON {marked.table}",
        f"CREATE TRIGGER {name}_upd AFTER UPDATE OF {', '.join(marked.updated)} "
        f"ON {marked.table} " + run.format(when=_when(marked, ("OLD", "NEW"))),
    ]
    if marked.inserts_and_deletes:
        # Inserts and deletes apart: a WHEN clause of a trigger on both may name neither
        # NEW nor OLD.
        found += [
            f"DROP TRIGGER IF EXISTS {name}_ins ON {marked.table}",
            f"CREATE TRIGGER {name}_ins AFTER INSERT ON {marked.table} "
            + run.format(when=_when(marked, ("NEW",))),
            f"DROP TRIGGER IF EXISTS {name}_del ON {marked.table}",
            f"CREATE TRIGGER {name}_del AFTER DELETE ON {marked.table} "
            + run.format(when=_when(marked, ("OLD",))),
        ]
    return found


def _function(name: str, old: str, new: str) -> list[str]:
    """PostgreSQL: the function a table's triggers run."""
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {old} END IF; "
        f"IF TG_OP <> 'DELETE' THEN {new} END IF; "
        "RETURN NULL; END $$"
    ]


def create_marks(connection: Connection, *, when: bool = True) -> None:
    """Create (or replace) every trigger of MARKED. `when`: PostgreSQL's fire only for the
    rows they mark (migration 0033); False: for every row, as migration 0031 made them."""
    postgresql = connection.dialect.name == "postgresql"
    for marked in MARKED:
        for statement in _postgresql(marked, when) if postgresql else _sqlite(marked):
            connection.execute(text(statement))


def drop_marks(connection: Connection) -> None:
    postgresql = connection.dialect.name == "postgresql"
    for marked in MARKED:
        name = f"pf_mark_{marked.table}"
        for suffix in ("ins", "del", "upd"):
            on = f" ON {marked.table}" if postgresql else ""
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}_{suffix}{on}"))
        if postgresql:
            connection.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
