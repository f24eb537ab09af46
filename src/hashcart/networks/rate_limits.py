"""Reading the networks' rate-limit answers: when may we call again?

X sends `x-rate-limit-remaining` / `x-rate-limit-reset` (epoch seconds); Mastodon
`X-RateLimit-Remaining` / `X-RateLimit-Reset` (an ISO 8601 time); Bluesky's PDS
`ratelimit-remaining` / `ratelimit-reset` (epoch seconds); anyone may send `Retry-After`
(seconds or an HTTP date). Header names are case-insensitive (httpx.Headers)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_REMAINING = ("x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining")
_RESET = ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")
# Never wait longer than this on a network's say-so (a broken header must not stall us a day).
MAX_WAIT = timedelta(hours=1)


def _parse_moment(value: str, now: datetime) -> datetime | None:
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if number > 1e12:  # milliseconds
            number /= 1000
        return datetime.fromtimestamp(number, tz=UTC) if number > 1e9 else None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When the next call may go, from `Retry-After` or an exhausted limit's reset time;
    None when the answer says nothing about waiting. Capped at now + MAX_WAIT."""
    moment: datetime | None = None
    raw = headers.get("retry-after")
    if raw is not None:
        raw = raw.strip()
        moment = now + timedelta(seconds=int(raw)) if raw.isdigit() else _parse_moment(raw, now)
    if moment is None and is_exhausted(headers):
        for name in _RESET:
            value = headers.get(name)
            if value is not None:
                moment = _parse_moment(value, now)
                break
    if moment is None:
        return None
    return min(max(moment, now), now + MAX_WAIT)


def is_exhausted(headers: Mapping[str, str]) -> bool:
    """True when the answer says no calls remain in this window."""
    for name in _REMAINING:
        value = headers.get(name)
        if value is not None:
            try:
                return int(value.strip()) <= 0
            except ValueError:
                return False
    return False
