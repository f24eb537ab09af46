"""Order care's reads and writes (issue 12): a customer's latest orders as `#order` answers
them, and marking an order shipped exactly once.

Kept apart from store/orders (which checkout writes through) so the two can move behind
their repositories separately; store/repository.Repository and store/orders.StoredOrders
delegate here (ports: "order care" sections)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from hashcart.domain.order_care import CustomerOrders, OrderState, ShippingFacts, SocialSource
from hashcart.domain.posts import Network
from hashcart.store import schema as t


def recent_orders(
    connection: Connection, customer_ids: Iterable[int], limit: int
) -> dict[int, CustomerOrders]:
    """Each customer's `limit` newest orders and how many they have, in one statement (a
    window over `orders`); a customer without orders is left out."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    o = t.orders
    newest_first = (o.c.created_at.desc(), o.c.id.desc())
    ranked = (
        select(
            o.c.id,
            o.c.customer_id,
            o.c.status,
            o.c.created_at,
            o.c.shipped_at,
            o.c.tracking_url,
            func.row_number()
            .over(partition_by=o.c.customer_id, order_by=newest_first)
            .label("rank"),
            func.count().over(partition_by=o.c.customer_id).label("total"),
        )
        .where(o.c.customer_id.in_(ids))
        .subquery()
    )
    rows = connection.execute(
        select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.customer_id, ranked.c.rank)
    ).all()
    found: dict[int, CustomerOrders] = {}
    for row in rows:
        state = OrderState(
            number=int(row.id),
            placed_at=row.created_at,
            status=row.status,
            shipped_at=row.shipped_at,
            tracking_url=row.tracking_url,
        )
        known = found.get(row.customer_id)
        latest = (*known.latest, state) if known else (state,)
        found[row.customer_id] = CustomerOrders(latest, int(row.total))
    return found


def shipping_facts(connection: Connection, order_id: int) -> ShippingFacts | None:
    """What marking order `order_id` shipped needs to know; None when there is no such order."""
    o = t.orders
    row = connection.execute(
        select(
            o.c.id, o.c.customer_id, o.c.email, o.c.status, o.c.shipped_at, o.c.tracking_url
        ).where(o.c.id == order_id)
    ).first()
    if row is None:
        return None
    return ShippingFacts(
        order_id=int(row.id),
        customer_id=row.customer_id,
        email=row.email,
        status=row.status,
        shipped_at=row.shipped_at,
        tracking_url=row.tracking_url,
        source=_social_source(connection, int(row.id), row.customer_id),
    )


def _social_source(
    connection: Connection, order_id: int, customer_id: int | None
) -> SocialSource | None:
    """The first of the order's lines that came from a trigger post whose author is still
    linked to the order's customer: where a message about the order can answer."""
    if customer_id is None:
        return None
    lines, posts, links = t.order_lines, t.posts, t.account_links
    row = connection.execute(
        select(lines.c.network, posts.c.post_id, posts.c.author_id, posts.c.author_handle)
        .join(
            posts,
            (posts.c.network == lines.c.network) & (posts.c.post_id == lines.c.trigger_post_id),
        )
        .join(
            links,
            (links.c.network == posts.c.network)
            & (links.c.account_id == posts.c.author_id)
            & (links.c.customer_id == customer_id),
        )
        .where(lines.c.order_id == order_id)
        .order_by(lines.c.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return SocialSource(Network(row.network), row.post_id, row.author_id, row.author_handle)


def mark_shipped(
    connection: Connection,
    order_id: int,
    tracking_url: str | None,
    at: datetime,
    carrier: str | None = None,
) -> bool:
    """Mark the order shipped now, with its carrier and tracking link; False when it already
    was, or was cancelled meanwhile (the first marking stands: a compare and set, so two at
    once make one, and a cancel and a ship at once make one of them)."""
    o = t.orders
    result = connection.execute(
        update(o)
        .where(o.c.id == order_id, o.c.shipped_at.is_(None), o.c.cancelled_at.is_(None))
        .values(shipped_at=at, tracking_url=tracking_url, carrier=carrier)
    )
    return result.rowcount == 1


def cancel(connection: Connection, order_id: int, at: datetime) -> bool:
    """Mark the order cancelled now; False when it was shipped, refunded or cancelled
    already (a compare and set: of a cancel and a ship at once, or two cancels, one wins)."""
    o = t.orders
    result = connection.execute(
        update(o)
        .where(
            o.c.id == order_id,
            o.c.shipped_at.is_(None),
            o.c.cancelled_at.is_(None),
            o.c.status.in_(("placed", "paid")),
        )
        .values(status="cancelled", cancelled_at=at)
    )
    return result.rowcount == 1
