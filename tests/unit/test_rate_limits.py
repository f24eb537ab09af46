"""Reading the networks' rate-limit headers (X, Mastodon, Bluesky, Retry-After)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from hashcart.networks.rate_limits import MAX_WAIT, is_exhausted, retry_after

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _headers(**values: str) -> httpx.Headers:
    return httpx.Headers({name.replace("_", "-"): value for name, value in values.items()})


def test_x_exhausted_window_waits_for_the_epoch_reset() -> None:
    reset = int((NOW + timedelta(minutes=7)).timestamp())
    headers = _headers(
        x_rate_limit_limit="100", x_rate_limit_remaining="0", x_rate_limit_reset=str(reset)
    )
    assert is_exhausted(headers)
    assert retry_after(headers, NOW) == NOW + timedelta(minutes=7)


def test_x_window_with_calls_left_says_nothing() -> None:
    reset = int((NOW + timedelta(minutes=7)).timestamp())
    headers = _headers(x_rate_limit_remaining="12", x_rate_limit_reset=str(reset))
    assert not is_exhausted(headers)
    assert retry_after(headers, NOW) is None


def test_mastodon_reset_is_an_iso_time() -> None:
    # The shape Mastodon sends (recorded: 2026-08-02T05:30:00.691225Z).
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-11-27T12:05:00.691225Z"}
    assert retry_after(httpx.Headers(headers), NOW) == datetime(
        2026, 11, 27, 12, 5, 0, 691225, tzinfo=UTC
    )


def test_bluesky_ratelimit_headers() -> None:
    reset = int((NOW + timedelta(seconds=90)).timestamp())
    headers = _headers(ratelimit_remaining="0", ratelimit_reset=str(reset))
    assert retry_after(headers, NOW) == NOW + timedelta(seconds=90)


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after(_headers(retry_after="30"), NOW) == NOW + timedelta(seconds=30)
    date = "Fri, 27 Nov 2026 12:02:00 GMT"
    assert retry_after(_headers(retry_after=date), NOW) == NOW + timedelta(minutes=2)


def test_a_wild_reset_is_capped_and_a_past_one_means_now() -> None:
    far = int((NOW + timedelta(days=30)).timestamp())
    assert retry_after(_headers(x_rate_limit_remaining="0", x_rate_limit_reset=str(far)), NOW) == (
        NOW + MAX_WAIT
    )
    past = int((NOW - timedelta(minutes=1)).timestamp())
    assert (
        retry_after(_headers(x_rate_limit_remaining="0", x_rate_limit_reset=str(past)), NOW) == NOW
    )


def test_garbage_headers_are_ignored() -> None:
    headers = _headers(
        x_rate_limit_remaining="lots", x_rate_limit_reset="soon", retry_after="later"
    )
    assert not is_exhausted(headers)
    assert retry_after(headers, NOW) is None
