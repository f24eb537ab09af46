"""A restart in the middle of a live sale (issue 13): `hashcart ingest -` reading claims from a
pipe is killed (SIGKILL) after its first claims committed; the source is then read again from
its start. No claim is lost or recorded twice, and nobody who had won loses it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.polling import wait_until
from tests.sales.support import SaleShop, claim, key, link_everyone, post_id

NETWORK = "mastodon"
SHOPPERS = 8
STOCK = 3


def test_killing_ingest_mid_sale_loses_no_claim_and_changes_no_winner(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hashcart.db'}"
    shop = SaleShop(url)
    link_everyone(shop, NETWORK, SHOPPERS)
    shop.open(NETWORK, {"12": ("mug", STOCK)})
    lines = [claim(NETWORK, n, key(NETWORK, n), "sold 12", seconds=n) for n in range(SHOPPERS)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHCART_")}
    env["HASHCART_DATABASE_URL"] = url
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    process = subprocess.Popen(
        [sys.executable, "-m", "hashcart", "ingest", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert process.stdin is not None
        process.stdin.write(b"\n".join(lines[:4]) + b"\n")
        process.stdin.flush()
        wait_until(lambda: len(shop.claims()) == 4, "the first claims were committed")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    won_before = shop.winners()
    assert won_before == {post_id(NETWORK, n, n) for n in range(STOCK)}

    shop.ingest(lines)  # the source again, from its start: the first four are redelivered
    claims = shop.claims()
    assert sorted(c["post_id"] for c in claims) == sorted(
        post_id(NETWORK, n, n) for n in range(SHOPPERS)
    )
    assert shop.winners() == won_before
    assert shop.reasons().count("claim_won") == STOCK
