"""A live-sales shop served by the web app (the claim board's tests): the sale shop's priced
mug and tee (tests/sales/support), the console's merchant account, and a file of claims in
a network's real payload shape."""

from __future__ import annotations

import random
from pathlib import Path

from tests.sales.support import SaleShop, claim, key
from tests.web.conftest import WebShop


class BoardShop(WebShop, SaleShop):
    """WebShop's merchant and web app over SaleShop's catalog."""


def claims_file(path: Path, network: str, count: int, item: str = "12", seed: int = 13) -> Path:
    """`count` shoppers' `sold <item>` replies to the sale post, shopper n posting n seconds
    after the base time, written to `path` (JSONL) in a shuffled order: the arrival order is
    not the platform's."""
    lines = [claim(network, n, key(network, n), f"sold {item}", seconds=n) for n in range(count)]
    random.Random(seed).shuffle(lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path
