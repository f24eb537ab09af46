"""One home for cart rules: what may go in a cart, how much, and what adding a product that
is already there does. The web (the shop's Add button, moving a line from the wish list)
and the engine (a `#cart` reply) both decide with these rules; store/ only writes what
they decided.

Where the two ways of adding differ, they differ on purpose, and each difference is named
here (and pinned by a test in tests/unit/test_carts.py):

- **A product already in the cart.** The web's Add button means "one more" (+1, never past
  `max_quantity`); a reply means "this, in the cart" and changes nothing when it is there
  already: a shopper who replies `#cart` under two posts of the same product, or whose reply
  is delivered twice, must not find two in the cart. See `WEB_ADD` and `REPLY_ADD`.
- **The quantity of a new line.** The web adds 1; a reply adds what it asked for (`x2`),
  within the same `max_quantity` (`new_line_quantity`).
- **A product not in the catalog.** The web says so (`Refusal.UNKNOWN`); a reply names a
  product its parent's link resolved to, so it can only be unknown if the catalog changed
  meanwhile, and the shopper is told it is unavailable (the one wording replies have).

Rules shared by both: a product out of stock or discontinued never goes in a cart (it may go
on a wish list), and no line holds more than `max_quantity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = [
    "REPLY_ADD",
    "UNAVAILABLE",
    "WEB_ADD",
    "AddRule",
    "ListKind",
    "Refusal",
    "can_be_bought",
    "cart_refusal",
    "merged_quantity",
    "new_line_quantity",
]

# The two lists a shopper has. A trigger kind names one of them when it puts a product there.
ListKind = Literal["cart", "wishlist"]

# Catalog availabilities (Google Merchant Center's words) that cannot be bought now.
UNAVAILABLE = frozenset({"out_of_stock", "discontinued"})


class Refusal(StrEnum):
    """Why a product does not go in the cart."""

    UNKNOWN = "unknown"  # not in the catalog
    UNAVAILABLE = "unavailable"  # out of stock or discontinued


def can_be_bought(availability: str) -> bool:
    """Whether a catalog product with this availability may go in a cart now."""
    return availability not in UNAVAILABLE


def cart_refusal(availability: str | None) -> Refusal | None:
    """Why a product with this availability (None: not in the catalog) may not go in a cart,
    or None when it may. A wish list takes any product the catalog has."""
    if availability is None:
        return Refusal.UNKNOWN
    if not can_be_bought(availability):
        return Refusal.UNAVAILABLE
    return None


@dataclass(frozen=True)
class AddRule:
    """How one way of adding treats a product: the quantity of a new line, and how much a
    line already in the cart grows by (0: it is left as it is)."""

    name: str
    grows_by: int
    # None: the quantity asked for (a reply's `x2`); else always this many.
    new_quantity: int | None

    @property
    def keeps_existing_line(self) -> bool:
        return self.grows_by == 0


# Deliberate difference 1 and 2 (see the module docstring): Add is "one more"; a reply
# states what it wants once, so repeating it (or its redelivery) changes nothing.
WEB_ADD = AddRule("web", grows_by=1, new_quantity=1)
REPLY_ADD = AddRule("reply", grows_by=0, new_quantity=None)


def new_line_quantity(rule: AddRule, asked: int, max_quantity: int) -> int:
    """The quantity a new cart line starts with: 1..max_quantity."""
    wanted = rule.new_quantity if rule.new_quantity is not None else asked
    return max(1, min(wanted, max_quantity))


def merged_quantity(current: int, added: int, max_quantity: int) -> int:
    """A line's quantity once `added` more joined it (a wish-list line moved onto the same
    product in the cart, or the reverse): summed, never past max_quantity."""
    return min(current + added, max_quantity)
