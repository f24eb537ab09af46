"""Shopify's global ids (`gid://shopify/ProductVariant/123`,
https://shopify.dev/docs/api/usage/gids): the GraphQL APIs speak them, webhooks' REST-shaped
bodies and product URLs the bare number."""

from __future__ import annotations

import re
from datetime import datetime

_GID = re.compile(r"gid://shopify/([A-Za-z]+)/(\d{1,20})(?:\?.*)?")


def gid(kind: str, value: object) -> str | None:
    """`gid://shopify/<kind>/<n>` for a number or a gid of that kind; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return f"gid://shopify/{kind}/{value}"
    if isinstance(value, str):
        if value.isdigit() and len(value) <= 20:
            return f"gid://shopify/{kind}/{int(value)}"
        found = _GID.fullmatch(value)
        if found and found.group(1) == kind:
            return f"gid://shopify/{kind}/{found.group(2)}"
    return None


def number(value: str) -> str:
    """The number at the end of a gid (`123` of `gid://shopify/ProductVariant/123`)."""
    found = _GID.fullmatch(value)
    return found.group(2) if found else value


def timestamp(value: object) -> datetime | None:
    """An ISO 8601 time as Shopify writes it (`2026-12-06T04:00:00Z`, or with an offset)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
