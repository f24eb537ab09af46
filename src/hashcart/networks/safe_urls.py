"""Which URLs a page may link to at all: plain http(s) links, nothing else.

Post URLs come from strangers (ids, handles, account URIs from payloads), so `web_url`
lets through nothing but http(s) links with a host: no `javascript:`, `data:` or the like."""

from __future__ import annotations

from urllib.parse import urlsplit


def web_url(url: str | None) -> str | None:
    """`url` when a browser may safely follow it (http or https, with a host), else None."""
    if not url:
        return None
    candidate = url.strip()
    if any(ord(ch) < 0x21 for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return candidate
