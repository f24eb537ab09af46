"""How long Shopify asks to be left alone before a request is tried again.

The Admin GraphQL API limits by calculated query cost (https://shopify.dev/docs/api/usage/
limits#graphql-admin-api-rate-limits): a throttled answer is a `THROTTLED` error whose
`extensions.cost` says what the query would cost (`requestedQueryCost`), what the bucket
holds now (`throttleStatus.currentlyAvailable`) and how fast it fills (`restoreRate`, points a
second), so the wait is the missing points over the rate. An HTTP 429 (the REST Admin API's
and the Storefront API's answer to too many requests) says it in `Retry-After`, in seconds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# When an answer names no wait (or a broken one): one second, Shopify's REST default.
DEFAULT_WAIT_SECONDS = 1.0
# No single wait longer than this: a bucket refills from empty in 20 s at the lowest rate
# (1,000 points at 50 a second); anything longer is a broken answer, not advice.
MAX_WAIT_SECONDS = 60.0


def is_throttled(errors: object) -> bool:
    """Whether a GraphQL `errors` list is Shopify's throttled answer."""
    if not isinstance(errors, list):
        return False
    return any(
        isinstance(error, Mapping)
        and isinstance(error.get("extensions"), Mapping)
        and error["extensions"].get("code") == "THROTTLED"
        for error in errors
    )


def wait_for_cost(extensions: object) -> float:
    """Seconds until the bucket holds the requested cost again, from `extensions.cost`."""
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    status = cost.get("throttleStatus") if isinstance(cost, Mapping) else None
    if not isinstance(cost, Mapping) or not isinstance(status, Mapping):
        return DEFAULT_WAIT_SECONDS
    requested = _number(cost.get("requestedQueryCost"))
    available = _number(status.get("currentlyAvailable"))
    rate = _number(status.get("restoreRate"))
    if requested is None or available is None or rate is None or rate <= 0:
        return DEFAULT_WAIT_SECONDS
    return _bounded((requested - available) / rate)


def wait_for_retry_after(header: str | None) -> float:
    """Seconds from a `Retry-After` header (Shopify sends seconds, `2.0`)."""
    seconds = _number(header.strip()) if header else None
    return DEFAULT_WAIT_SECONDS if seconds is None else _bounded(seconds)


def _bounded(seconds: float) -> float:
    return min(MAX_WAIT_SECONDS, max(0.0, seconds))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
