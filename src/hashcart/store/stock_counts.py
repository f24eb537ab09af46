"""The merchant's stock counts: units on hand per product, as `hashcart stock set`, a
feed's `quantity` column and the console set them (None: not counted, no limit).

Apart from the holds (store/stock) so that the repository, which the holds build on, can
set counts without the two modules importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, bindparam, update

from hashcart.store import schema as t

p = t.products


def set_stock(connection: Connection, product_id: str, stock: int | None) -> bool:
    """Set one product's count; False if there is no such product. Live holds stay as they
    are, even above a lowered count: a hold is honoured (store/stock)."""
    changed = connection.execute(update(p).where(p.c.product_id == product_id).values(stock=stock))
    return changed.rowcount == 1


def set_stocks(connection: Connection, counts: Mapping[str, int | None]) -> None:
    """`set_stock` for many products in one statement; ids with no product are passed
    over. In id order, as holds lock products (store/stock), so that writers of the same
    products on PostgreSQL wait for each other rather than deadlock."""
    if counts:
        connection.execute(
            update(p).where(p.c.product_id == bindparam("target")).values(stock=bindparam("count")),
            [{"target": pid, "count": counts[pid]} for pid in sorted(counts)],
        )
