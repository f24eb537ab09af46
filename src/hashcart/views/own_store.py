"""The merchant's own store as the console and `hashcart store status` show it (issue 16):
the last catalog sync (when, counts, its error), the catalog rows from the store, the carts
handed to it and the orders that came back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from hashcart.ports import store_product_id
from hashcart.store import schema as t
from hashcart.store.own_store import WITHDRAWN, StoredStoreRecords


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def store_status(connection: Connection, store: str, label: str) -> dict[str, Any]:
    """The JSON shape of `hashcart store status --json` (kept: scripts read it)."""
    record = StoredStoreRecords(connection).sync_record(store)
    p, h, o = t.products, t.store_handoffs, t.orders
    prefix = store_product_id(store, "")
    mine = p.c.product_id.startswith(prefix, autoescape=True)
    products = connection.execute(select(func.count()).where(mine)).scalar_one()
    withdrawn = connection.execute(
        select(func.count()).where(mine, p.c.availability == WITHDRAWN)
    ).scalar_one()
    handoffs = connection.execute(select(func.count()).where(h.c.store == store)).scalar_one()
    totals = connection.execute(
        select(o.c.currency, func.count(), func.sum(o.c.total_amount))
        .select_from(h.join(o, o.c.id == h.c.order_id))
        .where(h.c.store == store)
        .group_by(o.c.currency)
    ).all()
    last_sync = None
    if record is not None:
        last_sync = {
            "started_at": _iso(record.started_at),
            "finished_at": _iso(record.finished_at),
            "full": record.full,
            "seen": record.seen,
            "changed": record.changed,
            "withdrawn": record.withdrawn,
            "error": record.error,
            "errors_in_a_row": record.errors,
            "last_success_at": _iso(record.last_success_at),
            "orders_polled_at": _iso(record.orders_polled_at),
        }
    return {
        "store": store,
        "label": label,
        "last_sync": last_sync,
        "products": int(products),
        "withdrawn": int(withdrawn),
        "handoffs": int(handoffs),
        "orders": sum(int(row[1]) for row in totals),
        "revenue": {row[0]: str(Decimal(row[2]).quantize(Decimal("0.01"))) for row in totals},
    }
