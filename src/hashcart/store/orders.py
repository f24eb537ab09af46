"""Orders and their lines. One order per checkout form: `orders.checkout_key` is unique.

Order lines keep the title and price they were bought at (an order is a record of a sale,
unlike a cart), and the shoppable post each line came from, for the funnel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from hashcart.domain.order_care import ShippingFacts
from hashcart.ports import Address, KeyedOrder, NewOrder, OrderLine
from hashcart.store import order_care
from hashcart.store import schema as t

# The value types live in ports (checkout owns them); importers here keep working.
__all__ = [
    "Address",
    "KeyedOrder",
    "NewOrder",
    "Order",
    "OrderLine",
    "OrderSummary",
    "StoredOrders",
]


@dataclass(frozen=True)
class Order:
    id: int
    customer_id: int | None
    status: str
    email: str
    address: Address
    payment_gateway: str
    payment_reference: str
    total_amount: Decimal
    currency: str
    created_at: datetime
    lines: tuple[OrderLine, ...]
    # Order care (issue 12): when it shipped, and the carrier's tracking page.
    shipped_at: datetime | None = None
    tracking_url: str | None = None
    # Offers by hashtag (issue 12): the offer it redeemed (its tag, what it takes off) and
    # the amount it took off the lines' sum.
    offer_label: str | None = None
    discount_amount: Decimal | None = None

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal(0))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class OrderSummary:
    id: int
    status: str
    total_amount: Decimal
    currency: str
    created_at: datetime
    item_count: int


def order_with_key(connection: Connection, checkout_key: str) -> KeyedOrder | None:
    row = connection.execute(
        select(t.orders.c.id, t.orders.c.customer_id).where(t.orders.c.checkout_key == checkout_key)
    ).first()
    return None if row is None else KeyedOrder(int(row.id), row.customer_id)


def add_order(connection: Connection, order: NewOrder) -> int:
    """Write the order and its lines; the caller's transaction makes them one."""
    address = order.address
    result = connection.execute(
        insert(t.orders).values(
            customer_id=order.customer_id,
            checkout_key=order.checkout_key,
            status=order.status,
            email=order.email,
            ship_name=address.name,
            ship_line1=address.line1,
            ship_line2=address.line2 or None,
            ship_city=address.city,
            ship_postcode=address.postcode,
            ship_country=address.country,
            payment_gateway=order.payment_gateway,
            payment_reference=order.payment_reference,
            total_amount=order.total_amount,
            currency=order.currency,
            created_at=order.created_at,
            offer_id=order.offer_id,
            discount_amount=order.discount_amount,
        )
    )
    order_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    connection.execute(
        insert(t.order_lines),
        [
            {
                "order_id": order_id,
                "product_id": line.product_id,
                "title": line.title,
                "unit_price": line.unit_price,
                "currency": line.currency,
                "quantity": line.quantity,
                "network": line.network,
                "post_id": line.post_id,
                "trigger_post_id": line.trigger_post_id,
            }
            for line in order.lines
        ],
    )
    return order_id


def set_status(connection: Connection, order_id: int, status: str) -> None:
    """A later step of the order's payment (a refund) changes what the order says."""
    connection.execute(update(t.orders).where(t.orders.c.id == order_id).values(status=status))


def order_of(connection: Connection, customer_id: int, order_id: int) -> Order | None:
    """The customer's order; None when there is none or it is someone else's."""
    row = connection.execute(
        select(t.orders).where(t.orders.c.id == order_id, t.orders.c.customer_id == customer_id)
    ).first()
    if row is None:
        return None
    lines = connection.execute(
        select(t.order_lines)
        .where(t.order_lines.c.order_id == order_id)
        .order_by(t.order_lines.c.id)
    ).all()
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        status=row.status,
        email=row.email,
        address=address_of(row),
        payment_gateway=row.payment_gateway,
        payment_reference=row.payment_reference,
        total_amount=Decimal(row.total_amount),
        currency=row.currency,
        created_at=row.created_at,
        lines=tuple(
            OrderLine(
                product_id=line.product_id,
                title=line.title,
                unit_price=Decimal(line.unit_price),
                currency=line.currency,
                quantity=line.quantity,
                network=line.network,
                post_id=line.post_id,
            )
            for line in lines
        ),
        shipped_at=row.shipped_at,
        tracking_url=row.tracking_url,
        offer_label=_offer_label(connection, row.offer_id),
        discount_amount=None if row.discount_amount is None else Decimal(row.discount_amount),
    )


def _offer_label(connection: Connection, offer_id: int | None) -> str | None:
    """`summer20: 20% off` for the offer an order redeemed (None: none, or deleted)."""
    if offer_id is None:
        return None
    from hashcart.domain.offers import describe
    from hashcart.store.offers import StoredOffers

    offer = StoredOffers(connection).find(offer_id)
    return None if offer is None else f"{offer.tag}: {describe(offer)}"


def orders_of(connection: Connection, customer_id: int) -> list[OrderSummary]:
    """The customer's orders, newest first."""
    items = (
        select(
            t.order_lines.c.order_id,
            func.sum(t.order_lines.c.quantity).label("item_count"),
        )
        .group_by(t.order_lines.c.order_id)
        .subquery()
    )
    rows = connection.execute(
        select(
            t.orders.c.id,
            t.orders.c.status,
            t.orders.c.total_amount,
            t.orders.c.currency,
            t.orders.c.created_at,
            items.c.item_count,
        )
        .outerjoin(items, items.c.order_id == t.orders.c.id)
        .where(t.orders.c.customer_id == customer_id)
        .order_by(t.orders.c.created_at.desc(), t.orders.c.id.desc())
    ).all()
    return [
        OrderSummary(
            id=row.id,
            status=row.status,
            total_amount=Decimal(row.total_amount),
            currency=row.currency,
            created_at=row.created_at,
            item_count=int(row.item_count or 0),
        )
        for row in rows
    ]


def last_address(connection: Connection, customer_id: int) -> Address | None:
    """Where the customer's latest order went: the checkout form starts from it."""
    row = connection.execute(
        select(t.orders)
        .where(t.orders.c.customer_id == customer_id)
        .order_by(t.orders.c.created_at.desc(), t.orders.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else address_of(row)


def address_of(row: Any) -> Address:
    """The shipping address of a row with the `ship_*` columns (an order, a saved one)."""
    return Address(
        name=row.ship_name,
        line1=row.ship_line1,
        line2=row.ship_line2 or "",
        city=row.ship_city,
        postcode=row.ship_postcode,
        country=row.ship_country,
    )


class StoredOrders:
    """The orders of one open transaction, as the payment use cases change them
    (ports.OrderRecords)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def set_status(self, order_id: int, status: str) -> None:
        set_status(self.connection, order_id, status)

    def with_key(self, checkout_key: str) -> KeyedOrder | None:
        return order_with_key(self.connection, checkout_key)

    def add(self, order: NewOrder) -> int:
        return add_order(self.connection, order)

    # --- order care (issue 12): shipping, in store/order_care ---
    def shipping_facts(self, order_id: int) -> ShippingFacts | None:
        return order_care.shipping_facts(self.connection, order_id)

    def mark_shipped(
        self, order_id: int, tracking_url: str | None, at: datetime, carrier: str | None = None
    ) -> bool:
        return order_care.mark_shipped(self.connection, order_id, tracking_url, at, carrier)

    # --- orders and fulfilment (issue 14): cancelling, in store/order_care ---
    def cancel(self, order_id: int, at: datetime) -> bool:
        return order_care.cancel(self.connection, order_id, at)
