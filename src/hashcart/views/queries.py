"""Read-side views for the command line and, later, the web, in the documented JSON shapes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, func, select

from hashcart.store import schema as t


def _lists(connection: Connection, table: Table, email: str | None) -> list[dict[str, Any]]:
    query = (
        select(
            t.customers.c.email,
            table.c.product_id,
            t.products.c.title,
            table.c.quantity,
            table.c.network,
            table.c.post_id,
        )
        .join(t.customers, t.customers.c.id == table.c.customer_id)
        .join(t.products, t.products.c.product_id == table.c.product_id)
        .order_by(t.customers.c.email, table.c.created_at, table.c.id)
    )
    if email is not None:
        query = query.where(t.customers.c.email == email)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in connection.execute(query):
        grouped.setdefault(row.email, []).append(
            {
                "product_id": row.product_id,
                "title": row.title,
                "quantity": row.quantity,
                "network": row.network,
                "post_id": row.post_id,
            }
        )
    return [{"customer": customer, "lines": lines} for customer, lines in grouped.items()]


def carts(connection: Connection, email: str | None = None) -> list[dict[str, Any]]:
    return _lists(connection, t.cart_lines, email)


def wishlists(connection: Connection, email: str | None = None) -> list[dict[str, Any]]:
    return _lists(connection, t.wishlist_entries, email)


def pending(connection: Connection) -> list[dict[str, Any]]:
    p = t.pending_intents
    rows = connection.execute(
        select(p, t.products.c.title)
        .join(t.products, t.products.c.product_id == p.c.product_id)
        .order_by(p.c.network, p.c.account_id, p.c.trigger_at)
    )
    return [
        {
            "network": row.network,
            "account_id": row.account_id,
            "handle": row.account_handle,
            "list": row.list_kind,
            "product_id": row.product_id,
            "title": row.title,
            "quantity": row.quantity,
            "post_id": row.trigger_post_id,
            "trigger_at": row.trigger_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
            "status": row.status,
        }
        for row in rows
    ]


def outbox(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(t.outbox).order_by(t.outbox.c.id))
    return [
        {
            "network": row.network,
            "account_id": row.account_id,
            "in_reply_to": row.in_reply_to,
            "reason": row.reason,
            "text": row.text,
        }
        for row in rows
    ]


def dead_letters(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(t.dead_letters).order_by(t.dead_letters.c.id))
    return [{"source": row.source, "line": row.line, "reason": row.reason} for row in rows]


def counts(connection: Connection) -> dict[str, int]:
    """Row counts of the engine's tables, for summaries and tests."""
    tables = {
        "cart_lines": t.cart_lines,
        "wishlist_entries": t.wishlist_entries,
        "pending_intents": t.pending_intents,
        "outbox": t.outbox,
        "actions": t.actions,
        "dead_letters": t.dead_letters,
        "posts": t.posts,
    }
    return {
        name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for name, table in tables.items()
    }


def customer_id_of(connection: Connection, email: str) -> int | None:
    """The id of the customer with this (lower-case) email, None when there is none."""
    found: int | None = connection.scalar(
        select(t.customers.c.id).where(t.customers.c.email == email)
    )
    return found


def customer_exists(connection: Connection, email: str) -> bool:
    row = connection.execute(select(t.customers.c.id).where(t.customers.c.email == email)).first()
    return row is not None
