"""A reminder of a cart that waited (issue 14): who asked for one, the carts due, and the
unique key (customer, last order) that keeps it to one per cart."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, exists, func, select, update

from hashcart.ports import Contact, WaitingCart
from hashcart.store import schema as t
from hashcart.store.statements import insert_ignoring


def reminders_on(connection: Connection, customer_id: int) -> bool:
    found = connection.execute(
        select(t.customers.c.cart_reminders).where(t.customers.c.id == customer_id)
    ).scalar()
    return bool(found)


def set_reminders(connection: Connection, customer_id: int, on: bool) -> None:
    connection.execute(
        update(t.customers).where(t.customers.c.id == customer_id).values(cart_reminders=on)
    )


def waiting_carts(connection: Connection, waited_since: datetime, limit: int) -> list[WaitingCart]:
    customers, lines, orders, taken = t.customers, t.cart_lines, t.orders, t.cart_reminders
    last_order = (
        select(func.coalesce(func.max(orders.c.id), 0))
        .where(orders.c.customer_id == customers.c.id)
        .scalar_subquery()
    )
    due = connection.execute(
        select(customers.c.id, customers.c.email, customers.c.notify_by, last_order)
        .where(
            customers.c.cart_reminders.is_(True),
            exists().where(
                lines.c.customer_id == customers.c.id, lines.c.created_at <= waited_since
            ),
            ~exists().where(
                and_(taken.c.customer_id == customers.c.id, taken.c.after_order == last_order)
            ),
        )
        .order_by(customers.c.id)
        .limit(limit)
    ).all()
    found = []
    for customer_id, email, notify_by, after_order in due:
        line = connection.execute(
            select(lines.c.quantity, lines.c.network, lines.c.post_id, t.products.c.title)
            .join(t.products, t.products.c.product_id == lines.c.product_id)
            .where(lines.c.customer_id == customer_id)
            .order_by(lines.c.created_at, lines.c.id)
            .limit(1)
        ).one()
        link = connection.execute(
            select(t.account_links.c.account_id, t.account_links.c.handle)
            .where(
                t.account_links.c.customer_id == customer_id,
                t.account_links.c.network == line.network,
            )
            .order_by(t.account_links.c.id)
            .limit(1)
        ).first()
        found.append(
            WaitingCart(
                contact=Contact(customer_id, email, notify_by),
                after_order=int(after_order),
                product_title=line.title,
                quantity=line.quantity,
                network=line.network,
                post_id=line.post_id,
                account=None if link is None else (link.account_id, link.handle or ""),
            )
        )
    return found


def claim(connection: Connection, customer_id: int, after_order: int, at: datetime) -> bool:
    statement = insert_ignoring(connection.dialect.name, t.cart_reminders.name)
    inserted = connection.execute(
        statement, [{"customer_id": customer_id, "after_order": after_order, "queued_at": at}]
    ).all()
    return len(inserted) == 1
