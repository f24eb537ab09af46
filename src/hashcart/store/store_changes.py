"""What a store's webhooks said changed, kept until the sync takes it (issue 16).

The Shopify webhook route's default sink: each delivery is recorded once (its delivery id is
the primary key, so a repeat delivered twice at once is still one row), and the sync reads
the waiting ones, reads those variants (or the order) again, and marks them taken."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update

from hashcart.ports import Clock, HandoffLine, StoreChange, StoreOrder
from hashcart.store import schema as t
from hashcart.store.database import read_only_transaction, write_transaction
from hashcart.store.statements import insert_ignoring


class StoredStoreChanges:
    """The `store_changes` table; `record` is a ports.StoreChangeSink."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def record(self, change: StoreChange) -> None:
        """Keep `change` for the sync; a delivery already kept changes nothing."""
        with write_transaction(self.engine) as connection:
            connection.execute(
                insert_ignoring(connection.dialect.name, "store_changes"),
                {
                    "store": change.store,
                    "delivery_id": change.delivery_id,
                    "topic": change.topic,
                    "details": json.dumps(_details(change)),
                    "received_at": self.clock.now(),
                },
            )

    def waiting(self, store: str) -> list[StoreChange]:
        """The changes not taken yet, oldest first."""
        table = t.store_changes
        with read_only_transaction(self.engine) as connection:
            rows = connection.execute(
                select(table.c.delivery_id, table.c.topic, table.c.details)
                .where(table.c.store == store, table.c.taken_at.is_(None))
                .order_by(table.c.received_at, table.c.delivery_id)
            ).all()
        return [_change(store, row.delivery_id, row.topic, row.details) for row in rows]

    def mark_taken(self, store: str, delivery_ids: Iterable[str]) -> None:
        table = t.store_changes
        wanted = list(delivery_ids)
        if not wanted:
            return
        with write_transaction(self.engine) as connection:
            connection.execute(
                update(table)
                .where(
                    table.c.store == store,
                    table.c.delivery_id.in_(wanted),
                    table.c.taken_at.is_(None),
                )
                .values(taken_at=self.clock.now())
            )


def _details(change: StoreChange) -> dict[str, Any]:
    order = change.order
    return {
        "product_ids": list(change.product_ids),
        "variant_ids": list(change.variant_ids),
        "inventory_item_ids": list(change.inventory_item_ids),
        "order": None
        if order is None
        else {
            "reference": order.reference,
            "handoff_reference": order.handoff_reference,
            "state": order.state,
            "total": str(order.total),
            "currency": order.currency,
            "placed_at": order.placed_at.isoformat() if order.placed_at else None,
            "lines": [[line.variant_id, line.quantity] for line in order.lines],
        },
    }


def _change(store: str, delivery_id: str, topic: str, details: str) -> StoreChange:
    found = json.loads(details)
    kept = found.get("order")
    order = (
        None
        if kept is None
        else StoreOrder(
            reference=kept["reference"],
            handoff_reference=kept["handoff_reference"],
            state=kept["state"],
            total=Decimal(kept["total"]),
            currency=kept["currency"],
            placed_at=datetime.fromisoformat(kept["placed_at"]) if kept["placed_at"] else None,
            lines=tuple(HandoffLine(variant, quantity) for variant, quantity in kept["lines"]),
        )
    )
    return StoreChange(
        store=store,
        delivery_id=delivery_id,
        topic=topic,
        product_ids=tuple(found["product_ids"]),
        variant_ids=tuple(found["variant_ids"]),
        inventory_item_ids=tuple(found["inventory_item_ids"]),
        order=order,
    )
