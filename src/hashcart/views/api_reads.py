"""Read-side views the JSON API serves beyond `queries`: orders, the catalog and the outbox.

Orders are read straight from `orders`/`order_lines` (two queries for any number of orders);
checkout owns how they are written.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from hashcart.store import schema as t
from hashcart.store.outbox_text import text_for_staff
from hashcart.views.keyset import KeyOrder, keyset_page

# Every list the API serves is paged by key (views/keyset): at most `limit` items, and the
# cursor of the next page (None on the last); this many when the caller names no limit.
API_PAGE = 500

# Emails whose text is a secret for its recipient alone (a reset link signs in as them):
# the API reports that they exist, never what they say.


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def orders(
    connection: Connection, customer_id: int | None = None, order_id: int | None = None
) -> list[dict[str, Any]]:
    """Orders with their lines, newest first; only `customer_id`'s, or the one order
    `order_id` (the console's order page), when given."""
    o = t.orders
    query = select(o).order_by(o.c.created_at.desc(), o.c.id.desc())
    if customer_id is not None:
        query = query.where(o.c.customer_id == customer_id)
    if order_id is not None:
        query = query.where(o.c.id == order_id)
    return _orders_of(connection, list(connection.execute(query).all()))


_ORDERS_ORDER: KeyOrder = ((t.orders.c.created_at, True), (t.orders.c.id, True))


def orders_page(
    connection: Connection, customer_id: int | None, after: str = "", limit: int = API_PAGE
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of `orders` (newest first) after the cursor `after`, and the next cursor."""
    o = t.orders
    query = select(o)
    if customer_id is not None:
        query = query.where(o.c.customer_id == customer_id)
    rows, next_after, _ = keyset_page(
        connection,
        query,
        _ORDERS_ORDER,
        lambda row: (row.created_at, row.id),
        after=after,
        limit=limit,
    )
    return _orders_of(connection, rows), next_after


def _orders_of(connection: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    """The API's form of these order rows, their lines read in one query by order id."""
    lines = t.order_lines
    ids = [row.id for row in rows]
    line_query = (
        select(lines).where(lines.c.order_id.in_(ids)).order_by(lines.c.order_id, lines.c.id)
    )
    lines_of: dict[int, list[dict[str, Any]]] = {}
    sources = _source_posts(connection, ids)
    offers = _offers_by_id(connection, {row.offer_id for row in rows if row.offer_id is not None})
    for row in connection.execute(line_query):
        lines_of.setdefault(row.order_id, []).append(
            {
                "product_id": row.product_id,
                "title": row.title,
                "unit_price": _money(row.unit_price),
                "currency": row.currency,
                "quantity": row.quantity,
                "network": row.network,
                "post_id": row.post_id,
                "trigger_post_id": row.trigger_post_id,
            }
        )
    return [
        {
            "id": row.id,
            "status": row.status,
            "email": row.email,
            "created_at": row.created_at,
            "total_amount": _money(row.total_amount),
            "currency": row.currency,
            "payment_gateway": row.payment_gateway,
            "payment_reference": row.payment_reference,
            "shipping": {
                "name": row.ship_name,
                "line1": row.ship_line1,
                "line2": row.ship_line2,
                "city": row.ship_city,
                "postcode": row.ship_postcode,
                "country": row.ship_country,
            },
            "lines": lines_of.get(row.id, []),
            # Order care (issue 12): shipping, and the post the order came from.
            "shipped_at": row.shipped_at,
            "tracking_url": row.tracking_url,
            # Orders and fulfilment (issue 14): the carrier, and when it was cancelled.
            "carrier": row.carrier,
            "cancelled_at": row.cancelled_at,
            "source_post": sources.get(row.id),
            # Offers by hashtag (issue 12): the offer it redeemed.
            "offer": _offer_of(offers, row.offer_id, row.discount_amount),
        }
        for row in rows
    ]


def _percent(value: Any) -> Decimal:
    """20, not 20.0000 (the column keeps four decimals) nor 2E+1."""
    return Decimal(f"{Decimal(value).normalize():f}")


def _offers_by_id(connection: Connection, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    found = connection.execute(select(t.offers).where(t.offers.c.id.in_(sorted(ids))))
    return {row.id: row for row in found}


def _offer_of(offers: dict[int, Any], offer_id: int | None, discount: Any) -> dict[str, Any] | None:
    row = offers.get(offer_id) if offer_id is not None else None
    if row is None:
        return None
    return {
        "id": row.id,
        "tag": row.tag,
        "percent_off": None if row.percent_off is None else _percent(row.percent_off),
        "amount_off": None if row.amount_off is None else _money(row.amount_off),
        "discount": _money(discount if discount is not None else 0),
    }


def _source_posts(connection: Connection, order_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each order's source post: the trigger post its first social line came from (the
    shopper's reply that put the product in the cart) and the shoppable post it answered,
    with the reply's author while hashcart still stores it (a forgotten account takes its
    posts along; the ids the line kept stay)."""
    lines, posts = t.order_lines, t.posts
    first = (
        select(lines.c.order_id, func.min(lines.c.id).label("line_id"))
        .where(
            lines.c.order_id.in_(order_ids),
            lines.c.trigger_post_id.is_not(None),
            lines.c.network.is_not(None),
        )
        .group_by(lines.c.order_id)
        .subquery()
    )
    query = (
        select(
            first.c.order_id,
            lines.c.network,
            lines.c.trigger_post_id,
            lines.c.post_id,
            posts.c.author_id,
            posts.c.author_handle,
        )
        .join(lines, lines.c.id == first.c.line_id)
        .outerjoin(
            posts,
            and_(posts.c.network == lines.c.network, posts.c.post_id == lines.c.trigger_post_id),
        )
    )
    return {
        row.order_id: {
            "network": row.network,
            "post_id": row.trigger_post_id,
            "author_id": row.author_id,
            "author_handle": row.author_handle,
            "parent_post_id": row.post_id,
        }
        for row in connection.execute(query)
    }


def catalog(
    connection: Connection, after: str = "", limit: int = API_PAGE
) -> tuple[list[dict[str, Any]], str | None]:
    """Products by id (the primary key), a page after the cursor `after`."""
    p = t.products
    rows, next_after, _ = keyset_page(
        connection,
        select(p),
        ((p.c.product_id, False),),
        lambda row: (row.product_id,),
        after=after,
        limit=limit,
    )
    return [
        {
            "product_id": row.product_id,
            "title": row.title,
            "link": row.link,
            "price": None if row.price_amount is None else _money(row.price_amount),
            "currency": row.currency,
            "availability": row.availability,
            "updated_at": row.updated_at,
        }
        for row in rows
    ], next_after


def outbox(
    connection: Connection, status: str | None, limit: int, after: str = ""
) -> tuple[list[dict[str, Any]], str | None]:
    """Messages, newest first (by id, through the (status, id) index when one status is
    asked for), a page after the cursor `after`; secret emails have their text withheld."""
    ob = t.outbox
    query = select(ob)
    if status is not None:
        query = query.where(ob.c.status == status)
    rows, next_after, _ = keyset_page(
        connection, query, ((ob.c.id, True),), lambda row: (row.id,), after=after, limit=limit
    )
    return [
        {
            "id": row.id,
            "network": row.network,
            "channel": row.channel,
            "account_id": row.account_id,
            "in_reply_to": row.in_reply_to,
            "reason": row.reason,
            "subject": row.subject,
            "text": text_for_staff(row.channel, row.reason, row.text),
            "status": row.status,
            "attempts": row.attempts,
            "last_error": row.last_error,
            "created_at": row.created_at,
            "sent_at": row.sent_at,
        }
        for row in rows
    ], next_after
