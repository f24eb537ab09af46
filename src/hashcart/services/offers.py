"""Offers by hashtag (issue 12): what a merchant does with offers, and what a loaded offer
takes off an order.

`add_offer`, `set_paused` and `list_offers` serve the command line and the console.
`apply_offer` is the one function an order calls, the web checkout and a buy with a post
alike: without an order it prices (the shopper's oldest loaded offer that takes something
off these lines), with one it also redeems the offer for that order, once, in the order's
own transaction. Loading offers from posts is in services/offer_loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from hashcart.domain.kinds import KINDS, OFFER
from hashcart.domain.offers import (
    Offer,
    OfferInputError,
    OfferTerms,
    PricedLine,
    describe,
    discount_on,
    parse_expiry,
    parse_products,
)
from hashcart.domain.triggers import normalize_tag
from hashcart.ports import ListItem, OfferCounts, Repository, UnitsOfWork

__all__ = [
    "AppliedOffer",
    "OfferInputError",
    "add_offer",
    "apply_offer",
    "find_offer_id",
    "list_offers",
    "priced_lines",
    "set_paused",
]


@dataclass(frozen=True)
class AppliedOffer:
    """A loaded offer as it applies to one order: which load, and what it takes off."""

    load_id: int
    offer_id: int
    tag: str
    label: str  # "summer20: 20% off", as the order page and the receipt show it
    discount: Decimal


def add_offer(
    units: UnitsOfWork,
    settings: Any,
    at: datetime,
    *,
    tag: str,
    percent: str | None = None,
    amount: str | None = None,
    currency: str | None = None,
    products: str | None = None,
    limit: int | None = None,
    expires: str | None = None,
) -> Offer:
    """Check what the merchant wrote and store the offer; OfferInputError (or
    ports.OfferTagTaken) says what to change. `settings` are the settings in force: an offer
    tag may not be a tag another kind answers to."""
    expires_at = parse_expiry(expires)
    product_ids = parse_products(products)
    with units() as uow:
        repo = uow.repository
        catalog = {pid for pid, _, _, _ in repo.products()}
        if product_ids is not None:
            unknown = [pid for pid in product_ids if pid not in catalog]
            if unknown:
                shown = ", ".join(repr(pid[:60]) for pid in unknown[:5])
                more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                raise OfferInputError(f"no product with id {shown}{more} in the catalog")
        if amount is not None and percent is None and currency is None:
            currency = _catalog_currency(repo)
        terms = OfferTerms.checked(
            tag,
            percent=percent,
            amount=amount,
            currency=currency.strip().upper() if currency else None,
            products=product_ids,
            limit=limit,
            expires_at=expires_at,
            now=at,
        )
        _check_not_another_kinds(terms.tag, settings)
        return repo.offers.add(terms, at)


def _catalog_currency(repo: Repository) -> str:
    currencies = repo.offers.catalog_currencies()
    if len(currencies) != 1:
        raise OfferInputError(
            "an amount off is in the shop's currency: give it with --currency "
            f"(the catalog has prices in {', '.join(sorted(currencies)) or 'no currency'})"
        )
    return next(iter(currencies))


def _check_not_another_kinds(tag: str, settings: Any) -> None:
    key = normalize_tag(tag)
    for kind, tags in KINDS.tags_by_kind(settings).items():
        if kind != OFFER.name and any(normalize_tag(other) == key for other in tags):
            raise OfferInputError(
                f"offer tag {tag!r} is the {kind} tag already: choose another tag"
            )
    for kind, (follows, words) in KINDS.words_after(settings).items():
        del follows
        if any(normalize_tag(word) == key for word in words):
            raise OfferInputError(f"offer tag {tag!r} is a {kind} word: choose another tag")


def set_paused(units: UnitsOfWork, offer_id: int, paused: bool) -> bool:
    """Pause (no load, no answer, its tag leaves the streams) or resume; False: no such offer."""
    with units() as uow:
        return uow.repository.offers.set_paused(offer_id, paused)


def find_offer_id(units: UnitsOfWork, offer: str) -> int | None:
    """An offer named by its id or its tag (with or without '#'); None when none is."""
    text = offer.strip()
    with units() as uow:
        store = uow.repository.offers
        if text.isascii() and text.isdigit() and len(text) <= 12:
            found = store.find(int(text))
            return None if found is None else found.id
        tag = text[1:] if text[:1] in ("#", "＃") else text
        match = store.by_tags([tag]).get(normalize_tag(tag))
        return None if match is None else match.id


def list_offers(units: UnitsOfWork) -> list[OfferCounts]:
    with units() as uow:
        return uow.repository.offers.all()


def offer_json(counted: OfferCounts, at: datetime) -> dict[str, Any]:
    """One offer as `offers list --json` prints it."""
    offer = counted.offer
    return {
        "id": offer.id,
        "tag": offer.tag,
        "percent_off": None if offer.percent is None else f"{offer.percent.normalize():f}",
        "amount_off": None if offer.amount is None else f"{offer.amount:.2f}",
        "currency": offer.currency,
        "products": None if offer.product_ids is None else list(offer.product_ids),
        "limit": offer.limit,
        "expires_at": offer.expires_at,
        "paused": offer.paused,
        "expired": offer.expired(at),
        "created_at": offer.created_at,
        "loads": counted.loads,
        "pending": counted.pending,
        "redemptions": counted.redemptions,
        "discounted": f"{counted.discounted:.2f}",
        "describe": describe(offer),
    }


def priced_lines(items: Iterable[ListItem]) -> list[PricedLine]:
    """Cart lines with a price, as an offer prices them."""
    return [
        PricedLine(item.product_id, item.price, item.currency, item.quantity)
        for item in items
        if item.price is not None and item.currency is not None
    ]


def apply_offer(
    repo: Repository,
    customer_id: int,
    lines: Sequence[PricedLine],
    currency: str | None,
    at: datetime,
    *,
    order_id: int | None = None,
) -> AppliedOffer | None:
    """The shopper's loaded offer for these lines, and with `order_id`, redeemed by it.

    Prices: the oldest load no order redeemed whose offer has not ended at `at` and takes
    something off these lines (only eligible products, never below zero: domain/offers).
    With `order_id` (call it in the order's transaction, after writing the order), the load
    is also marked redeemed by that order, compare-and-set: None when another order took
    it meanwhile, so two orders at once redeem it once. For buy with a post: the quote is
    priced without `order_id` and its request holds the load it took (left out here while
    held); the buy's order redeems that load by its id (services/buying._place)."""
    # Loads an open buy request's quote holds are not this order's (services/buying).
    for load, offer in repo.offers.unredeemed(customer_id, at):
        if offer.expired(at):
            continue
        off = discount_on(offer, lines, currency)
        if off <= 0:
            continue
        applied = AppliedOffer(load.id, offer.id, offer.tag, f"{offer.tag}: {describe(offer)}", off)
        if order_id is None:
            return applied
        return applied if repo.offers.redeem(load.id, order_id, at) else None
    return None
