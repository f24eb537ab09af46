"""Paying a live sale's invoice (issue 13) through the normal checkout's money path.

The invoice's lines are the claims it pays for (held, the hold not run out: ports.SaleInvoice)
as the cart lines of a checkout basket (services/checkout.Basket), so an invoice is priced,
discounted by the shopper's loaded offer, summarised for the page and turned into order
lines the way a web order is. The page carries a random pay key and the summary of what it
showed; on submit:

1. the invoice is read again: paid already (a double click, another tab) goes to its order;
   a changed invoice (an item released or run out, a price changed) stops before any payment;
2. the payment is authorised once under the pay key (services/payments.authorise_once: the
   key -> authorisation record answers a retried request, the gateway's idempotency key is the
   same), with the saved card or a test gateway; nothing is authorised when nothing is owed;
3. one unit of work, under the writers' turn and the row locks of the invoice's items (so no
   settle step releases or promotes on them meanwhile): the lines are read again and must be
   what was authorised, the order and its lines are written, the offer redeemed, the invoice
   and its claims marked paid (their stock holds become the order's sold units: no reminder
   is owed any more), the capture owed and the receipt queued;
4. the payment is captured. An invoice that cannot be placed (paid by a twin under another
   key, changed during the payment) voids its authorisation: captured once, one order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hashcart.ports import (
    Address,
    Authorisation,
    Buyer,
    Clock,
    GatewayUnreachable,
    NewOrder,
    PaymentDetails,
    PaymentGateway,
    Repository,
    SaleInvoice,
    UnitsOfWork,
)
from hashcart.services import payments
from hashcart.services.checkout import (
    Basket,
    basket_of,
    confirmation_email,
    offer_summary,
    order_line,
    redeem_offer,
    summary_of,
    with_offer,
)
from hashcart.services.payment_steps import REQUEST_GRACE

__all__ = [
    "InvoiceBasket",
    "InvoicePaid",
    "InvoicePayment",
    "NotPaid",
    "invoice_basket",
    "pay_invoice",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvoiceBasket:
    """An invoice and what paying it now buys (its lines as a checkout basket, with offer)."""

    invoice: SaleInvoice
    basket: Basket

    @property
    def problem(self) -> str | None:
        """Why it cannot be paid now, or None."""
        if self.invoice.status != "open":
            return None
        if self.basket.held_back:
            return "An item of this invoice has no price yet: the shop must price it first."
        if not self.basket.lines:
            return "Nothing is held for you in this sale any more, so there is nothing to pay."
        if len(self.basket.totals) > 1:
            return "This invoice has prices in more than one currency: ask the shop to fix it."
        return None


def invoice_basket(
    repo: Repository, invoice_id: int, customer_id: int, at: datetime, *, lock: bool = False
) -> InvoiceBasket | None:
    """The shopper's invoice (their own only: None otherwise) and its basket at `at`."""
    invoice = repo.sales.invoice(invoice_id, at, lock=lock)
    if invoice is None or invoice.customer_id != customer_id:
        return None
    basket = basket_of(invoice.lines)
    if not basket.problem and not basket.held_back:
        basket = with_offer(repo, customer_id, basket, at)
    return InvoiceBasket(invoice, basket)


@dataclass(frozen=True)
class InvoicePayment:
    """Who pays which invoice, under which pay key, for what the page showed."""

    customer: Buyer
    invoice_id: int
    pay_key: str
    shown: str  # checkout.summary_of of the basket the page showed
    shown_offer: str  # checkout.offer_summary of it
    address: Address
    shop_name: str
    public_url: str


@dataclass(frozen=True)
class InvoicePaid:
    """The invoice is paid (now, or before: a twin request, another tab)."""

    order_id: int | None


NotPaidWhy = Literal["not_found", "changed", "cannot_pay", "declined", "unreachable", "not_placed"]


@dataclass(frozen=True)
class NotPaid:
    why: NotPaidWhy
    # What the shopper reads: it says nothing was charged only when that is so.
    message: str


def pay_invoice(
    units: UnitsOfWork,
    clock: Clock,
    payment: InvoicePayment,
    gateway: PaymentGateway | None,
    payment_fields: dict[str, str],
) -> InvoicePaid | NotPaid:
    """Pay the invoice (see the module's text); `gateway` may be None only when nothing is
    owed (then none is asked)."""
    key, now = payment.pay_key, clock.now()
    with units() as uow:
        made = uow.orders.with_key(key)
        found = invoice_basket(uow.repository, payment.invoice_id, payment.customer.id, now)
    if made is not None and made.customer_id == payment.customer.id:
        return InvoicePaid(made.id)  # a double click: the first request paid it
    if found is None:
        return NotPaid("not_found", "There is no such invoice.")
    if found.invoice.status == "paid":
        return InvoicePaid(found.invoice.order_id)
    if found.problem:
        return NotPaid("cannot_pay", f"{found.problem} Nothing was charged.")
    basket = found.basket
    if summary_of(basket) != payment.shown or offer_summary(basket) != payment.shown_offer:
        return NotPaid(
            "changed",
            "Your invoice changed since this page was shown (an item was given back or ran "
            "out, or a price changed). Nothing was charged: check it below and pay again.",
        )
    assert basket.currency is not None
    if payments.nothing_to_pay(basket.to_pay):
        return _place(units, clock, payment, basket, None, payments.NO_CHARGE, now)
    if gateway is None:
        return NotPaid("declined", "Choose how you want to pay. Nothing was charged.")
    try:
        record = payments.authorise_once(
            units,
            gateway,
            basket.to_pay,
            basket.currency,
            PaymentDetails(
                fields=payment_fields,
                idempotency_key=key,
                today=now.date(),
                customer_email=payment.customer.email,
            ),
            now,
        )
    except GatewayUnreachable:
        log.warning("invoice %s: the payment gateway did not answer", payment.invoice_id)
        return NotPaid(
            "unreachable",
            "The payment service did not answer, so the invoice is not paid. Pay again in a "
            "moment: you will not be charged twice.",
        )
    if record.pending_step == "void":
        return _not_placed(units, clock, gateway, key, "This invoice could not be paid")
    if record.status in ("declined", "voided"):
        message = record.message if record.status == "declined" else "It could not be paid."
        return NotPaid("declined", f"{message} Nothing was charged.")
    return _place(units, clock, payment, basket, gateway, record.gateway, now)


def _place(
    units: UnitsOfWork,
    clock: Clock,
    payment: InvoicePayment,
    basket: Basket,
    gateway: PaymentGateway | None,
    gateway_name: str,
    at: datetime,
) -> InvoicePaid | NotPaid:
    key = payment.pay_key
    authorisation = payments.no_charge(key)
    if gateway is not None:
        with units() as uow:
            record = uow.payments.find(key)
        assert record is not None
        authorisation = record.authorisation
    placed = _place_order(units, payment, basket, gateway_name, authorisation, at)
    if isinstance(placed, str):
        return _not_placed(units, clock, gateway, key, placed)
    order_id, created = placed
    if created and gateway is not None:
        payments.capture(units, gateway, key, clock.now())
    return InvoicePaid(order_id)


def _place_order(
    units: UnitsOfWork,
    payment: InvoicePayment,
    basket: Basket,
    gateway_name: str,
    authorisation: Authorisation,
    at: datetime,
) -> tuple[int, bool] | str:
    """The order, in one unit of work: (its id, whether made now), or why it cannot be."""
    customer = payment.customer
    key = payment.pay_key
    with units() as uow:
        # Twin requests take turns (SQLite's BEGIN IMMEDIATE does it already); then the
        # items' row locks keep the settle step off the claims until the commit.
        uow.repository.serialize_writers()
        existing = uow.orders.with_key(key)
        if existing is not None:
            return existing.id, False
        found = invoice_basket(uow.repository, payment.invoice_id, customer.id, at, lock=True)
        if found is None or found.invoice.status != "open":
            return "The invoice was paid meanwhile"
        now = found.basket
        if summary_of(now) != summary_of(basket) or offer_summary(now) != offer_summary(basket):
            return "Your invoice changed while it was being paid"
        paying = uow.payments.find(key)
        if paying is not None and (paying.status != "authorised" or paying.pending_step == "void"):
            return "The payment was cancelled"
        assert basket.currency is not None
        order = NewOrder(
            customer_id=customer.id,
            checkout_key=key,
            status="paid" if authorisation.paid else "placed",
            email=customer.email,
            address=payment.address,
            payment_gateway=gateway_name,
            payment_reference=authorisation.reference,
            total_amount=basket.to_pay,
            currency=basket.currency,
            created_at=at,
            lines=[order_line(item) for item in basket.lines],
            offer_id=None if basket.offer is None else basket.offer.offer_id,
            discount_amount=None if basket.offer is None else basket.offer.discount,
        )
        order_id = uow.orders.add(order)
        redeem_offer(uow.repository, customer.id, basket, order_id, at)
        claims = [item.id for item in basket.lines]
        marked = uow.repository.sales.mark_invoice_paid(payment.invoice_id, at, order_id, claims)
        assert marked, f"invoice {payment.invoice_id} was open under its lock"
        uow.payments.link_order(key, order_id)
        uow.payments.owe(key, "capture", at + REQUEST_GRACE)
        uow.repository.queue_emails(
            [
                confirmation_email(
                    order_id,
                    order,
                    customer,
                    authorisation,
                    payment.shop_name,
                    payment.public_url,
                    offer_label=None if basket.offer is None else basket.offer.label,
                    templates=uow.repository.message_templates(),
                )
            ],
            at,
        )
        return order_id, True


def _not_placed(
    units: UnitsOfWork, clock: Clock, gateway: PaymentGateway | None, key: str, problem: str
) -> NotPaid:
    """Authorised, but no order: cancel the authorisation; say nothing was charged only when
    that is so."""
    nothing_charged = gateway is None or payments.void(units, gateway, key, clock.now())
    if nothing_charged:
        outcome = "so nothing was charged"
    else:
        outcome = (
            "and the payment could not be cancelled yet (the shop has the gateway's reason "
            "on record)"
        )
    return NotPaid("not_placed", f"{problem}, {outcome}.")
