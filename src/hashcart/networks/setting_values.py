"""The rules a network's settings model applies to what the merchant types in the
console (networks/*/settings.py use them in their validators): a server's address, one
line of text. A rule raises ValueError with the sentence the console shows."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Spaces and control characters: never in an address, a handle or a token.
BLANK_OR_CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")


def server_url(label: str, text: str, schemes: tuple[str, ...], *, path_allowed: bool) -> str:
    """`text` as a server's address in one of `schemes` (lower-cased scheme and host, no
    user name or password, no fragment; nothing after the host unless `path_allowed`)."""
    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    if BLANK_OR_CONTROL.search(text):
        raise ValueError(f"{label} {text!r} has spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"{label} {text!r} is not a URL") from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise ValueError(f"{label} {text!r} must be a {wanted} address")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{label} {text!r} must not carry a user name or password")
    if parts.fragment or (not path_allowed and (parts.query or parts.path.strip("/"))):
        raise ValueError(f"{label} {text!r} must be the server's address only")
    host = parts.hostname.lower()
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    path = parts.path if path_allowed else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{netloc}{path}{query}"
