"""The web: the shop, the shopper's account, the merchant console and the JSON API (FastAPI).

`create_app` is imported on first use, not with the package: the CLI imports small pieces
of it (password hashing, API token digests) and must not pay for FastAPI and Jinja2 when it
does (docs/benchmarks.md, "Start-up")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hashcart.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from hashcart.web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
