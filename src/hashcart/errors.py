"""The root of hashcart's own exceptions, and the families that several modules share.

Every exception hashcart defines derives from `HashcartError`, so a caller at the edge (the
command line, a worker) can tell "hashcart refused or failed, and says why" from a bug.
Each class keeps its other bases too (`DecodeError` is still a `ValueError`), so the except
clauses that catch those keep working.

This module imports nothing of hashcart's: every layer, the domain included, may use it."""

from __future__ import annotations


class HashcartError(Exception):
    """Something hashcart refused or could not do; its message is one readable line."""


class NetworkApiError(HashcartError):
    """A social network's API failed or refused; one base per network derives from this
    (`XError`, `MastodonError`, `BlueskyError`)."""
