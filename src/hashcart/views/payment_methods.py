"""The shoppers' saved payment methods, as `hashcart payment-methods list` shows them: the
gateway's id, brand and last four digits (hashcart holds nothing more)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from hashcart.store import schema as t


def saved_payment_methods(connection: Connection) -> list[dict[str, Any]]:
    s, c = t.saved_payment_methods, t.customers
    rows = connection.execute(
        select(c.c.email, s.c.gateway, s.c.method_id, s.c.brand, s.c.last4, s.c.saved_at)
        .join(c, c.c.id == s.c.customer_id)
        .order_by(c.c.email)
    )
    return [
        {
            "customer": row.email,
            "gateway": row.gateway,
            "payment_method": row.method_id,
            "brand": row.brand,
            "last4": row.last4,
            "saved_at": row.saved_at.isoformat(),
        }
        for row in rows
    ]
