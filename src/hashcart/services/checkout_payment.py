"""The money path of one checkout: hold the stock, authorise, place the order, capture; or,
when the order cannot be placed, void the authorisation and give the stock back.

The web's checkout form comes here once it has checked what the shopper sent (the cart as
shown, the address, a gateway); a later buy-by-post confirmation can take the same path.
Each step is its own unit of work and the gateway is asked between them, never inside a
transaction. The outcome says whether nothing was charged only when that is so.
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
    OutOfStock,
    PaymentDetails,
    PaymentGateway,
    UnitsOfWork,
)
from hashcart.services import checkout, payments
from hashcart.services.checkout import Basket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purchase:
    """What is bought, by whom, under which checkout key (the idempotency key)."""

    customer: Buyer
    checkout_key: str
    basket: Basket
    address: Address
    shop_name: str
    public_url: str


@dataclass(frozen=True)
class Ordered:
    """The order exists (made now, or by a twin request with the same key)."""

    order_id: int
    customer_id: int | None


# out_of_stock: nothing was held or asked; declined: the gateway said no; cancelled: this key's
# authorisation was voided before; not_placed: authorised, but the order could not be placed;
# unreachable: the gateway did not answer (the key may be sent again: never charged twice).
Why = Literal["out_of_stock", "declined", "cancelled", "not_placed", "unreachable"]


@dataclass(frozen=True)
class NotOrdered:
    why: Why
    # What the shopper reads: it says nothing was charged only when that is so.
    message: str
    # The cart changed on the way: show it as it is now, not as this purchase saw it.
    cart_changed: bool = False


def pay_and_place(
    units: UnitsOfWork,
    clock: Clock,
    purchase: Purchase,
    gateway: PaymentGateway | None,
    payment_fields: dict[str, str],
) -> Ordered | NotOrdered:
    """`gateway` may be None only when the offer leaves nothing to pay (then none is asked)."""
    key, basket = purchase.checkout_key, purchase.basket
    assert basket.currency is not None
    now = clock.now()
    try:
        checkout.hold_stock(units, key, basket, now)
    except OutOfStock as short:
        made = checkout.order_with_key(units, key)
        if made is not None:  # a twin submit made the order (and took the stock) meanwhile
            return Ordered(made.id, made.customer_id)
        return NotOrdered(
            "out_of_stock",
            f"{checkout.shortage_message(basket, short)} Nothing was charged: "
            "change your cart and place the order again.",
        )

    if payments.nothing_to_pay(basket.to_pay):
        # The offer covers the whole total: no gateway is asked, and none captures.
        free = payments.no_charge(key)
        return _place(units, clock, purchase, None, payments.NO_CHARGE, free, now)
    if gateway is None:
        checkout.release_stock(units, key, clock.now())
        return NotOrdered("declined", "Choose how you want to pay. Nothing was charged.")
    try:
        record = payments.authorise_once(
            units,
            gateway,
            basket.to_pay,  # the lines less the shopper's loaded offer (issue 12)
            basket.currency,
            PaymentDetails(
                fields=payment_fields,
                idempotency_key=key,
                today=now.date(),
                customer_email=purchase.customer.email,
            ),
            now,
        )
    except GatewayUnreachable:
        # The record stays `authorising` and the stock hold runs out by itself: placing the
        # order again sends the same key, which the gateway (and hashcart's own key ->
        # payment record) answers with the same authorisation, never a second charge.
        log.warning("checkout %s: the payment gateway did not answer", key)
        return NotOrdered(
            "unreachable",
            "The payment service did not answer, so nothing was ordered. Place the order "
            "again in a moment: you will not be charged twice.",
        )
    if record.pending_step == "void":  # an earlier try of this key could not be placed
        return _not_placed(units, clock, gateway, key, "This order could not be placed")
    if record.status in ("declined", "voided"):
        checkout.release_stock(units, key, clock.now())
        message = (
            record.message if record.status == "declined" else "This order could not be placed."
        )
        return NotOrdered(
            "declined" if record.status == "declined" else "cancelled",
            f"{message} Nothing was charged and your cart is as it was.",
        )

    # The key's gateway, should the form name another.
    return _place(units, clock, purchase, gateway, record.gateway, record.authorisation, now)


def _place(
    units: UnitsOfWork,
    clock: Clock,
    purchase: Purchase,
    gateway: PaymentGateway | None,
    gateway_name: str,
    payment: Authorisation,
    at: datetime,
) -> Ordered | NotOrdered:
    """Place the order on `payment` and capture it (`gateway` None: nothing to capture)."""
    key, basket = purchase.checkout_key, purchase.basket
    problem = "Your cart changed while this order was being placed"
    try:
        placed = checkout.place_order(
            units,
            customer=purchase.customer,
            checkout_key=key,
            address=purchase.address,
            basket=basket,
            gateway=gateway_name,
            payment=payment,
            shop_name=purchase.shop_name,
            public_url=purchase.public_url,
            at=at,
        )
    except OutOfStock as short:
        # The hold ran out while paying and someone else bought the units meanwhile.
        placed, problem = None, checkout.shortage_message(basket, short).rstrip(".")
    if placed is None:
        return _not_placed(units, clock, gateway, key, problem)
    if placed.created and gateway is not None:
        payments.capture(units, gateway, key, clock.now())
    elif not placed.created:  # a twin made the order: what this request held goes back
        checkout.release_stock(units, key, clock.now())
    return Ordered(placed.order_id, placed.customer_id)


def _not_placed(
    units: UnitsOfWork, clock: Clock, gateway: PaymentGateway | None, key: str, problem: str
) -> NotOrdered:
    """The payment was authorised but the order cannot be placed: cancel the authorisation,
    give the stock back, and say that nothing was charged only when that is so."""
    nothing_charged = gateway is None or payments.void(units, gateway, key, clock.now())
    checkout.release_stock(units, key, clock.now())
    if nothing_charged:
        outcome = "so nothing was ordered and nothing was charged"
    else:
        outcome = (
            "so nothing was ordered, but the payment could not be cancelled yet "
            "(the shop has the gateway's reason on record)"
        )
    return NotOrdered(
        "not_placed",
        f"{problem}, {outcome}. Check your order below and place it again.",
        cart_changed=True,
    )
