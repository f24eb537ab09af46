"""The console's customers (issue 14): the list paged by key (by email, unique and indexed:
a page ends at an email and the next starts after it, never at an OFFSET) with a search by
email or handle, and one customer's page: their linked accounts, cart, wish list, orders
and the messages sent to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, func, or_, select

from hashcart.ports import ListItem
from hashcart.store import schema as t
from hashcart.store.outbox_text import text_for_staff
from hashcart.store.shopping import list_items
from hashcart.views.console import (
    PER_PAGE,
    Customer,
    LinkedAccount,
    _counts_by_customer,
)
from hashcart.views.console_orders import KeysetPage

MAX_SEARCH = 320
MESSAGES_SHOWN = 50
ORDERS_SHOWN = 50


def _links(connection: Connection, ids: list[int]) -> dict[int, list[LinkedAccount]]:
    links: dict[int, list[LinkedAccount]] = {}
    a = t.account_links
    for link in connection.execute(
        select(a).where(a.c.customer_id.in_(ids)).order_by(a.c.network, a.c.id)
    ):
        links.setdefault(link.customer_id, []).append(
            LinkedAccount(link.network, link.account_id, link.handle)
        )
    return links


def customer_page(
    connection: Connection,
    search: str = "",
    after: str = "",
    per_page: int = PER_PAGE,
    before: str = "",
) -> KeysetPage[Customer]:
    """Customers by email, the `per_page` after the email `after` (or, going back, before
    the email `before`); `search` matches anywhere in the email, or the start of a linked
    account's handle (`@ann`), any case."""
    c, a = t.customers, t.account_links
    query = select(c.c.id, c.c.email, c.c.name, c.c.created_at, c.c.password_hash)
    search = " ".join(search.split())[:MAX_SEARCH]
    if search:
        handle = search.removeprefix("@").lower()
        linked = select(a.c.customer_id).where(
            func.lower(a.c.handle).startswith(handle, autoescape=True)
        )
        query = query.where(or_(c.c.email.icontains(search, autoescape=True), c.c.id.in_(linked)))
    if before:
        query = query.where(c.c.email < before[:MAX_SEARCH]).order_by(c.c.email.desc())
        found = connection.execute(query.limit(per_page + 1)).all()
        more_before = len(found) > per_page
        rows = found[:per_page][::-1]
        more = True  # the page this one was reached from
    else:
        if after:
            query = query.where(c.c.email > after[:MAX_SEARCH])
        rows = connection.execute(query.order_by(c.c.email).limit(per_page + 1)).all()
        more = len(rows) > per_page
        more_before = bool(after)
        rows = rows[:per_page]
    ids = [row.id for row in rows]
    links = _links(connection, ids)
    cart_lines = _counts_by_customer(connection, t.cart_lines, ids)
    orders = _counts_by_customer(connection, t.orders, ids)
    items = [
        Customer(
            id=row.id,
            email=row.email,
            name=row.name,
            created_at=row.created_at,
            can_sign_in=row.password_hash is not None,
            links=links.get(row.id, []),
            cart_lines=cart_lines.get(row.id, 0),
            orders=orders.get(row.id, 0),
        )
        for row in rows
    ]
    earlier = rows[0].email if more_before and rows else None
    return KeysetPage(items, rows[-1].email if more and rows else None, not more_before, earlier)


def customer_count(connection: Connection) -> int:
    """How many customers there are (the primary key's index)."""
    return int(connection.scalar(select(func.count()).select_from(t.customers)) or 0)


@dataclass(frozen=True)
class CustomerOrder:
    id: int
    created_at: datetime
    status: str
    total_amount: Decimal
    currency: str
    shipped_at: datetime | None


@dataclass(frozen=True)
class Message:
    created_at: datetime
    network: str
    channel: str
    reason: str
    status: str
    text: str
    subject: str | None


@dataclass(frozen=True)
class CustomerDetail:
    customer: Customer
    notify_by: str
    cart: list[ListItem] = field(default_factory=list)
    wishlist: list[ListItem] = field(default_factory=list)
    orders: list[CustomerOrder] = field(default_factory=list)
    order_count: int = 0
    messages: list[Message] = field(default_factory=list)


def customer_detail(connection: Connection, customer_id: int) -> CustomerDetail | None:
    c = t.customers
    row = connection.execute(select(c).where(c.c.id == customer_id)).first()
    if row is None:
        return None
    links = _links(connection, [customer_id]).get(customer_id, [])
    o = t.orders
    order_rows = connection.execute(
        select(o.c.id, o.c.created_at, o.c.status, o.c.total_amount, o.c.currency, o.c.shipped_at)
        .where(o.c.customer_id == customer_id)
        .order_by(o.c.created_at.desc(), o.c.id.desc())
        .limit(ORDERS_SHOWN)
    ).all()
    order_count = _counts_by_customer(connection, o, [customer_id]).get(customer_id, 0)
    cart = list_items(connection, "cart", customer_id)
    customer = Customer(
        id=row.id,
        email=row.email,
        name=row.name,
        created_at=row.created_at,
        can_sign_in=row.password_hash is not None,
        links=links,
        cart_lines=len(cart),
        orders=order_count,
    )
    return CustomerDetail(
        customer=customer,
        notify_by=row.notify_by,
        cart=cart,
        wishlist=list_items(connection, "wishlist", customer_id),
        orders=[
            CustomerOrder(
                r.id, r.created_at, r.status, Decimal(r.total_amount), r.currency, r.shipped_at
            )
            for r in order_rows
        ],
        order_count=order_count,
        messages=_messages(connection, row.email, links),
    )


def _messages(connection: Connection, email: str, links: list[LinkedAccount]) -> list[Message]:
    """The newest messages to the customer's linked accounts and email address (the
    outbox's (network, account_id) index finds them)."""
    o = t.outbox
    accounts = [(link.network, link.account_id) for link in links] + [("email", email)]
    rows = connection.execute(
        select(o.c.created_at, o.c.network, o.c.channel, o.c.reason, o.c.status, o.c.text)
        .add_columns(o.c.subject)
        .where(
            or_(
                *(
                    and_(o.c.network == network, o.c.account_id == account)
                    for network, account in accounts
                )
            )
        )
        .order_by(o.c.id.desc())
        .limit(MESSAGES_SHOWN)
    )
    return [
        Message(
            row.created_at,
            row.network,
            row.channel,
            row.reason,
            row.status,
            text_for_staff(row.channel, row.reason, row.text),
            row.subject,
        )
        for row in rows
    ]


__all__ = [
    "CustomerDetail",
    "CustomerOrder",
    "Message",
    "customer_count",
    "customer_detail",
    "customer_page",
]
