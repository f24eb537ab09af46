"""The offer rules (domain/offers): what a discount may take off, and how one load is judged.
Properties over any lines, percentages and amounts (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashcart.domain.offers import (
    LoadDecision,
    Offer,
    OfferInputError,
    PricedLine,
    check_tag,
    discount_on,
    load_decision,
)

NOW = datetime(2026, 12, 6, tzinfo=UTC)
PRODUCTS = ("mug", "beans", "kettle")

prices = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("9999.99"), places=2)
lines = st.lists(
    st.builds(PricedLine, st.sampled_from(PRODUCTS), prices, st.just("USD"), st.integers(1, 50)),
    max_size=6,
)
eligible = st.one_of(st.none(), st.sets(st.sampled_from(PRODUCTS), min_size=1).map(tuple))


def _offer(
    *,
    percent: Decimal | None = None,
    amount: Decimal | None = None,
    products: tuple[str, ...] | None = None,
    limit: int | None = None,
    expires_at: datetime | None = None,
    paused: bool = False,
) -> Offer:
    return Offer(
        1,
        "summer20",
        percent,
        amount,
        "USD" if amount is not None else None,
        products,
        limit,
        expires_at,
        paused,
        NOW,
    )


def _eligible_total(offer: Offer, found: list[PricedLine]) -> Decimal:
    return sum(
        (line.unit_price * line.quantity for line in found if offer.covers(line.product_id)),
        Decimal(0),
    )


@given(
    lines,
    eligible,
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100), places=4),
)
def test_a_percentage_takes_at_most_the_eligible_lines_and_never_below_zero(
    found: list[PricedLine], products: tuple[str, ...] | None, percent: Decimal
) -> None:
    offer = _offer(percent=percent, products=products)
    off = discount_on(offer, found, "USD")
    assert Decimal(0) <= off <= _eligible_total(offer, found)
    assert off == off.quantize(Decimal("0.01"))


@given(lines, eligible, st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2))
def test_an_amount_takes_at_most_the_eligible_lines_and_only_in_its_currency(
    found: list[PricedLine], products: tuple[str, ...] | None, amount: Decimal
) -> None:
    offer = _offer(amount=amount, products=products)
    off = discount_on(offer, found, "USD")
    assert off == min(amount, _eligible_total(offer, found))
    assert discount_on(offer, found, "EUR") == 0


def test_a_full_percentage_takes_exactly_the_eligible_lines() -> None:
    found = [
        PricedLine("mug", Decimal("18.00"), "USD", 2),
        PricedLine("beans", Decimal("5"), "USD", 1),
    ]
    assert discount_on(_offer(percent=Decimal(100), products=("mug",)), found, "USD") == Decimal(
        "36.00"
    )


@pytest.mark.parametrize(
    ("offer", "already", "so_far", "posted", "decision"),
    [
        (_offer(percent=Decimal(5), paused=True), False, 0, NOW, LoadDecision.PAUSED),
        (_offer(percent=Decimal(5)), True, 0, NOW, LoadDecision.ALREADY_LOADED),
        (_offer(percent=Decimal(5), expires_at=NOW), False, 0, NOW, LoadDecision.EXPIRED),
        (
            _offer(percent=Decimal(5), expires_at=NOW),
            False,
            0,
            NOW - timedelta(seconds=1),
            LoadDecision.LOADED,
        ),
        (_offer(percent=Decimal(5), limit=3), False, 3, NOW, LoadDecision.EXHAUSTED),
        (_offer(percent=Decimal(5), limit=3), False, 2, NOW, LoadDecision.LOADED),
    ],
)
def test_one_load_is_judged_by_the_posts_own_time(
    offer: Offer, already: bool, so_far: int, posted: datetime, decision: LoadDecision
) -> None:
    assert (
        load_decision(offer, posted_at=posted, loaded_by_account=already, loads_so_far=so_far)
        is decision
    )


# The first non-ASCII text builds twitter-text's hashtag pattern (cached): no deadline.
@settings(deadline=None)
@given(st.text(max_size=80))
def test_a_checked_tag_is_one_hashtag_or_refused(text: str) -> None:
    try:
        tag = check_tag(text)
    except OfferInputError:
        return
    assert 0 < len(tag) <= 64 and "\x00" not in tag and not tag.startswith("#")
