"""Checkout: what in a cart can be bought now, what changed since the shopper looked, and
turning the cart into exactly one order.

The checkout page carries a summary of what it showed (each line's product, quantity and
price). On submit the cart is read again and compared with it: a changed price, a product
gone out of stock or a changed quantity stops the order before any payment, with a message
saying what changed. Then the stock is held (`hold_stock`), the payment authorised, and the
order written in one transaction keyed by the form's random checkout key (unique in
`orders`, so a double submit finds the first order) that turns the hold into the sale and
queues the confirmation email; only then is the payment captured.

Each step is its own unit of work (`units()`, ports.UnitOfWork): the gateway is asked
between them, never inside a transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

from hashcart.domain.countries import country_code
from hashcart.domain.email_templates import fill_email, subject_line
from hashcart.domain.stock import checkout_holder, hold_until, order_holder, shortage_text
from hashcart.errors import HashcartError
from hashcart.ports import (
    Address,
    Buyer,
    Email,
    KeyedOrder,
    ListItem,
    NewOrder,
    OrderLine,
    OutOfStock,
    Repository,
    UnitsOfWork,
)
from hashcart.services.offers import AppliedOffer, apply_offer, priced_lines
from hashcart.services.payment_steps import REQUEST_GRACE
from hashcart.services.payments import PaymentResult

# Why a cart line cannot be bought now, as a shopper reads it.
_HELD_BACK_WHY = {"out_of_stock": "is out of stock", "discontinued": "is no longer sold"}
_NO_PRICE = "has no price yet"

CHECKOUT_KEY = re.compile(r"[A-Za-z0-9_-]{20,64}")


@dataclass(frozen=True)
class HeldBack:
    """A cart line that stays in the cart: it cannot be bought now."""

    item: ListItem
    why: str


@dataclass(frozen=True)
class Basket:
    """The cart as checkout sees it: the lines that can be bought now and the rest."""

    lines: tuple[ListItem, ...]
    held_back: tuple[HeldBack, ...]
    totals: Mapping[str, Decimal] = field(default_factory=dict)
    # Offers by hashtag (issue 12): the shopper's loaded offer as it applies to these lines
    # (services/offers.apply_offer); None: none applies.
    offer: AppliedOffer | None = None

    @property
    def currency(self) -> str | None:
        return next(iter(self.totals)) if len(self.totals) == 1 else None

    @property
    def total(self) -> Decimal:
        """What the lines cost, before any offer."""
        return sum(self.totals.values(), Decimal(0))

    @property
    def discount(self) -> Decimal:
        return Decimal(0) if self.offer is None else self.offer.discount

    @property
    def to_pay(self) -> Decimal:
        """What the order costs: the lines' sum less the offer (never below zero)."""
        return max(self.total - self.discount, Decimal(0))

    @property
    def problem(self) -> str | None:
        """Why this basket cannot become an order at all, or None."""
        if not self.lines:
            return "There is nothing in your cart that can be bought right now."
        if len(self.totals) > 1:
            return (
                "Your cart has prices in "
                + " and ".join(sorted(self.totals))
                + ": an order is paid in one currency. Move the others to your wish list first."
            )
        return None


def basket_of(items: Sequence[ListItem]) -> Basket:
    lines: list[ListItem] = []
    held: list[HeldBack] = []
    totals: dict[str, Decimal] = {}
    for item in items:
        if not item.available:
            held.append(HeldBack(item, _HELD_BACK_WHY.get(item.availability, "is unavailable")))
        elif item.price is None or item.currency is None:
            held.append(HeldBack(item, _NO_PRICE))
        else:
            lines.append(item)
            totals[item.currency] = totals.get(item.currency, Decimal(0)) + item.price * (
                item.quantity
            )
    return Basket(tuple(lines), tuple(held), totals)


def basket_for(units: UnitsOfWork, customer_id: int, at: datetime | None = None) -> Basket:
    """The customer's cart as it is now, as checkout sees it; with `at`, the shopper's
    loaded offer applied as it stands then (issue 12, offers by hashtag)."""
    with units() as uow:
        basket = basket_of(uow.carts.items("cart", customer_id))
        if at is not None:
            basket = with_offer(uow.repository, customer_id, basket, at)
    return basket


def with_offer(repo: Repository, customer_id: int, basket: Basket, at: datetime) -> Basket:
    """`basket` with the shopper's loaded offer applied as it stands at `at`, read in the
    caller's transaction (a page reads it in a read-only one: it must not wait for a
    writer)."""
    if basket.problem:
        return basket
    applied = apply_offer(repo, customer_id, priced_lines(basket.lines), basket.currency, at)
    return replace(basket, offer=applied)


def offer_summary(basket: Basket) -> str:
    """The offer the page showed (a hidden field, beside `summary_of`): `load:discount`."""
    offer = basket.offer
    return "" if offer is None else f"{offer.load_id}:{offer.discount}"


def order_with_key(units: UnitsOfWork, checkout_key: str) -> KeyedOrder | None:
    """The order the checkout key made already (a double submit), None when it made none."""
    with units() as uow:
        return uow.orders.with_key(checkout_key)


# what the page showed -----------------------------------------------------------------


@dataclass(frozen=True)
class ShownLine:
    product_id: str
    quantity: int
    price: Decimal
    currency: str


def summary_of(basket: Basket) -> str:
    """What the checkout page shows, as the hidden field the form sends back."""
    return json.dumps(
        [[item.product_id, item.quantity, str(item.price), item.currency] for item in basket.lines],
        separators=(",", ":"),
    )


def _read_summary(text: str) -> list[ShownLine] | None:
    try:
        rows = json.loads(text)
        shown = [
            ShownLine(str(pid), int(quantity), Decimal(str(price)), str(currency))
            for pid, quantity, price, currency in rows
        ]
    except (ValueError, TypeError, InvalidOperation):
        return None
    return shown


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def changes_since(
    shown_text: str, basket: Basket, money: Callable[[Decimal, str], str] = _money
) -> list[str]:
    """What differs between the page the shopper saw and the cart now, in their words
    (amounts written by `money`); empty when nothing that matters changed."""
    shown = _read_summary(shown_text)
    if shown is None:
        return ["Your cart changed since this page was shown."]
    now = {item.product_id: item for item in basket.lines}
    held = {entry.item.product_id: entry for entry in basket.held_back}
    seen = set()
    changes = []
    for before in shown:
        seen.add(before.product_id)
        item = now.get(before.product_id)
        if item is None:
            if before.product_id in held:
                entry = held[before.product_id]
                changes.append(
                    f"{entry.item.title} {entry.why} now: it stays in your cart, "
                    "but it cannot be bought in this order."
                )
            else:
                changes.append("A product you were about to buy is no longer in your cart.")
            continue
        assert item.price is not None and item.currency is not None
        if (item.price, item.currency) != (before.price, before.currency):
            changes.append(
                f"{item.title} now costs {money(item.price, item.currency)} "
                f"(it was {money(before.price, before.currency)})."
            )
        if item.quantity != before.quantity:
            changes.append(
                f"Your cart now has {item.quantity} of {item.title} (it was {before.quantity})."
            )
    for item in basket.lines:
        if item.product_id not in seen:
            changes.append(f"{item.title} was added to your cart.")
    return changes


# the shopper's form -------------------------------------------------------------------

_ADDRESS_LIMITS = {"name": 200, "line1": 200, "line2": 200, "city": 100, "postcode": 32}
_POSTCODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]*")


def read_address(form: Mapping[str, str]) -> tuple[Address | None, str | None]:
    """The shipping address from the form, or the first problem with it."""
    problems = address_problems(form)
    if problems:
        # A missing field first, as before the page showed every problem at once.
        missing = [
            problems[n]
            for n in ("name", "line1", "city")
            if problems.get(n, "").startswith("Enter")
        ]
        return None, (missing or list(problems.values()))[0]
    values = {name: " ".join(form.get(name, "").split()) for name in _ADDRESS_LIMITS}
    country = country_code(form.get("country", ""))
    assert country is not None  # address_problems checked it
    return Address(
        name=values["name"],
        line1=values["line1"],
        line2=values["line2"],
        city=values["city"],
        postcode=values["postcode"].upper(),
        country=country,
    ), None


def address_problems(form: Mapping[str, str]) -> dict[str, str]:
    """Every problem with the form's address, by field name, in the form's order, so the
    page can show each beside its field (issue 14) rather than one at a time."""
    values = {name: " ".join(form.get(name, "").split()) for name in _ADDRESS_LIMITS}
    problems: dict[str, str] = {}
    for name, label in (
        ("name", "your name"),
        ("line1", "the street address"),
        ("line2", ""),
        ("postcode", ""),
        ("city", "the city"),
    ):
        if label and not values[name]:
            problems[name] = f"Enter {label}."
        elif len(values[name]) > _ADDRESS_LIMITS[name]:
            problems[name] = (
                f"That {name} is too long (at most {_ADDRESS_LIMITS[name]} characters)."
            )
    postcode = values["postcode"]
    if "postcode" not in problems and postcode and not _POSTCODE.fullmatch(postcode):
        problems["postcode"] = "A postcode has only letters, digits, spaces and hyphens."
    if country_code(form.get("country", "")) is None:
        problems["country"] = "Enter the country as its two-letter code, like US, GB or DE."
    return problems


# the stock ----------------------------------------------------------------------------

HOLD_REASON = "checkout"


def wanted_of(basket: Basket) -> dict[str, int]:
    """product id -> quantity, for the lines this order buys."""
    return {item.product_id: item.quantity for item in basket.lines}


def hold_stock(units: UnitsOfWork, checkout_key: str, basket: Basket, at: datetime) -> None:
    """Hold the basket's units for this checkout while it pays (all or nothing; raises
    OutOfStock naming every line there is not enough of, and holds nothing)."""
    with units() as uow:
        uow.stock.reserve(
            checkout_holder(checkout_key),
            wanted_of(basket),
            reason=HOLD_REASON,
            now=at,
            until=hold_until(at),
        )


def release_stock(units: UnitsOfWork, checkout_key: str, at: datetime) -> None:
    """Give back what this checkout holds (it will not become an order, or it made one)."""
    with units() as uow:
        uow.stock.release(checkout_holder(checkout_key), at)


def shortage_message(basket: Basket, short: OutOfStock) -> str:
    """What the shopper reads about the lines there is not enough of."""
    titles = {item.product_id: item.title for item in basket.lines}
    return " ".join(
        shortage_text(titles.get(shortage.product_id, shortage.product_id), shortage)
        for shortage in short.shortages
    )


# the order ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    order_id: int
    customer_id: int | None
    # False when the checkout key had made this order already (a double submit).
    created: bool


def place_order(
    units: UnitsOfWork,
    *,
    customer: Buyer,
    checkout_key: str,
    address: Address,
    basket: Basket,
    gateway: str,
    payment: PaymentResult,
    shop_name: str,
    public_url: str,
    at: datetime,
) -> Placed | None:
    """Turn the cart into one order, in one unit of work: the order, its lines, the stock
    held for this checkout turned into the sale, the emptied cart and the queued
    confirmation commit together.

    Returns the order the key made earlier when there is one (a double submit), and None
    when the cart no longer holds what was paid for (it changed during the payment). Raises
    OutOfStock when a hold ran out and its units went to someone else meanwhile: the unit
    of work then rolls back, and nothing is ordered."""
    with units() as uow:
        # Concurrent submits take turns (SQLite's BEGIN IMMEDIATE does it already).
        uow.repository.serialize_writers()
        existing = uow.orders.with_key(checkout_key)
        if existing is not None:
            return Placed(existing.id, existing.customer_id, created=False)
        now = basket_of(uow.carts.items("cart", customer.id))
        if summary_of(now) != summary_of(basket):
            return None
        # The offer as it stands now must be the one paid for (another order redeemed it,
        # it ended): else the payment's amount is not this order's.
        now = with_offer(uow.repository, customer.id, now, at)
        if offer_summary(now) != offer_summary(basket):
            return None
        paying = uow.payments.find(checkout_key)
        if paying is not None and (paying.status != "authorised" or paying.pending_step == "void"):
            return None  # the authorisation was cancelled, or is being: nothing to pay with
        assert basket.currency is not None
        lines = [order_line(item) for item in basket.lines]
        order = NewOrder(
            customer_id=customer.id,
            checkout_key=checkout_key,
            status="paid" if payment.paid else "placed",
            email=customer.email,
            address=address,
            payment_gateway=gateway,
            payment_reference=payment.reference,
            total_amount=basket.to_pay,
            currency=basket.currency,
            created_at=at,
            lines=lines,
            offer_id=None if basket.offer is None else basket.offer.offer_id,
            discount_amount=None if basket.offer is None else basket.offer.discount,
        )
        order_id = uow.orders.add(order)
        redeem_offer(uow.repository, customer.id, basket, order_id, at)
        uow.stock.convert(
            checkout_holder(checkout_key),
            order_holder(order_id),
            wanted_of(basket),
            reason=HOLD_REASON,
            now=at,
        )
        uow.payments.link_order(checkout_key, order_id)
        # The capture is owed with the order: if the request dies before the gateway answers,
        # the payment sweep captures it (services/payment_steps).
        uow.payments.owe(checkout_key, "capture", at + REQUEST_GRACE)
        uow.carts.remove_products(customer.id, [line.product_id for line in lines])
        uow.repository.queue_emails(
            [
                confirmation_email(
                    order_id,
                    order,
                    customer,
                    payment,
                    shop_name,
                    public_url,
                    offer_label=None if basket.offer is None else basket.offer.label,
                    templates=uow.repository.message_templates(),
                )
            ],
            at,
        )
        return Placed(order_id, customer.id, created=True)


def order_line(item: ListItem) -> OrderLine:
    """The line as bought, naming the shoppable post it came from (for the funnel)."""
    assert item.price is not None and item.currency is not None
    origin = item.origin
    has_post = origin.network is not None and origin.post_id is not None
    return OrderLine(
        product_id=item.product_id,
        title=item.title,
        unit_price=item.price,
        currency=item.currency,
        quantity=item.quantity,
        network=origin.network if has_post else None,
        post_id=origin.post_id if has_post else None,
        trigger_post_id=origin.trigger_post_id if has_post else None,
    )


def redeem_offer(
    repo: Repository, customer_id: int, basket: Basket, order_id: int, at: datetime
) -> None:
    """Redeem the basket's offer by its order, in the order's transaction (none: nothing).
    Raises OfferTaken should another order have redeemed it: unreachable while writers take
    turns and the offer was checked under that turn, and never redeemed twice."""
    if basket.offer is None:
        return
    assert basket.currency is not None
    lines = priced_lines(basket.lines)
    redeemed = apply_offer(repo, customer_id, lines, basket.currency, at, order_id=order_id)
    if redeemed != basket.offer:
        raise OfferTaken(f"order {order_id}: the offer was redeemed meanwhile")


class OfferTaken(HashcartError, RuntimeError):
    """The order's offer was redeemed by another order in the same instant (it cannot be
    while writers take turns): the order's unit of work rolls back."""


def _offer_line(order: NewOrder, label: str | None) -> str:
    """The receipt's offer line, when the order redeemed one: `Offer summer20: 20% off:
    -4.00 EUR` (the tag is the merchant's, checked to be a plain hashtag)."""
    if not order.discount_amount:
        return ""
    named = f" {label}" if label else ""
    return f"Offer{named}: -{_money(order.discount_amount, order.currency)}\n"


def confirmation_email(
    order_id: int,
    order: NewOrder,
    customer: Buyer,
    payment: PaymentResult,
    shop_name: str,
    public_url: str,
    *,
    offer_label: str | None = None,
    templates: Mapping[str, str] | None = None,
) -> Email:
    """The order's receipt, in the merchant's words when they rewrote its subject or body
    (`templates`, issue 14), else the words it always had."""
    address = order.address
    lines = "\n".join(
        f"  {line.quantity} × {line.title}: {_money(line.line_total, line.currency)}"
        for line in order.lines
    )
    ship_to = "\n".join(
        f"  {part}"
        for part in (
            address.name,
            address.line1,
            address.line2,
            f"{address.postcode} {address.city}".strip(),
            address.country,
        )
        if part
    )
    greeting = f"Hello {customer.name}," if customer.name else "Hello,"
    status = "paid" if payment.paid else "placed (to be paid on invoice)"
    values = {
        "greeting": greeting,
        "order": str(order_id),
        "shop": shop_name,
        "status": status,
        "lines": lines,
        "offer_line": _offer_line(order, offer_label),
        "total": _money(order.total_amount, order.currency),
        "payment": payment.message,
        "reference": payment.reference,
        "ship_to": ship_to,
        "order_url": f"{public_url.rstrip('/')}/orders/{order_id}",
    }
    return Email(
        to=customer.email,
        subject=subject_line("order_confirmed", templates, values),
        text=fill_email("email.order_confirmed", templates, values) + "\n",
        reason="order_confirmed",
        dedupe_key=f"order:{order_id}",
    )
