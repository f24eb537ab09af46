"""What no database keeps in text: NUL (PostgreSQL refuses it in text columns) and unpaired
surrogates (no UTF-8 encoder takes them). Decode refuses posts that carry them
(networks/limits); dead letters, which keep hostile input on purpose, replace them."""

from __future__ import annotations

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with every character no database keeps replaced by U+FFFD."""
    return UNSTORABLE.sub("\ufffd", text)


def is_storable(text: str) -> bool:
    """Whether a database can hold `text` as it is: a key that is not (a product id with a
    NUL, typed or in a URL) names nothing stored, and is not looked up at all."""
    return UNSTORABLE.search(text) is None
