"""An order as the console's order page and its packing slip show it (issue 14): the shape
GET /api/orders serves for it (views/api_reads), and beside it the posts its lines came from
with links to them, each line's variant words, its payment, and a timeline of its state
changes and of the messages sent about it (outbox rows), oldest first."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from hashcart.domain.messages import Reason
from hashcart.networks.post_urls import post_url
from hashcart.store import schema as t
from hashcart.store.outbox_text import text_for_staff
from hashcart.views import api_reads


@dataclass(frozen=True)
class LinkedPost:
    """A post one of the order's lines came from: the shop's post, or the shopper's reply."""

    network: str
    post_id: str
    role: str  # "post" (the shop's shoppable post) | "reply" (the shopper's trigger)
    author_handle: str | None
    text: str | None
    url: str | None


@dataclass(frozen=True)
class Payment:
    gateway: str
    status: str
    amount: Decimal
    currency: str
    reference: str
    message: str
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    pending_step: str | None


@dataclass(frozen=True)
class Event:
    """One entry of the timeline: a state change (`kind` "state") or a message."""

    at: datetime
    kind: str  # state | message
    title: str
    detail: str = ""
    status: str = ""


@dataclass(frozen=True)
class OrderDetail:
    order: dict[str, Any]
    carrier: str | None
    cancelled_at: datetime | None
    posts: list[LinkedPost] = field(default_factory=list)
    # Line index -> the variant's words ("red M"), where the product has a colour or size.
    variants: dict[int, str] = field(default_factory=dict)
    payment: Payment | None = None
    timeline: list[Event] = field(default_factory=list)
    customer_id: int | None = None

    @property
    def cancellable(self) -> bool:
        return self.order["shipped_at"] is None and self.order["status"] in ("placed", "paid")


def order_detail(connection: Connection, order_id: int) -> OrderDetail | None:
    found = api_reads.orders(connection, order_id=order_id)
    if not found:
        return None
    order = found[0]
    o = t.orders
    row = connection.execute(
        select(o.c.carrier, o.c.cancelled_at, o.c.customer_id).where(o.c.id == order_id)
    ).one()
    payment = _payment(connection, order_id)
    posts = _posts(connection, order["lines"])
    detail = OrderDetail(
        order=order,
        carrier=row.carrier,
        cancelled_at=row.cancelled_at,
        posts=posts,
        variants=_variants(connection, order["lines"]),
        payment=payment,
        customer_id=row.customer_id,
    )
    events = _state_changes(detail) + _messages(connection, order_id, order["lines"])
    events.sort(key=lambda event: event.at)
    return replace(detail, timeline=events)


def _payment(connection: Connection, order_id: int) -> Payment | None:
    p = t.payments
    row = connection.execute(select(p).where(p.c.order_id == order_id)).first()
    if row is None:
        return None
    return Payment(
        gateway=row.gateway,
        status=row.status,
        amount=Decimal(row.amount),
        currency=row.currency,
        reference=row.reference,
        message=row.message,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        pending_step=row.pending_step,
    )


def _posts(connection: Connection, lines: list[dict[str, Any]]) -> list[LinkedPost]:
    """Each distinct post the lines came from (the shop's post, then the reply), as stored;
    a post hashcart no longer keeps still shows its id, without a link."""
    wanted: list[tuple[str, str, str]] = []
    for line in lines:
        network = line["network"]
        if not network:
            continue
        for post_id, role in ((line["post_id"], "post"), (line["trigger_post_id"], "reply")):
            if post_id and (network, post_id, role) not in wanted:
                wanted.append((network, post_id, role))
    if not wanted:
        return []
    posts = t.posts
    stored = {
        (row.network, row.post_id): row
        for row in connection.execute(
            select(posts.c.network, posts.c.post_id, posts.c.author_id, posts.c.author_handle)
            .add_columns(posts.c.text)
            .where(
                or_(
                    *(
                        and_(posts.c.network == network, posts.c.post_id == post_id)
                        for network, post_id, _ in wanted
                    )
                )
            )
        )
    }
    found = []
    for network, post_id, role in wanted:
        row = stored.get((network, post_id))
        url = None
        if row is not None:
            url = post_url(network, post_id, row.author_id, row.author_handle)
        found.append(
            LinkedPost(
                network,
                post_id,
                role,
                None if row is None else row.author_handle,
                None if row is None else row.text,
                url,
            )
        )
    return found


def _variants(connection: Connection, lines: list[dict[str, Any]]) -> dict[int, str]:
    ids = sorted({line["product_id"] for line in lines})
    if not ids:
        return {}
    p = t.products
    words = {
        row.product_id: " ".join(part for part in (row.color, row.size) if part)
        for row in connection.execute(
            select(p.c.product_id, p.c.color, p.c.size).where(p.c.product_id.in_(ids))
        )
    }
    return {
        index: words[line["product_id"]]
        for index, line in enumerate(lines)
        if words.get(line["product_id"])
    }


_PAYMENT_WORDS = {
    "authorised": "Payment authorised",
    "captured": "Payment taken",
    "voided": "Payment voided",
    "refunded": "Payment refunded",
    "declined": "Payment declined",
}


def _state_changes(detail: OrderDetail) -> list[Event]:
    order = detail.order
    events = [Event(order["created_at"], "state", "Placed", f"by {order['email']}")]
    payment = detail.payment
    if payment is not None:
        events.append(
            Event(
                payment.created_at,
                "state",
                f"Paid with {payment.gateway}",
                f"{payment.amount} {payment.currency}, {payment.reference}",
            )
        )
        if payment.status in ("voided", "refunded"):
            events.append(
                Event(payment.updated_at, "state", _PAYMENT_WORDS[payment.status], payment.message)
            )
    if order["shipped_at"] is not None:
        carrier = f"by {detail.carrier}" if detail.carrier else ""
        events.append(Event(order["shipped_at"], "state", "Marked shipped", carrier))
    if detail.cancelled_at is not None:
        events.append(Event(detail.cancelled_at, "state", "Cancelled"))
    return events


def _message_keys(order_id: int, lines: list[dict[str, Any]]) -> list[str]:
    """The outbox dedupe keys a message about the order can have: the order's emails, and
    every reason's answer under each reply a line came from (and its email instead). Exact
    keys, so the outbox's unique index finds them on every database."""
    keys = [f"email:order:{order_id}"]
    for reason in Reason:
        keys.append(f"email:order:{order_id}:{reason}")
        for line in lines:
            if line["network"] and line["trigger_post_id"]:
                social = f"{line['network']}:{line['trigger_post_id']}:{reason}"
                keys.extend((social, f"email:{social}"))
    return sorted(set(keys))


_CHANNEL_WORDS = {"reply": "Reply", "private": "Private message", "email": "Email"}


def _messages(connection: Connection, order_id: int, lines: list[dict[str, Any]]) -> list[Event]:
    o = t.outbox
    rows = connection.execute(
        select(o.c.created_at, o.c.reason, o.c.channel, o.c.network, o.c.status, o.c.text)
        .where(o.c.dedupe_key.in_(_message_keys(order_id, lines)))
        .order_by(o.c.id)
    )
    events = []
    for row in rows:
        way = _CHANNEL_WORDS.get(row.channel, row.channel)
        where = "" if row.network == "email" else f" on {row.network}"
        events.append(
            Event(
                row.created_at,
                "message",
                f"{way}{where}: {row.reason}",
                text_for_staff(row.channel, row.reason, row.text),
                row.status,
            )
        )
    return events


__all__ = ["Event", "LinkedPost", "OrderDetail", "Payment", "order_detail"]
