"""The stock rules: what is free to reserve, when a hold stops counting, what a shopper reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hashcart.domain.stock import (
    CHECKOUT_HOLD,
    Hold,
    HoldStatus,
    Shortage,
    available,
    can_reserve,
    checkout_holder,
    counts,
    hold_until,
    order_holder,
    shortage_text,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _hold(quantity: int, status: HoldStatus = "held", minutes: int = 10) -> Hold:
    return Hold("mug", quantity, status, NOW + timedelta(minutes=minutes))


def test_live_holds_keep_units_and_the_rest_are_free() -> None:
    assert available(5, [_hold(2), _hold(1)], NOW) == 2


def test_an_expired_hold_stops_counting_at_its_time() -> None:
    assert counts(_hold(2, minutes=1), NOW)
    assert not counts(_hold(2, minutes=0), NOW)
    assert available(5, [_hold(2, minutes=0), _hold(1)], NOW) == 4


def test_ended_holds_do_not_count() -> None:
    statuses: list[HoldStatus] = ["released", "expired", "converted"]
    ended = [_hold(3, status) for status in statuses]
    assert available(3, ended, NOW) == 3


def test_free_units_never_go_below_zero_and_uncounted_stock_has_no_limit() -> None:
    assert available(1, [_hold(3)], NOW) == 0
    assert available(None, [_hold(3)], NOW) is None


def test_a_reservation_fits_only_within_stock() -> None:
    assert can_reserve(5, 3, 2)
    assert not can_reserve(5, 4, 2)
    assert can_reserve(None, 10**6, 7)
    assert not can_reserve(5, 0, 0)


def test_holders_and_hold_time() -> None:
    assert checkout_holder("abc") == "checkout:abc"
    assert order_holder(12) == "order:12"
    assert hold_until(NOW) == NOW + CHECKOUT_HOLD == NOW + timedelta(minutes=15)


def test_what_a_shopper_reads_about_a_short_line() -> None:
    assert shortage_text("Mug", Shortage("mug", 2, 0)) == "Mug is out of stock."
    assert shortage_text("Mug", Shortage("mug", 3, 1)) == (
        "Only 1 of Mug is left (your cart has 3)."
    )
    assert shortage_text("Mug", Shortage("mug", 3, 2)) == (
        "Only 2 of Mug are left (your cart has 3)."
    )
