"""What no database keeps in text: NUL (PostgreSQL refuses it in text columns) and unpaired
surrogates (no UTF-8 encoder takes them). Decode refuses posts that carry them
(networks/limits); dead letters, which keep hostile input on purpose, replace them."""

from __future__ import annotations

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with every character no database keeps replaced by U+FFFD."""
    return UNSTORABLE.sub("\ufffd", text)
