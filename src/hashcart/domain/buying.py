"""Buy with a post (issue 12): the rules of a `#buy` and its `#confirm CODE`, without I/O.

A linked shopper's `#buy` under a product post is quoted (price, quantity, total), the stock
is held, and a one-time code goes back to them; the same account posting `#confirm CODE`
within the window buys it with the saved card. The quoted price binds for the window.

Codes are short and read aloud or typed on a phone: four characters from an alphabet
without look-alikes (no 0/O, 1/I/L, U/V; never a vowel pair that spells a word), upper
case, read in any case. 29^4 is about 700,000 codes, many times the open requests a shop has
at once (unique among open requests: the store retries a code in use).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 4
_CODE = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
# A word right after the confirm tag: letters and digits only, at most this long (a longer
# word is no code; it is not looked up).
_WORD_AFTER = 16

# How long a request of an account not linked yet waits for the link (as `#cart`'s do:
# pending intents, `pending_expiry_days`).
BuyStatus = Literal["open", "confirmed", "bought", "declined", "expired", "handed_off"]
# Statuses whose code is still in use: no other open request may take it.
OPEN_STATUSES: tuple[BuyStatus, ...] = ("open", "confirmed")
# A request whose confirm is claimed keeps its stock this long while it is paid for (the
# gateway may not answer at once; the sweep asks again with the same key).
PAYING_HOLD = timedelta(hours=1)
# How long a settling process has a claimed confirm before another may take it over (one
# that died mid-payment: the same key is sent again, never a second charge).
SETTLE_LEASE = timedelta(minutes=2)
# The `gateway` of a request paid at the merchant's own store (`checkout_at_store`, issue
# 16): no card is quoted, and the confirmed buy is handed to the store instead of charged.
AT_STORE = "store"


def new_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh code (unguessable: secrets.choice)."""
    return "".join(choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_code(word: str) -> bool:
    return _CODE.fullmatch(word) is not None


def code_after_tag(text: str, tags: Iterable[str]) -> str | None:
    """The code in `#confirm K7QX` (any case, the tag any of `tags`): the word right after
    the first confirm tag, upper-cased; None when there is none or it is no code. The
    networks' text forms differ only around the tag (X puts `@shop` first, Mastodon's HTML
    is made text by its decoder), so reading the word after the tag covers all three."""
    forms = [tag.casefold() for tag in tags if tag]
    if not forms:
        return None
    words = text.split()
    for index, word in enumerate(words[:-1]):
        if word.startswith("#") and word[1:].casefold() in forms:
            following = words[index + 1].strip(".,!?;:)(\"'")
            if len(following) > _WORD_AFTER:
                return None
            candidate = following.upper()
            return candidate if is_code(candidate) else None
    return None


def money(amount: Decimal, currency: str) -> str:
    """An amount as a shopper reads it: `24.00 EUR`."""
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)} {currency}"


@dataclass(frozen=True, slots=True)
class QuotedOffer:
    """The shopper's loaded offer a quote took off (issue 12, offers by hashtag): the load
    the buy request holds until it is bought, declined or expired, and what it took off."""

    load_id: int
    offer_id: int
    tag: str
    label: str  # "summer20: 10% off", as the order page and the receipt show it
    discount: Decimal


@dataclass(frozen=True, slots=True)
class Quote:
    """What a `#buy` is offered at: binding for the confirm window."""

    product_id: str
    title: str
    quantity: int
    unit_price: Decimal
    currency: str
    offer: QuotedOffer | None = None

    @property
    def subtotal(self) -> Decimal:
        """The lines' price before any offer."""
        return self.unit_price * self.quantity

    @property
    def discount(self) -> Decimal:
        return Decimal(0) if self.offer is None else self.offer.discount

    @property
    def total(self) -> Decimal:
        """What is charged: the subtotal less the offer, never below zero."""
        return max(self.subtotal - self.discount, Decimal(0))


def over_daily_limit(spent_today: Decimal, total: Decimal, limit: Decimal) -> bool:
    """Whether buying `total` takes the shopper's buys of the day over `limit` (open and
    bought requests of the UTC day count; declined and expired ones do not)."""
    return spent_today + total > limit


def confirm_by(now: datetime, minutes: float) -> datetime:
    return now + timedelta(minutes=minutes)


def buy_holder(buy_key: str) -> str:
    """Who holds the stock while a buy waits for its confirm and is paid (domain/stock)."""
    return f"buy:{buy_key}"
