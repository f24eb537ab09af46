"""Stock and reservations, as rules: what can still be sold, how long a hold lasts, and
what a shopper is told when there is not enough.

A product's `stock` is the units on hand to sell; None means the shop does not count it
(no limit: its availability alone says whether it sells). A reservation (a hold) keeps
units for one holder, a checkout paying, until it is released, converted into an order, or
its time runs out. An expired hold stops counting even before anything tidies it away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from hashcart.errors import HashcartError

# Long enough to pay (a card's 3-D Secure step included), short enough that an abandoned
# checkout does not keep the last units from other shoppers for long.
CHECKOUT_HOLD = timedelta(minutes=15)

HoldStatus = Literal["held", "released", "expired", "converted"]


@dataclass(frozen=True)
class Hold:
    product_id: str
    quantity: int
    status: HoldStatus
    reserved_until: datetime


@dataclass(frozen=True)
class Shortage:
    """A line that cannot be held: `wanted` units asked for, `left` still free."""

    product_id: str
    wanted: int
    left: int


def checkout_holder(checkout_key: str) -> str:
    """Who holds stock while a checkout pays: the checkout form's key."""
    return f"checkout:{checkout_key}"


def order_holder(order_id: int) -> str:
    """Who holds stock once it is sold: the order."""
    return f"order:{order_id}"


def hold_until(now: datetime, hold: timedelta = CHECKOUT_HOLD) -> datetime:
    return now + hold


def counts(hold: Hold, now: datetime) -> bool:
    """Whether a hold still keeps its units from others: held, and not yet expired."""
    return hold.status == "held" and hold.reserved_until > now


def available(stock: int | None, holds: Iterable[Hold], now: datetime) -> int | None:
    """Units free to reserve: stock less what live holds keep (never below zero), or None
    when stock is not counted."""
    if stock is None:
        return None
    return free_of(stock, sum(hold.quantity for hold in holds if counts(hold, now)))


def free_of(stock: int | None, held: int) -> int | None:
    """Units free when `held` units are in live holds: never below zero (a count lowered
    under a hold leaves none free), None when stock is not counted."""
    return None if stock is None else max(0, stock - held)


def can_reserve(stock: int | None, reserved: int, quantity: int) -> bool:
    """The rule the store's guarded UPDATE applies in SQL (store/stock.py): an uncounted
    product always can; a counted one while the holds stay within its stock."""
    if quantity < 1:
        return False
    return stock is None or reserved + quantity <= stock


# --- the merchant's count: what `hashcart stock set`, a feed's `quantity` and the console take

# The word that clears a count (the product is no longer counted: no limit).
UNKNOWN = "unknown"
# The largest count taken: far beyond any shelf, and well inside a 32-bit INTEGER column
# (PostgreSQL's), so holds added to it can never overflow.
MAX_STOCK = 1_000_000_000
_MAX_DIGITS = len(str(MAX_STOCK))


class StockCountError(HashcartError, ValueError):
    """A count that cannot be stored; the message says what to write instead."""


def parse_stock_count(text: str) -> int | None:
    """A count of units on hand as a merchant writes it: a whole number from 0 to
    MAX_STOCK (ASCII digits only: no sign, no exponent, no other script's digits), or
    `unknown` (any case) for "not counted". Surrounding spaces are ignored; anything else is
    StockCountError, with the text shown cut short and with control characters escaped."""
    cleaned = text.strip()
    if cleaned.lower() == UNKNOWN:
        return None
    if cleaned.startswith("-") and cleaned[1:].isascii() and cleaned[1:].isdigit():
        raise StockCountError(f"a stock count cannot be negative: {_shown(text)}")
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise StockCountError(
            f"a stock count is a whole number of units, or {UNKNOWN!r}: not {_shown(text)}"
        )
    # Leading zeros go first: int() refuses more than 4,300 digits, zeros included.
    digits = cleaned.lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS or int(digits) > MAX_STOCK:
        raise StockCountError(f"a stock count is at most {MAX_STOCK:,}: not {_shown(text)}")
    return int(digits)


def _shown(text: str, limit: int = 30) -> str:
    """`text` as an error message may quote it: cut short, and quoted by repr, which writes
    out every character that does not print (a NUL, an escape sequence, a lone surrogate
    from undecodable bytes) rather than send it to a terminal or a page."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def shortage_text(title: str, shortage: Shortage) -> str:
    """What a shopper reads about a line there is not enough of."""
    if shortage.left <= 0:
        return f"{title} is out of stock."
    unit = "is" if shortage.left == 1 else "are"
    return f"Only {shortage.left} of {title} {unit} left (your cart has {shortage.wanted})."
