"""The console's orders (issue 12, order care): the list, newest first, a page at a time.
The order page itself reads views/api_reads.orders, the shape GET /api/orders serves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from hashcart.store import schema as t
from hashcart.views.console import PER_PAGE, Page, _page_of


@dataclass(frozen=True)
class OrderRow:
    id: int
    created_at: datetime
    email: str
    status: str
    total_amount: Decimal
    currency: str
    shipped_at: datetime | None


def orders(connection: Connection, page: int = 1, per_page: int = PER_PAGE) -> Page[OrderRow]:
    o = t.orders
    query = select(
        o.c.id,
        o.c.created_at,
        o.c.email,
        o.c.status,
        o.c.total_amount,
        o.c.currency,
        o.c.shipped_at,
    ).order_by(o.c.created_at.desc(), o.c.id.desc())
    rows, number, total = _page_of(connection, query, page, per_page)
    items = [
        OrderRow(
            id=row.id,
            created_at=row.created_at,
            email=row.email,
            status=row.status,
            total_amount=Decimal(row.total_amount),
            currency=row.currency,
            shipped_at=row.shipped_at,
        )
        for row in rows
    ]
    return Page(items, number, total, per_page)
