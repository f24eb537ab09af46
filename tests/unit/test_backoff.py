"""Backoff: the schedule every reconnect and retry follows."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from hashcart.backoff import Backoff


def test_exponential_doubles_from_first_and_stops_at_cap() -> None:
    backoff = Backoff(first=5, cap=320, jitter=False)
    assert [backoff.delay(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 320, 320]


def test_linear_adds_first_each_time_up_to_cap() -> None:
    # X's documented reconnect after TCP errors: +250 ms a time, up to 16 s.
    backoff = Backoff(first=0.25, cap=16, linear=True, jitter=False)
    assert [backoff.delay(n) for n in (1, 2, 3, 64, 65, 1000)] == [0.25, 0.5, 0.75, 16, 16, 16]


def test_no_failures_means_no_wait() -> None:
    assert Backoff(first=1, cap=10).delay(0) == 0


def test_huge_failure_counts_do_not_overflow() -> None:
    assert Backoff(first=1, cap=60, jitter=False).delay(10_000) == 60


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_jitter_stays_between_half_and_the_plain_delay(failures: int, seed: int) -> None:
    backoff = Backoff(first=2, cap=3600)
    plain = backoff.plain_delay(failures)
    drawn = backoff.delay(failures, random.Random(seed))
    assert plain / 2 <= drawn <= plain


def test_jitter_spreads_retries() -> None:
    backoff = Backoff(first=2, cap=3600)
    rng = random.Random(7)
    assert len({backoff.delay(5, rng) for _ in range(20)}) > 10
