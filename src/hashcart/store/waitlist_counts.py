"""The database triggers that keep each sale item's count of waitlisted claims
(`sale_items.waitlisted`, migration 0035), in the writing transaction itself.

A settle step places each new waitlisted claim by the count of its item's waitlist
(store/sales `waitlist_places`); counted with `count(*)`, that read every waitlisted claim
of every item the step locked, every step, and a burst's waitlists grow to thousands a
item (58 ms a step at 15 s of `tests.sales.bench_claim_cost`, growing with the sale). In the
database rather than in the write paths, so that none can forget one: every insert, delete
and update of a claim's status or item moves the count, whatever wrote it.

PostgreSQL: one trigger a statement (transition tables), so a step's thousand waitlisted
make one update of each item's row, not a thousand (a row updated a thousand times in one
transaction leaves a thousand versions of it); the counts only move where they changed, so
a winner's or a payment's update writes no item row. SQLite: row triggers, each only when the
row enters or leaves a waitlist.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_FUNCTION = "sale_items_count_waitlisted"
_TRIGGERS = (
    "sale_claims_waitlisted_ins",
    "sale_claims_waitlisted_upd",
    "sale_claims_waitlisted_del",
)

# The change of each item's count in the statement's rows (old: as they were, new: as they
# are), only where it moved.
_MOVE = (
    "UPDATE sale_items i SET waitlisted = i.waitlisted + d.moved FROM ("
    "SELECT item_id, sum(moved) AS moved FROM ({rows}) AS x "
    "WHERE item_id IS NOT NULL GROUP BY item_id HAVING sum(moved) <> 0"
    ") AS d WHERE i.id = d.item_id;"
)
_NEW = "SELECT item_id, 1 AS moved FROM new_rows WHERE status = 'waitlisted'"
_OLD = "SELECT item_id, -1 AS moved FROM old_rows WHERE status = 'waitlisted'"

_POSTGRESQL = (
    f"CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP = 'INSERT' THEN {_MOVE.format(rows=_NEW)} "
    f"ELSIF TG_OP = 'DELETE' THEN {_MOVE.format(rows=_OLD)} "
    f"ELSE {_MOVE.format(rows=f'{_NEW} UNION ALL {_OLD}')} "
    "END IF; RETURN NULL; END $$",
    f"CREATE TRIGGER {_TRIGGERS[0]} AFTER INSERT ON sale_claims "
    f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()",
    f"CREATE TRIGGER {_TRIGGERS[1]} AFTER UPDATE ON sale_claims "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()",
    f"CREATE TRIGGER {_TRIGGERS[2]} AFTER DELETE ON sale_claims "
    f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()",
)

_SQLITE = (
    f"CREATE TRIGGER {_TRIGGERS[0]} AFTER INSERT ON sale_claims "
    "WHEN new.status = 'waitlisted' BEGIN "
    "UPDATE sale_items SET waitlisted = waitlisted + 1 WHERE id = new.item_id; END",
    f"CREATE TRIGGER {_TRIGGERS[1]} AFTER UPDATE OF status, item_id ON sale_claims "
    "WHEN (old.status = 'waitlisted' OR new.status = 'waitlisted') "
    "AND (old.status IS NOT new.status OR old.item_id IS NOT new.item_id) BEGIN "
    "UPDATE sale_items SET waitlisted = waitlisted - 1 "
    "WHERE id = old.item_id AND old.status = 'waitlisted'; "
    "UPDATE sale_items SET waitlisted = waitlisted + 1 "
    "WHERE id = new.item_id AND new.status = 'waitlisted'; END",
    f"CREATE TRIGGER {_TRIGGERS[2]} AFTER DELETE ON sale_claims "
    "WHEN old.status = 'waitlisted' BEGIN "
    "UPDATE sale_items SET waitlisted = waitlisted - 1 WHERE id = old.item_id; END",
)

# What the counts are from the claims themselves (migration 0035's backfill; the tests'
# check that the triggers kept them).
COUNTED = (
    "SELECT count(*) FROM sale_claims c WHERE c.item_id = sale_items.id AND c.status = 'waitlisted'"
)


def create_waitlist_counts(connection: Connection) -> None:
    postgresql = connection.dialect.name == "postgresql"
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        connection.execute(text(statement))


def drop_waitlist_counts(connection: Connection) -> None:
    postgresql = connection.dialect.name == "postgresql"
    for name in _TRIGGERS:
        on = " ON sale_claims" if postgresql else ""
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name}{on}"))
    if postgresql:
        connection.execute(text(f"DROP FUNCTION IF EXISTS {_FUNCTION}()"))
