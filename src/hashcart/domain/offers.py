"""Offers by hashtag (issue 12): what an offer is, who may load it, and what it takes off.

A merchant makes an offer under a hashtag (`#summer20`): a percentage or an amount off in
the shop's currency, on some products or all, for the first N shoppers or any number,
until a moment or for ever. A linked shopper posting the tag loads it onto their account;
it then applies by itself to their next order with an eligible product, once.

The rules here are pure: checking what a merchant typed (`OfferTerms.checked`), deciding
one load (`load_decision`, given what the store counted) and pricing lines (`discount_on`).
The store keeps the offers and loads (store/offers), services/offers acts on posts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from hashcart.domain.hashtags import hashtags
from hashcart.domain.triggers import normalize_tag
from hashcart.errors import HashcartError

__all__ = [
    "MAX_PRODUCTS",
    "MAX_TAG_CHARS",
    "LoadDecision",
    "Offer",
    "OfferInputError",
    "OfferTerms",
    "PricedLine",
    "describe",
    "discount_on",
    "load_decision",
    "parse_expiry",
    "parse_products",
]

# The longest offer tag kept: X allows 100-character hashtags, no merchant needs more than 64.
MAX_TAG_CHARS = 64
# The most products one offer names (a merchant with more leaves --products out: all).
MAX_PRODUCTS = 500
_MAX_PRODUCT_ID = 200  # products.product_id's width
_CENT = Decimal("0.01")
_PERCENT_STEP = Decimal("0.0001")  # offers.percent_off is Numeric(7, 4)
_MAX_AMOUNT = Decimal("1000000")  # orders.total_amount is Numeric(12, 2): far below it


class OfferInputError(HashcartError, ValueError):
    """What a merchant typed cannot make an offer; the message says what to change."""


class LoadDecision(StrEnum):
    """What one post asking for an offer got (its action's outcome, and the message)."""

    LOADED = "offer_loaded"
    ALREADY_LOADED = "offer_already_loaded"
    EXHAUSTED = "offer_exhausted"
    EXPIRED = "offer_expired"
    # A paused offer loads nothing and answers nothing: the merchant stopped it for a reason
    # (a typo in its terms, stock running low) and may resume it; telling shoppers "paused"
    # in public invites them to try again later, telling them nothing costs no one anything.
    PAUSED = "offer_paused"


@dataclass(frozen=True)
class OfferTerms:
    """An offer as the merchant wrote it, checked: exactly one of `percent` (0 < p <= 100)
    and `amount` (> 0, in `currency`)."""

    tag: str
    percent: Decimal | None
    amount: Decimal | None
    currency: str | None
    product_ids: tuple[str, ...] | None  # None: every product
    limit: int | None
    expires_at: datetime | None

    @classmethod
    def checked(
        cls,
        tag: str,
        *,
        percent: str | None,
        amount: str | None,
        currency: str | None,
        products: tuple[str, ...] | None,
        limit: int | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> OfferTerms:
        written = check_tag(tag)
        if (percent is None) == (amount is None):
            raise OfferInputError("give exactly one of --percent and --amount")
        off_percent = off_amount = None
        if percent is not None:
            off_percent = _decimal(percent, "--percent")
            if not Decimal(0) < off_percent <= Decimal(100):
                raise OfferInputError(f"--percent must be above 0 and at most 100, not {percent}")
            if off_percent != off_percent.quantize(_PERCENT_STEP):
                raise OfferInputError(f"--percent has at most 4 decimals, not {percent[:40]}")
        else:
            assert amount is not None
            off_amount = _decimal(amount, "--amount")
            if off_amount <= 0:
                raise OfferInputError(f"--amount must be more than 0, not {amount}")
            if off_amount > _MAX_AMOUNT or off_amount != off_amount.quantize(_CENT):
                raise OfferInputError(
                    f"--amount must be at most {_MAX_AMOUNT} with at most 2 decimals, not {amount}"
                )
            if currency is None:
                raise OfferInputError("an amount off needs the shop's currency (--currency)")
        if limit is not None and not 1 <= limit <= 10_000_000:
            raise OfferInputError(f"--limit must be at least 1, not {limit}")
        if expires_at is not None and expires_at <= now:
            raise OfferInputError("--expires is in the past: an offer must end after now")
        return cls(
            written,
            off_percent,
            off_amount,
            currency if off_amount is not None else None,
            products,
            limit,
            expires_at,
        )


@dataclass(frozen=True)
class Offer:
    """An offer as stored."""

    id: int
    tag: str  # as the merchant wrote it, without '#'
    percent: Decimal | None
    amount: Decimal | None
    currency: str | None
    product_ids: tuple[str, ...] | None
    limit: int | None
    expires_at: datetime | None
    paused: bool
    created_at: datetime

    def expired(self, at: datetime) -> bool:
        return self.expires_at is not None and at >= self.expires_at

    def covers(self, product_id: str) -> bool:
        return self.product_ids is None or product_id in self.product_ids


def check_tag(tag: str) -> str:
    """The tag without its sign, if it is one hashtag on its own (as the trigger tags must
    be, domain/triggers); else OfferInputError."""
    written = tag[1:] if tag[:1] in ("#", "＃") else tag
    if (
        not written
        or len(written) > MAX_TAG_CHARS
        or "\x00" in written
        or any(unicodedata.category(c) in ("Cc", "Cs") for c in written)
        or hashtags("#" + written) != [written]
    ):
        shown = written[:MAX_TAG_CHARS].encode("unicode_escape").decode("ascii")
        raise OfferInputError(
            f"offer tag {shown!r} is not a hashtag: write it as letters (and digits or '_'), "
            f"at most {MAX_TAG_CHARS} characters, with no spaces"
        )
    return written


def parse_products(text: str | None) -> tuple[str, ...] | None:
    """`ID,ID,...` -> the distinct ids in order; None (every product) for None."""
    if text is None:
        return None
    ids = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise OfferInputError("--products names no product: leave it out for every product")
    if len(ids) > MAX_PRODUCTS:
        raise OfferInputError(f"--products names {len(ids)} products (at most {MAX_PRODUCTS})")
    for pid in ids:
        if len(pid) > _MAX_PRODUCT_ID or "\x00" in pid:
            raise OfferInputError("--products has an id no product can have")
    return ids


def parse_expiry(text: str | None) -> datetime | None:
    """An ISO-8601 moment; one without a zone is UTC (say so in the help)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        shown = text[:40].encode("unicode_escape").decode("ascii")
        raise OfferInputError(
            f"--expires {shown!r} is not an ISO-8601 date or time (2026-12-31T23:59:00Z)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _decimal(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        value = Decimal("NaN")
    if not value.is_finite():
        raise OfferInputError(f"{option} must be a number, not {text[:40]!r}")
    return value


def describe(offer: Offer | OfferTerms) -> str:
    """How a message and a page name what the offer takes off: `20% off`, `5.00 EUR off`."""
    if offer.percent is not None:
        return f"{offer.percent.normalize():f}% off"
    assert offer.amount is not None
    return f"{offer.amount:.2f} {offer.currency} off"


def load_decision(
    offer: Offer, *, posted_at: datetime, loaded_by_account: bool, loads_so_far: int
) -> LoadDecision:
    """One post's load, judged by the post's own time: a paused offer loads nothing, an
    expired one nothing, an account loads an offer once, and the first `limit` loads win."""
    if offer.paused:
        return LoadDecision.PAUSED
    if loaded_by_account:
        return LoadDecision.ALREADY_LOADED
    if offer.expired(posted_at):
        return LoadDecision.EXPIRED
    if offer.limit is not None and loads_so_far >= offer.limit:
        return LoadDecision.EXHAUSTED
    return LoadDecision.LOADED


@dataclass(frozen=True)
class PricedLine:
    product_id: str
    unit_price: Decimal
    currency: str
    quantity: int


def discount_on(offer: Offer, lines: Sequence[PricedLine], currency: str | None) -> Decimal:
    """What the offer takes off these lines: only eligible products count, an amount off
    applies only in its currency, and never more than the eligible lines cost (so an order
    never goes below zero). Rounded to the cent, half up."""
    eligible = _eligible_total(offer, lines)
    if eligible <= 0:
        return Decimal("0.00")
    if offer.percent is not None:
        off = (eligible * offer.percent / Decimal(100)).quantize(_CENT, ROUND_HALF_UP)
    else:
        assert offer.amount is not None
        if currency is None or offer.currency != currency:
            return Decimal("0.00")
        off = offer.amount
    return min(off, eligible).quantize(_CENT)


def _eligible_total(offer: Offer, lines: Iterable[PricedLine]) -> Decimal:
    return sum(
        (line.unit_price * line.quantity for line in lines if offer.covers(line.product_id)),
        Decimal(0),
    )


def same_tag(a: str, b: str) -> bool:
    return normalize_tag(a) == normalize_tag(b)
