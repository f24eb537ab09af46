"""Following short links (bit.ly, amzn.to…) to the product page they stand for."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashcart.bootstrap import App
    from hashcart.services.ingest import LinkResolver


def resolver(app: App) -> LinkResolver | None:
    return None
