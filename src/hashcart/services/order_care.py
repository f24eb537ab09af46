"""Marking an order shipped, and telling its shopper once (issue 12, order care).

The console's order view and `hashcart orders ship ORDER_ID [--tracking URL]` both come
here. The order's `shipped_at` is set by a compare and set, in the same transaction as the
message that announces it (the outbox rule): marking it twice, or twice at once, tells the
shopper once. The message goes the way the shopper chose (domain/order_care says what each
way may carry): a private message, where the network's can carry order details, with the
tracking link; a public reply under the post the order came from, with only the order
page's address; email otherwise (no social source, a web order, email only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hashcart.domain.messages import NotifyBy, OutboundMessage, Reason, email_subject
from hashcart.domain.order_care import (
    ShippingFacts,
    TrackingUrlError,
    carries_order_details,
    check_tracking_url,
    shipped_email,
    shipped_text,
)
from hashcart.domain.posts import display_name
from hashcart.errors import HashcartError
from hashcart.ports import Contact, Email, UnitsOfWork
from hashcart.services.shop import Shop

__all__ = ["NoSuchOrder", "ShipRefused", "Shipped", "TrackingUrlError", "mark_shipped"]


class NoSuchOrder(HashcartError, LookupError):
    """No order has that number."""


class ShipRefused(HashcartError):
    """The order cannot be shipped (its money went back); the message says why."""


@dataclass(frozen=True)
class Shipped:
    """What marking did. `newly` is False when the order was shipped already: then nothing
    changed (the first marking and its tracking link stand) and nobody was told again."""

    order_id: int
    newly: bool
    shipped_at: datetime
    tracking_url: str | None
    # How the shopper was told: "email", "reply on X", "private message on Mastodon"…
    # ("" when nobody was told).
    told: str


def tracking_link(written: str | None, shop: Shop) -> str | None:
    """The tracking link to keep (None when none was given), or TrackingUrlError. A link that
    would carry one of the shop's trigger tags (`…/#cart`) is refused too: every message
    hashcart sends has those stripped, which would break the link."""
    if written is None or not written.strip():
        return None
    url = check_tracking_url(written)
    if shop.sanitize(url) != url:
        raise TrackingUrlError("the tracking link carries one of the shop's trigger tags")
    return url


def mark_shipped(
    units: UnitsOfWork, shop: Shop, order_id: int, tracking: str | None, now: datetime
) -> Shipped:
    """Mark order `order_id` shipped now with `tracking` (checked first), and queue the
    news for its shopper; NoSuchOrder, ShipRefused or TrackingUrlError otherwise."""
    url = tracking_link(tracking, shop)
    with units() as uow:
        facts = uow.orders.shipping_facts(order_id)
        if facts is None:
            raise NoSuchOrder(f"there is no order {order_id}")
        if facts.shipped_at is not None:
            return Shipped(order_id, False, facts.shipped_at, facts.tracking_url, "")
        if facts.status == "refunded":
            raise ShipRefused(f"order {order_id} was refunded: it is not shipped")
        if not uow.orders.mark_shipped(order_id, url, now):
            # Another marking committed between our read and write: it told the shopper.
            again = uow.orders.shipping_facts(order_id)
            assert again is not None and again.shipped_at is not None
            return Shipped(order_id, False, again.shipped_at, again.tracking_url, "")
        repo = uow.repository
        contact = (
            repo.contacts_of_customers([facts.customer_id]).get(facts.customer_id)
            if facts.customer_id is not None
            else None
        )
        news = _news(shop, facts, contact, url)
        if isinstance(news, Email):
            repo.queue_emails([news], now)
            told = "email"
        else:
            repo.queue_messages([news], now)
            way = "private message" if news.channel == "private" else "reply"
            told = f"{way} on {display_name(news.network)}"
    return Shipped(order_id, True, now, url, told)


def _news(
    shop: Shop, facts: ShippingFacts, contact: Contact | None, url: str | None
) -> Email | OutboundMessage:
    base = shop.account_url.removesuffix("/account")
    order_url = f"{base}/orders/{facts.order_id}"
    source = facts.source
    notify_by = contact.notify_by if contact is not None else NotifyBy.EMAIL_ONLY
    private = notify_by == NotifyBy.PRIVATE_MESSAGE
    if source is not None and notify_by == NotifyBy.PUBLIC_REPLY:
        context = shop.message_context(source.handle, source.post_id)
        text = shipped_text(context, facts.order_id, url, order_url, public=True)
        return OutboundMessage(
            source.network, source.account_id, source.post_id, Reason.SHIPPED, text, "reply"
        )
    if source is not None and private and carries_order_details(source.network):
        context = shop.message_context(source.handle, source.post_id)
        text = shipped_text(context, facts.order_id, url, order_url, public=False)
        return OutboundMessage(
            source.network, source.account_id, source.post_id, Reason.SHIPPED, text, "private"
        )
    context = shop.message_context("", f"order:{facts.order_id}")
    return Email(
        to=contact.email if contact is not None else facts.email,
        subject=email_subject(Reason.SHIPPED, shop.name),
        text=shipped_email(context, facts.order_id, url, order_url),
        reason=str(Reason.SHIPPED),
        dedupe_key=f"order:{facts.order_id}:{Reason.SHIPPED}",
    )
