"""How many things a shopper's cart holds, for the header's cart count (issue 14): one
indexed sum over their lines (cart_lines is unique on customer and product)."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from hashcart.store import schema as t


def cart_quantity(connection: Connection, customer_id: int) -> int:
    """The sum of the quantities of the shopper's cart lines (0 for an empty cart)."""
    total = connection.execute(
        select(func.coalesce(func.sum(t.cart_lines.c.quantity), 0)).where(
            t.cart_lines.c.customer_id == customer_id
        )
    ).scalar_one()
    return int(total)
