"""A shopper's cart and wish list as the web reads and changes them.

Prices and availability are read from `products` every time (never frozen on the line), and
each line says where it came from: the shoppable post a reply answered, or the shop itself.
Every change names the customer as well as the line, so one shopper's line ids do nothing
in another's hands.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Table, and_, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hashcart.domain.carts import (
    WEB_ADD,
    Refusal,
    can_be_bought,
    cart_refusal,
    new_line_quantity,
)
from hashcart.domain.carts import (
    ListKind as ListKind,  # the web's routes name the lists through this module
)
from hashcart.domain.posts import network_names
from hashcart.domain.shop_accounts import ShopAccount
from hashcart.ports import (  # their home is ports; the web's routes name them here
    ListItem as ListItem,
)
from hashcart.ports import (
    Origin as Origin,
)
from hashcart.store import schema as t
from hashcart.store.repository import LIST_TABLES
from hashcart.store.shoppable import shoppable_conditions

TABLES: dict[ListKind, Table] = LIST_TABLES
# Lines added on the web carry this network and "<network>/<shoppable post id>" (or "").
WEB_NETWORK = "web"


def web_source(network: str, post_id: str) -> str:
    """The post_id a web-added line stores for the shoppable post it was added from."""
    return f"{network}/{post_id}" if network and post_id else ""


def parse_web_source(source: str) -> tuple[str, str] | None:
    """(network, post id) from a web line's post_id; ids may contain '/', networks do not."""
    network, slash, post_id = source.partition("/")
    if not slash or network not in network_names() or not post_id:
        return None
    return network, post_id


# reads --------------------------------------------------------------------------------


def list_items(connection: Connection, kind: ListKind, customer_id: int) -> list[ListItem]:
    """The customer's cart or wish list, oldest first, each line with its current product
    and the shoppable post it came from."""
    table = TABLES[kind]
    trigger = t.posts.alias("trigger_post")
    parent = t.posts.alias("parent_post")
    rows = connection.execute(
        select(
            table.c.id,
            table.c.product_id,
            table.c.quantity,
            table.c.network,
            table.c.post_id,
            table.c.created_at,
            t.products.c.title,
            t.products.c.link,
            t.products.c.price_amount,
            t.products.c.currency,
            t.products.c.availability,
            parent.c.post_id.label("parent_id"),
            parent.c.author_id.label("parent_author_id"),
            parent.c.author_handle.label("parent_author_handle"),
        )
        .join(t.products, t.products.c.product_id == table.c.product_id)
        # A reply's line names its trigger post; the trigger names the post it answered.
        .outerjoin(
            trigger,
            and_(trigger.c.network == table.c.network, trigger.c.post_id == table.c.post_id),
        )
        .outerjoin(
            parent,
            and_(parent.c.network == trigger.c.network, parent.c.post_id == trigger.c.parent_id),
        )
        .where(table.c.customer_id == customer_id)
        .order_by(table.c.created_at, table.c.id)
    ).all()
    web_posts = _web_source_posts(connection, [row.post_id for row in rows if _is_web(row)])
    items = []
    for row in rows:
        if _is_web(row):
            origin = web_posts.get(row.post_id, Origin("shop"))
        else:
            origin = Origin(
                "reply",
                network=row.network,
                post_id=row.parent_id,
                author_id=row.parent_author_id,
                author_handle=row.parent_author_handle,
                trigger_post_id=row.post_id,
            )
        items.append(
            ListItem(
                id=row.id,
                product_id=row.product_id,
                title=row.title,
                link=row.link,
                price=None if row.price_amount is None else Decimal(row.price_amount),
                currency=row.currency,
                availability=row.availability,
                quantity=row.quantity,
                origin=origin,
                added_at=row.created_at,
            )
        )
    return items


def _is_web(row: Any) -> bool:
    return bool(row.network == WEB_NETWORK)


def _web_source_posts(connection: Connection, sources: Sequence[str]) -> dict[str, Origin]:
    found: dict[str, Origin] = {}
    for source in dict.fromkeys(sources):
        parsed = parse_web_source(source)
        if parsed is None:
            continue
        network, post_id = parsed
        row = connection.execute(
            select(t.posts.c.author_id, t.posts.c.author_handle).where(
                t.posts.c.network == network, t.posts.c.post_id == post_id
            )
        ).first()
        if row is not None:
            found[source] = Origin("shop", network, post_id, row.author_id, row.author_handle)
    return found


def find_item(
    connection: Connection, kind: ListKind, customer_id: int, line_id: int
) -> ListItem | None:
    """One of the customer's lines; None for a line that is not theirs."""
    for item in list_items(connection, kind, customer_id):
        if item.id == line_id:
            return item
    return None


@dataclass(frozen=True)
class ProductNow:
    product_id: str
    title: str
    availability: str

    @property
    def available(self) -> bool:
        return can_be_bought(self.availability)


def product_now(connection: Connection, product_id: str) -> ProductNow | None:
    row = connection.execute(
        select(t.products.c.title, t.products.c.availability).where(
            t.products.c.product_id == product_id
        )
    ).first()
    return None if row is None else ProductNow(product_id, row.title, row.availability)


def shoppable_post_naming(
    connection: Connection,
    network: str,
    post_id: str,
    product_id: str,
    accounts: Iterable[ShopAccount] = (),
) -> bool:
    """Whether (network, post_id) is a shoppable post (of `accounts`, when there are any: see
    store/shoppable) that carries `product_id`'s link: only such a post may be credited with
    a web add (the funnel counts per post)."""
    if network not in network_names() or not post_id:
        return False
    row = connection.execute(
        select(t.post_products.c.position)
        .join(
            t.posts,
            and_(
                t.posts.c.network == t.post_products.c.network,
                t.posts.c.post_id == t.post_products.c.post_id,
            ),
        )
        .where(
            t.post_products.c.network == network,
            t.post_products.c.post_id == post_id,
            t.post_products.c.product_id == product_id,
            *shoppable_conditions(t.posts, accounts=accounts),
        )
        .limit(1)
    ).first()
    return row is not None


# changes ------------------------------------------------------------------------------


class AddOutcome(StrEnum):
    ADDED = "added"
    ONE_MORE = "one_more"
    AT_MOST = "at_most"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


def add_to_cart(
    connection: Connection,
    customer_id: int,
    product_id: str,
    source: str,
    max_quantity: int,
    at: datetime,
) -> AddOutcome:
    """One more of the product in the cart, by the web's cart rule (domain/carts.WEB_ADD: a
    new line with quantity 1, or +1 on the line already there, up to `max_quantity`).
    `source` is the web line's post_id (web_source)."""
    rule = WEB_ADD
    product = product_now(connection, product_id)
    refusal = cart_refusal(None if product is None else product.availability)
    if refusal is Refusal.UNKNOWN:
        return AddOutcome.UNKNOWN
    if refusal is Refusal.UNAVAILABLE:
        return AddOutcome.UNAVAILABLE
    values = {
        "customer_id": customer_id,
        "product_id": product_id,
        "quantity": new_line_quantity(rule, 1, max_quantity),
        "network": WEB_NETWORK,
        "post_id": source,
        "created_at": at,
    }
    if _insert_ignoring(connection, t.cart_lines, values):
        return AddOutcome.ADDED
    # The line was there: the first origin stays, the quantity grows (never past the most),
    # in one statement so that two adds at once both count.
    grown = connection.execute(
        update(t.cart_lines)
        .where(
            t.cart_lines.c.customer_id == customer_id,
            t.cart_lines.c.product_id == product_id,
            t.cart_lines.c.quantity + rule.grows_by <= max_quantity,
        )
        .values(quantity=t.cart_lines.c.quantity + rule.grows_by)
    )
    return AddOutcome.ONE_MORE if grown.rowcount else AddOutcome.AT_MOST


def set_quantity(
    connection: Connection, kind: ListKind, customer_id: int, line_id: int, quantity: int
) -> bool:
    """True if the customer had that line (and now it has `quantity`)."""
    table = TABLES[kind]
    result = connection.execute(
        update(table)
        .where(table.c.id == line_id, table.c.customer_id == customer_id)
        .values(quantity=quantity)
    )
    return bool(result.rowcount)


def remove(connection: Connection, kind: ListKind, customer_id: int, line_id: int) -> bool:
    table = TABLES[kind]
    result = connection.execute(
        delete(table).where(table.c.id == line_id, table.c.customer_id == customer_id)
    )
    return bool(result.rowcount)


class MoveOutcome(StrEnum):
    MOVED = "moved"
    MERGED = "merged"  # the other list had the product: quantities added up (capped)
    MISSING = "missing"
    UNAVAILABLE = "unavailable"


def move(
    connection: Connection,
    kind: ListKind,
    customer_id: int,
    line_id: int,
    max_quantity: int,
    at: datetime,
) -> MoveOutcome:
    """Move a line from `kind` to the other list, keeping where it came from. A product that
    cannot be bought now does not go into the cart (it stays on the wish list)."""
    source, target = TABLES[kind], TABLES["wishlist" if kind == "cart" else "cart"]
    row = connection.execute(
        select(source).where(source.c.id == line_id, source.c.customer_id == customer_id)
    ).first()
    if row is None:
        return MoveOutcome.MISSING
    if target is t.cart_lines:
        product = product_now(connection, row.product_id)
        if cart_refusal(None if product is None else product.availability) is not None:
            return MoveOutcome.UNAVAILABLE
    connection.execute(delete(source).where(source.c.id == line_id))
    values = {
        "customer_id": customer_id,
        "product_id": row.product_id,
        "quantity": min(row.quantity, max_quantity),
        "network": row.network,
        "post_id": row.post_id,
        "created_at": at,
    }
    if _insert_ignoring(connection, target, values):
        return MoveOutcome.MOVED
    # domain/carts.merged_quantity, in SQL: summed, never past max_quantity.
    combined = target.c.quantity + row.quantity
    connection.execute(
        update(target)
        .where(target.c.customer_id == customer_id, target.c.product_id == row.product_id)
        .values(quantity=case((combined > max_quantity, max_quantity), else_=combined))
    )
    return MoveOutcome.MERGED


def remove_products(connection: Connection, customer_id: int, product_ids: Sequence[str]) -> None:
    """Take these products out of the customer's cart (they were ordered)."""
    if product_ids:
        connection.execute(
            delete(t.cart_lines).where(
                t.cart_lines.c.customer_id == customer_id,
                t.cart_lines.c.product_id.in_(list(product_ids)),
            )
        )


def _insert_ignoring(connection: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True if the row went in."""
    insert: Any = (
        postgresql.insert(table)
        if connection.dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    statement = insert.values(**values).on_conflict_do_nothing().returning(table.c.id)
    return connection.execute(statement).first() is not None


class StoredCarts:
    """The shoppers' carts and wish lists of one open transaction (ports.CartLines)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def items(self, kind: ListKind, customer_id: int) -> list[ListItem]:
        return list_items(self.connection, kind, customer_id)

    def remove_products(self, customer_id: int, product_ids: Sequence[str]) -> None:
        remove_products(self.connection, customer_id, product_ids)
