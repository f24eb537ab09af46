"""What the merchant console changes besides settings: a product's price and availability,
and failed outbox messages put back in the queue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, update

from hashcart.store import schema as t


def set_offer(
    connection: Connection,
    product_id: str,
    price_amount: Decimal | None,
    currency: str | None,
    availability: str,
    at: datetime,
) -> bool:
    """Set a product's price (None: price on request) and availability; False if no such
    product. Carts read prices live, so every cart shows the new price at once."""
    result = connection.execute(
        update(t.products)
        .where(t.products.c.product_id == product_id)
        .values(
            price_amount=price_amount,
            currency=currency,
            availability=availability,
            updated_at=at,
        )
    )
    return result.rowcount == 1


def retry_message(connection: Connection, outbox_id: int) -> bool:
    """Queue a failed message again; its attempts and last error stay as the record of what
    happened. False if it is not a failed message (sent ones are never sent twice)."""
    result = connection.execute(
        update(t.outbox)
        .where(t.outbox.c.id == outbox_id, t.outbox.c.status == "failed")
        .values(status="queued")
    )
    return result.rowcount == 1


def retry_all_failed(connection: Connection) -> int:
    """Queue every failed message again; how many."""
    result = connection.execute(
        update(t.outbox).where(t.outbox.c.status == "failed").values(status="queued")
    )
    return int(result.rowcount)
