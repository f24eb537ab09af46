"""The input formats' names: one payload shape a decoder reads (`hashcart ingest --format`).

A leaf of its own, apart from `networks.base` (which re-exports it), so the command line
can offer the formats without importing the ports and the adapters' contract: every
command pays for what `hashcart` imports to build its options (docs/benchmarks.md,
"Start-up").
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

# Format names share the rules of network names, plus '-' (`x-v2`).
_FORMAT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_declared_formats: dict[str, Format] = {}


class Format(StrEnum):
    """An input format: one payload shape a decoder reads. AUTO detects it line by line.
    A registered adapter declares its own (see `Format.declare`); `ingest --format` offers
    the built-in ones."""

    AUTO = "auto"
    X = "x"
    X_V2 = "x-v2"
    MASTODON = "mastodon"
    JETSTREAM = "jetstream"

    @classmethod
    def declare(cls, name: str) -> Format:
        """The format named `name`, declared now if it is not yet (idempotent)."""
        try:
            return cls(name)
        except ValueError:
            pass
        if not _FORMAT_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a usable format name")
        member = str.__new__(cls, name)
        member._name_ = name.upper().replace("-", "_")
        member._value_ = name
        _declared_formats[name] = member
        return member

    @classmethod
    def every(cls) -> tuple[Format, ...]:
        """AUTO, the built-in formats, then those declared since (registered networks'), in
        that order: what `ingest --format` offers, known without importing any adapter."""
        return (*cls, *_declared_formats.values())

    @classmethod
    def forget(cls, name: str) -> None:
        """Undo `declare` (the built-in formats stay)."""
        _declared_formats.pop(name, None)

    @classmethod
    def _missing_(cls, value: Any) -> Format | None:
        return _declared_formats.get(value) if isinstance(value, str) else None
