"""Marking an order shipped, and telling its shopper once (issue 12, order care).

The console's order view and `hashcart orders ship ORDER_ID [--tracking URL]` both come
here. The order's `shipped_at` is set by a compare and set, in the same transaction as the
message that announces it (the outbox rule): marking it twice, or twice at once, tells the
shopper once. The message goes the way the shopper chose (domain/order_care says what each
way may carry): a private message, where the network's can carry order details, with the
tracking link; a public reply under the post the order came from, with only the order
page's address; email otherwise (no social source, a web order, email only)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from hashcart.domain.messages import (
    MessageContext,
    NotifyBy,
    OutboundMessage,
    Reason,
    email_subject,
)
from hashcart.domain.order_care import (
    CarrierError,
    ShippingFacts,
    TrackingUrlError,
    cancelled_email,
    cancelled_text,
    carries_order_details,
    check_carrier,
    check_tracking_url,
    shipped_email,
    shipped_text,
)
from hashcart.domain.posts import display_name
from hashcart.domain.stock import order_holder
from hashcart.errors import HashcartError
from hashcart.ports import Contact, Email, PaymentGateway, UnitOfWork, UnitsOfWork
from hashcart.services.payments import GATEWAYS
from hashcart.services.shop import Shop

__all__ = [
    "CancelRefused",
    "Cancelled",
    "CarrierError",
    "NoSuchOrder",
    "ShipRefused",
    "Shipped",
    "TrackingUrlError",
    "cancel_order",
    "mark_shipped",
]


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
    units: UnitsOfWork,
    shop: Shop,
    order_id: int,
    tracking: str | None,
    now: datetime,
    carrier: str | None = None,
) -> Shipped:
    """Mark order `order_id` shipped now by `carrier` with `tracking` (both checked first),
    and queue the news for its shopper; NoSuchOrder, ShipRefused, CarrierError or
    TrackingUrlError otherwise."""
    url = tracking_link(tracking, shop)
    carrier_name = check_carrier(carrier)
    with units() as uow:
        facts = uow.orders.shipping_facts(order_id)
        if facts is None:
            raise NoSuchOrder(f"there is no order {order_id}")
        if facts.shipped_at is not None:
            return Shipped(order_id, False, facts.shipped_at, facts.tracking_url, "")
        _refuse_unshippable(facts)
        if not uow.orders.mark_shipped(order_id, url, now, carrier_name):
            # Another marking (or a cancel) committed between our read and write: it told
            # the shopper.
            again = uow.orders.shipping_facts(order_id)
            assert again is not None
            if again.shipped_at is None:
                _refuse_unshippable(again)
                raise ShipRefused(f"order {order_id} cannot be shipped now")
            return Shipped(order_id, False, again.shipped_at, again.tracking_url, "")

        def text(context: MessageContext, order_url: str, public: bool) -> str:
            return shipped_text(context, order_id, url, order_url, public=public)

        def email(context: MessageContext, order_url: str) -> str:
            return shipped_email(context, order_id, url, order_url)

        told = _tell(uow, shop, facts, Reason.SHIPPED, text, email, now)
    return Shipped(order_id, True, now, url, told)


def _refuse_unshippable(facts: ShippingFacts) -> None:
    if facts.status == "refunded":
        raise ShipRefused(f"order {facts.order_id} was refunded: it is not shipped")
    if facts.status == "cancelled":
        raise ShipRefused(f"order {facts.order_id} was cancelled: it is not shipped")


# --- cancelling (issue 14) ------------------------------------------------------------------


class CancelRefused(HashcartError):
    """The order cannot be cancelled (shipped, or its money went back); the message says why."""


@dataclass(frozen=True)
class Cancelled:
    """What cancelling did. `newly` is False when the order was cancelled already: then
    nothing changed and no gateway was asked again. `money_back` says whether the gateway
    voided or refunded the payment (True too when there was nothing to give back), and
    `money` what it said."""

    order_id: int
    newly: bool
    money_back: bool
    money: str
    restocked: int
    told: str


def cancel_order(
    units: UnitsOfWork,
    shop: Shop,
    order_id: int,
    now: datetime,
    gateways: Mapping[str, PaymentGateway] | None = None,
) -> Cancelled:
    """Cancel order `order_id` before it ships: one compare and set marks it cancelled, gives
    its units back to stock and queues the news for its shopper, in one transaction; then
    the request that won it (only that one: a second cancel, or one racing a ship, changes
    nothing) voids the authorised payment or refunds the captured one through the gateway
    that took it. NoSuchOrder or CancelRefused otherwise."""
    with units() as uow:
        facts = uow.orders.shipping_facts(order_id)
        if facts is None:
            raise NoSuchOrder(f"there is no order {order_id}")
        if facts.status == "cancelled":
            return Cancelled(order_id, False, True, "It was cancelled already.", 0, "")
        _refuse_uncancellable(facts)
        if not uow.orders.cancel(order_id, now):
            again = uow.orders.shipping_facts(order_id)
            assert again is not None
            if again.status == "cancelled":
                return Cancelled(order_id, False, True, "It was cancelled already.", 0, "")
            _refuse_uncancellable(again)
            raise CancelRefused(f"order {order_id} cannot be cancelled now")
        restocked = uow.stock.restock(order_holder(order_id), now)
        payment = uow.payments.of_order(order_id)
        if payment is not None and payment.status == "authorised" and payment.pending_step:
            # A capture owed to the order is moot now: settled here, so the payment sweep
            # never takes money for a cancelled order; the void below ends it.
            uow.payments.move(
                payment.checkout_key, expected={"authorised"}, to="authorised", now=now
            )

        def text(context: MessageContext, order_url: str, public: bool) -> str:
            return cancelled_text(context, order_id, order_url, public=public)

        def email(context: MessageContext, order_url: str) -> str:
            return cancelled_email(context, order_id, order_url)

        told = _tell(uow, shop, facts, Reason.ORDER_CANCELLED, text, email, now)
    done, said = _money_back(units, order_id, now, gateways or GATEWAYS)
    return Cancelled(order_id, True, done, said, restocked, told)


def _refuse_uncancellable(facts: ShippingFacts) -> None:
    if facts.shipped_at is not None:
        raise CancelRefused(
            f"order {facts.order_id} has shipped: it can no longer be cancelled (refund it instead)"
        )
    if facts.status == "refunded":
        raise CancelRefused(f"order {facts.order_id} was refunded already")


def _money_back(
    units: UnitsOfWork, order_id: int, now: datetime, gateways: Mapping[str, PaymentGateway]
) -> tuple[bool, str]:
    """Void the cancelled order's payment if it is only authorised, refund it if captured,
    through the gateway that took it, outside any transaction; the payment record then
    says `voided` or `refunded`. A refusal is kept on the record for the merchant."""
    with units() as uow:
        record = uow.payments.of_order(order_id)
    if record is None:
        return True, "There was no payment on record."
    if record.status not in ("authorised", "captured"):
        return True, f"The payment was {record.status} already."
    gateway = gateways.get(record.gateway)
    if gateway is None:
        return False, f"The gateway {record.gateway!r} is not available: nothing was given back."
    voiding = record.status == "authorised"
    if voiding:
        step = gateway.void(record.authorised)
    else:
        step = gateway.refund(record.authorised, record.amount)
    with units() as uow:
        if not step.done:
            what = "void" if voiding else "refund"
            uow.payments.note_refusal(record.checkout_key, f"{what} refused: {step.message}", now)
            return False, step.message
        uow.payments.move(
            record.checkout_key,
            expected={record.status},
            to="voided" if voiding else "refunded",
            now=now,
        )
    return True, step.message


# --- telling the shopper -------------------------------------------------------------------


def _tell(
    uow: UnitOfWork,
    shop: Shop,
    facts: ShippingFacts,
    reason: Reason,
    text: Callable[[MessageContext, str, bool], str],
    email: Callable[[MessageContext, str], str],
    now: datetime,
) -> str:
    """Queue the news of `reason` for the order's shopper in the caller's transaction, the
    way they chose; how they are told ("email", "reply on X", ...)."""
    repo = uow.repository
    contact = (
        repo.contacts_of_customers([facts.customer_id]).get(facts.customer_id)
        if facts.customer_id is not None
        else None
    )
    news = _news(shop, facts, contact, reason, text, email)
    if isinstance(news, Email):
        repo.queue_emails([news], now)
        return "email"
    repo.queue_messages([news], now)
    way = "private message" if news.channel == "private" else "reply"
    return f"{way} on {display_name(news.network)}"


def _news(
    shop: Shop,
    facts: ShippingFacts,
    contact: Contact | None,
    reason: Reason,
    text: Callable[[MessageContext, str, bool], str],
    email: Callable[[MessageContext, str], str],
) -> Email | OutboundMessage:
    base = shop.account_url.removesuffix("/account")
    order_url = f"{base}/orders/{facts.order_id}"
    source = facts.source
    notify_by = contact.notify_by if contact is not None else NotifyBy.EMAIL_ONLY
    private = notify_by == NotifyBy.PRIVATE_MESSAGE
    if source is not None and notify_by == NotifyBy.PUBLIC_REPLY:
        context = shop.message_context(source.handle, source.post_id)
        return OutboundMessage(
            source.network,
            source.account_id,
            source.post_id,
            reason,
            text(context, order_url, True),
            "reply",
        )
    if source is not None and private and carries_order_details(source.network):
        context = shop.message_context(source.handle, source.post_id)
        return OutboundMessage(
            source.network,
            source.account_id,
            source.post_id,
            reason,
            text(context, order_url, False),
            "private",
        )
    context = shop.message_context("", f"order:{facts.order_id}")
    return Email(
        to=contact.email if contact is not None else facts.email,
        subject=email_subject(reason, shop.name, shop.templates),
        text=email(context, order_url),
        reason=str(reason),
        dedupe_key=f"order:{facts.order_id}:{reason}",
    )
