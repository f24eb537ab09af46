"""A shopper's own data, for their account page: link codes, linked accounts, what waits for
them, their notification choice, the export of everything we hold about them, and erasure.

Every read and write here is scoped by the customer id the caller got from the session, so
no function can hand one shopper another's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, or_, select, update

from hashcart.ports import LOCAL_GATEWAYS
from hashcart.store import gateway_cleanups
from hashcart.store import schema as t
from hashcart.store.repository import Repository

# How many applied intents the account page lists ("applied when you linked").
APPLIED_SHOWN = 20
# What an erased order keeps instead of the shopper's email address.
ERASED_EMAIL = "deleted"


@dataclass(frozen=True)
class LinkCode:
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkedAccount:
    id: int
    network: str
    account_id: str
    handle: str | None
    created_at: datetime


@dataclass(frozen=True)
class Intent:
    """A pending intent as the shopper sees it."""

    network: str
    account_id: str
    handle: str
    post_id: str
    list_kind: str
    product_id: str
    title: str
    quantity: int
    trigger_at: datetime
    expires_at: datetime
    status: str


# link codes ----------------------------------------------------------------------------


def add_link_code(
    connection: Connection, code: str, customer_id: int, at: datetime, expires_at: datetime
) -> bool:
    """Store a new code; False if that code exists already (the caller draws another)."""
    return Repository(connection).add_link_code(code, customer_id, at, expires_at)


def forget_unused_link_codes(connection: Connection, customer_id: int) -> None:
    """Drop the customer's unused codes: a new code replaces the old one."""
    Repository(connection).forget_unused_link_codes(customer_id)


def live_link_code(connection: Connection, customer_id: int, now: datetime) -> LinkCode | None:
    """The customer's code that still works, if any (the newest)."""
    row = connection.execute(
        select(t.link_codes.c.code, t.link_codes.c.expires_at)
        .where(
            t.link_codes.c.customer_id == customer_id,
            t.link_codes.c.used_at.is_(None),
            t.link_codes.c.expires_at > now,
        )
        .order_by(t.link_codes.c.created_at.desc())
        .limit(1)
    ).first()
    return None if row is None else LinkCode(row.code, row.expires_at)


# linked accounts -------------------------------------------------------------------------


def linked_accounts(connection: Connection, customer_id: int) -> list[LinkedAccount]:
    links = t.account_links
    rows = connection.execute(
        select(links)
        .where(links.c.customer_id == customer_id)
        .order_by(links.c.created_at, links.c.id)
    )
    return [
        LinkedAccount(row.id, row.network, row.account_id, row.handle, row.created_at)
        for row in rows
    ]


def links_on(connection: Connection, network: str) -> list[tuple[str, str]]:
    """(account id, handle) of every account linked on `network`, oldest link first."""
    links = t.account_links
    rows = connection.execute(
        select(links.c.account_id, links.c.handle)
        .where(links.c.network == network)
        .order_by(links.c.created_at, links.c.id)
    )
    return [(str(row.account_id), str(row.handle or "")) for row in rows]


def unlink(connection: Connection, customer_id: int, link_id: int) -> LinkedAccount | None:
    """Remove one of the customer's links; None if they have no link with that id."""
    links = t.account_links
    row = connection.execute(
        delete(links)
        .where(links.c.id == link_id, links.c.customer_id == customer_id)
        .returning(
            links.c.id, links.c.network, links.c.account_id, links.c.handle, links.c.created_at
        )
    ).first()
    if row is None:
        return None
    return LinkedAccount(row.id, row.network, row.account_id, row.handle, row.created_at)


# pending intents -------------------------------------------------------------------------
#
# Pending intents belong to social accounts, not customers: they wait for an account that is
# not linked yet, and linking applies them at once. So the "waiting for you" list shows two
# honest things: intents still waiting whose account is linked to this customer (normally none,
# as the link applied them; one appears only if it could not be applied then), and the intents
# that were applied FOR this customer when they linked (their action names this customer),
# newest first. Intents of accounts not linked to them are not theirs to see.


def _intent_query() -> Any:
    p = t.pending_intents
    return select(p, t.products.c.title).join(t.products, t.products.c.product_id == p.c.product_id)


def waiting_intents(connection: Connection, customer_id: int) -> list[Intent]:
    p, links = t.pending_intents, t.account_links
    linked = (
        select(links.c.id)
        .where(
            links.c.customer_id == customer_id,
            links.c.network == p.c.network,
            links.c.account_id == p.c.account_id,
        )
        .exists()
    )
    rows = connection.execute(
        _intent_query()
        .where(p.c.status == "waiting", linked)
        .order_by(p.c.trigger_at, p.c.trigger_post_id)
    )
    return [_intent(row) for row in rows]


def applied_intents(
    connection: Connection, customer_id: int, limit: int = APPLIED_SHOWN
) -> list[Intent]:
    p, a = t.pending_intents, t.actions
    rows = connection.execute(
        _intent_query()
        .join(a, and_(a.c.network == p.c.network, a.c.trigger_post_id == p.c.trigger_post_id))
        .where(p.c.status == "applied", a.c.customer_id == customer_id)
        .order_by(p.c.trigger_at.desc(), p.c.trigger_post_id)
        .limit(limit)
    )
    return [_intent(row) for row in rows]


def _intent(row: Any) -> Intent:
    return Intent(
        network=row.network,
        account_id=row.account_id,
        handle=row.account_handle,
        post_id=row.trigger_post_id,
        list_kind=row.list_kind,
        product_id=row.product_id,
        title=row.title,
        quantity=row.quantity,
        trigger_at=row.trigger_at,
        expires_at=row.expires_at,
        status=row.status,
    )


# notification preference -----------------------------------------------------------------


def set_notify_by(connection: Connection, customer_id: int, notify_by: str) -> None:
    connection.execute(
        update(t.customers).where(t.customers.c.id == customer_id).values(notify_by=notify_by)
    )


# export ----------------------------------------------------------------------------------


def export(connection: Connection, customer_id: int) -> dict[str, Any]:
    """Everything we hold about the customer, as JSON-ready values (the GDPR-style export)."""
    customer = connection.execute(
        select(t.customers).where(t.customers.c.id == customer_id)
    ).first()
    if customer is None:
        return {}
    links = linked_accounts(connection, customer_id)
    keys = [(link.network, link.account_id) for link in links]
    return {
        "profile": {
            "email": customer.email,
            "name": customer.name,
            "created_at": _iso(customer.created_at),
            "notify_by": customer.notify_by,
            "cart_reminders": bool(customer.cart_reminders),
        },
        "linked_accounts": [
            {
                "network": link.network,
                "account_id": link.account_id,
                "handle": link.handle,
                "linked_at": _iso(link.created_at),
            }
            for link in links
        ],
        "cart": _list_export(connection, t.cart_lines, customer_id),
        "wish_list": _list_export(connection, t.wishlist_entries, customer_id),
        "pending_intents": _pending_export(connection, keys),
        "orders": _orders_export(connection, customer_id),
        "posts": _posts_export(connection, keys),
        "saved_card": _saved_card_export(connection, customer_id),
        # Where buys with a post ship (issue 12), as saved on the account page.
        "saved_address": _saved_address_export(connection, customer_id),
        # Offers by hashtag (issue 12): the offers they loaded or asked for.
        "offers": _offers_export(connection, customer_id, keys),
    }


def _saved_address_export(connection: Connection, customer_id: int) -> dict[str, Any] | None:
    a = t.saved_addresses.c
    row = connection.execute(select(t.saved_addresses).where(a.customer_id == customer_id)).first()
    if row is None:
        return None
    return {
        "name": row.ship_name,
        "line1": row.ship_line1,
        "line2": row.ship_line2 or "",
        "city": row.ship_city,
        "postcode": row.ship_postcode,
        "country": row.ship_country,
        "saved_at": _iso(row.saved_at),
    }


def _saved_card_export(connection: Connection, customer_id: int) -> dict[str, Any] | None:
    """The saved card as hashcart holds it: brand, last four, gateway, when; hashcart never
    has the number, and the gateway's own id for the card is of no use to the shopper."""
    m = t.saved_payment_methods
    row = connection.execute(select(m).where(m.c.customer_id == customer_id)).first()
    if row is None:
        return None
    return {
        "brand": row.brand,
        "last4": row.last4,
        "gateway": row.gateway,
        "saved_at": _iso(row.saved_at),
    }


def _offers_export(
    connection: Connection, customer_id: int, keys: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    loads, offers = t.offer_loads, t.offers
    mine = loads.c.customer_id == customer_id
    if keys:
        mine = or_(mine, _of_accounts(loads.c.network, loads.c.account_id, keys))
    rows = connection.execute(
        select(loads, offers.c.tag)
        .join(offers, offers.c.id == loads.c.offer_id)
        .where(mine)
        .order_by(loads.c.posted_at, loads.c.id)
    )
    return [
        {
            "tag": row.tag,
            "status": row.status,
            "network": row.network,
            "account_id": row.account_id,
            "post_id": row.trigger_post_id,
            "posted_at": _iso(row.posted_at),
            "redeemed_order_id": row.redeemed_order_id,
        }
        for row in rows
    ]


def _list_export(connection: Connection, table: Table, customer_id: int) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(table, t.products.c.title)
        .join(t.products, t.products.c.product_id == table.c.product_id)
        .where(table.c.customer_id == customer_id)
        .order_by(table.c.created_at, table.c.id)
    )
    return [
        {
            "product_id": row.product_id,
            "title": row.title,
            "quantity": row.quantity,
            "source_network": row.network,
            "source_post_id": row.post_id,
            "added_at": _iso(row.created_at),
        }
        for row in rows
    ]


def _of_accounts(network_column: Any, account_column: Any, keys: list[tuple[str, str]]) -> Any:
    return or_(
        *(and_(network_column == network, account_column == account) for network, account in keys)
    )


def _pending_export(connection: Connection, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    if not keys:
        return []
    p = t.pending_intents
    rows = connection.execute(
        _intent_query()
        .where(_of_accounts(p.c.network, p.c.account_id, keys))
        .order_by(p.c.trigger_at, p.c.trigger_post_id)
    )
    return [
        {
            "network": row.network,
            "account_id": row.account_id,
            "handle": row.account_handle,
            "post_id": row.trigger_post_id,
            "list": row.list_kind,
            "product_id": row.product_id,
            "title": row.title,
            "quantity": row.quantity,
            "asked_at": _iso(row.trigger_at),
            "expires_at": _iso(row.expires_at),
            "status": row.status,
        }
        for row in rows
    ]


def _orders_export(connection: Connection, customer_id: int) -> list[dict[str, Any]]:
    o, ol = t.orders, t.order_lines
    orders = connection.execute(
        select(o).where(o.c.customer_id == customer_id).order_by(o.c.created_at, o.c.id)
    ).all()
    if not orders:
        return []
    lines: dict[int, list[dict[str, Any]]] = {}
    for row in connection.execute(
        select(ol).where(ol.c.order_id.in_([order.id for order in orders])).order_by(ol.c.id)
    ):
        lines.setdefault(row.order_id, []).append(
            {
                "product_id": row.product_id,
                "title": row.title,
                "unit_price": _money(row.unit_price),
                "currency": row.currency,
                "quantity": row.quantity,
                "source_network": row.network,
                "source_post_id": row.post_id,
            }
        )
    return [
        {
            "id": order.id,
            "status": order.status,
            "placed_at": _iso(order.created_at),
            "email": order.email,
            "ship_to": {
                "name": order.ship_name,
                "line1": order.ship_line1,
                "line2": order.ship_line2,
                "city": order.ship_city,
                "postcode": order.ship_postcode,
                "country": order.ship_country,
            },
            "payment": {"gateway": order.payment_gateway, "reference": order.payment_reference},
            "total": _money(order.total_amount),
            "currency": order.currency,
            "lines": lines.get(order.id, []),
        }
        for order in orders
    ]


def _posts_export(connection: Connection, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    if not keys:
        return []
    posts = t.posts
    rows = connection.execute(
        select(posts)
        .where(_of_accounts(posts.c.network, posts.c.author_id, keys))
        .order_by(posts.c.created_at, posts.c.post_id)
    )
    return [
        {
            "network": row.network,
            "post_id": row.post_id,
            "handle": row.author_handle,
            "text": row.text,
            "posted_at": _iso(row.created_at),
            "in_reply_to": row.parent_id,
        }
        for row in rows
    ]


# erasure ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    """A customer erased; the provider clean-ups owed for them (services/saved_cards asks
    the provider for them once the erasure commits)."""

    cleanups: tuple[int, ...]


def erase_customer(connection: Connection, customer_id: int, now: datetime) -> Erased | None:
    """Erase the customer, in the caller's transaction; None if there was none.

    Gone: their links, cart, wish list, the pending intents and the stored text of the posts
    of their linked accounts, link codes, sessions, reset links, failed sign-ins of their
    address, their saved card and provider customers, and the customer row. Owed in the same
    transaction: the card's detachment and the provider customers' deletion at the provider
    (gateway_cleanups), so a card is never left attached to a forgotten shopper unnoticed.
    Kept, as the law needs for invoices: their orders with lines, amounts and shipping
    address, detached from the customer, the email replaced.
    """
    customer = connection.execute(
        select(t.customers.c.email).where(t.customers.c.id == customer_id)
    ).first()
    if customer is None:
        return None
    cleanups = _owe_provider_cleanups(connection, customer_id, now)
    keys = [(link.network, link.account_id) for link in linked_accounts(connection, customer_id)]
    if keys:
        p, posts = t.pending_intents, t.posts
        connection.execute(delete(p).where(_of_accounts(p.c.network, p.c.account_id, keys)))
        loads = t.offer_loads  # offers by hashtag (issue 12): their loads name their accounts
        connection.execute(
            delete(loads).where(_of_accounts(loads.c.network, loads.c.account_id, keys))
        )
        connection.execute(
            update(posts)
            .where(_of_accounts(posts.c.network, posts.c.author_id, keys))
            .values(text=None)
        )
    for table in (
        t.account_links,
        t.cart_lines,
        t.wishlist_entries,
        t.link_codes,
        t.password_resets,
        t.saved_payment_methods,
        t.provider_customers,
        t.offer_loads,
        t.saved_addresses,
        t.store_customer_sessions,  # their linked store account's session (issue 16)
    ):
        connection.execute(delete(table).where(table.c.customer_id == customer_id))
    connection.execute(
        delete(t.web_sessions).where(
            t.web_sessions.c.kind == "shopper", t.web_sessions.c.subject_id == customer_id
        )
    )
    connection.execute(
        delete(t.sign_in_failures).where(
            t.sign_in_failures.c.key == f"shopper:account:{customer.email.lower()}"
        )
    )
    connection.execute(
        update(t.orders)
        .where(t.orders.c.customer_id == customer_id)
        .values(customer_id=None, email=ERASED_EMAIL)
    )
    connection.execute(
        update(t.actions).where(t.actions.c.customer_id == customer_id).values(customer_id=None)
    )
    connection.execute(delete(t.customers).where(t.customers.c.id == customer_id))
    return Erased(cleanups)


def _owe_provider_cleanups(
    connection: Connection, customer_id: int, now: datetime
) -> tuple[int, ...]:
    """The saved card's detachment first, then each provider customer's deletion."""
    owed = []
    method = connection.execute(
        select(t.saved_payment_methods).where(t.saved_payment_methods.c.customer_id == customer_id)
    ).first()
    if method is not None and method.gateway not in LOCAL_GATEWAYS:
        owed.append(
            gateway_cleanups.owe(
                connection, method.gateway, "detach_payment_method", method.method_id, now
            )
        )
    p = t.provider_customers
    for row in connection.execute(
        select(p.c.gateway, p.c.provider_id)
        .where(p.c.customer_id == customer_id)
        .order_by(p.c.gateway)
    ):
        owed.append(
            gateway_cleanups.owe(connection, row.gateway, "delete_customer", row.provider_id, now)
        )
    return tuple(owed)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)
