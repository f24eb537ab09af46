"""Stock as the merchant reads it (`hashcart stock list`, the console's catalog): each
product's count, the units live holds keep for checkouts paying, and what is free.

"Held" counts the hold rows still live at `now`, not the products' `reserved` counter: the
counter keeps an expired hold until a reservation of that product sweeps it, while the
shop already lets others have those units (domain/stock.counts).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from hashcart.domain.stock import free_of
from hashcart.store import schema as t

r, p = t.reservations, t.products


@dataclass(frozen=True)
class StockLine:
    product_id: str
    title: str
    stock: int | None  # None: not counted
    held: int

    @property
    def free(self) -> int | None:
        return free_of(self.stock, self.held)

    def as_json(self) -> dict[str, Any]:
        """`hashcart stock list --json`'s shape (stock and free are null when not counted)."""
        return {
            "product": self.product_id,
            "title": self.title,
            "stock": self.stock,
            "held": self.held,
            "free": self.free,
        }


def held_units(
    connection: Connection, now: datetime, product_ids: Collection[str] | None = None
) -> dict[str, int]:
    """Units in live holds at `now`, by product (only `product_ids` when given); a product
    with none is absent."""
    query = (
        select(r.c.product_id, func.sum(r.c.quantity))
        .where(r.c.status == "held", r.c.reserved_until > now)
        .group_by(r.c.product_id)
    )
    if product_ids is not None:
        if not product_ids:
            return {}
        query = query.where(r.c.product_id.in_(sorted(product_ids)))
    return {product_id: int(units) for product_id, units in connection.execute(query)}


def stock_lines(connection: Connection, now: datetime) -> list[StockLine]:
    """Every product, by id."""
    held = held_units(connection, now)
    rows = connection.execute(select(p.c.product_id, p.c.title, p.c.stock).order_by(p.c.product_id))
    return [
        StockLine(row.product_id, row.title, row.stock, held.get(row.product_id, 0)) for row in rows
    ]


def stock_line(connection: Connection, product_id: str, now: datetime) -> StockLine | None:
    row = connection.execute(
        select(p.c.title, p.c.stock).where(p.c.product_id == product_id)
    ).first()
    if row is None:
        return None
    held = held_units(connection, now, (product_id,)).get(product_id, 0)
    return StockLine(product_id, row.title, row.stock, held)
