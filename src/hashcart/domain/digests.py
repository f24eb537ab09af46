"""Digests that key what must be kept once (dead letters, redelivered payloads)."""

from __future__ import annotations

import hashlib


def digest_of(*parts: str | bytes) -> str:
    """A hex SHA-256 over the parts, each length-prefixed so no two lists share a digest."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()
