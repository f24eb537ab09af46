"""An ingest batch of claims settles at most every `claim_step_seconds` of the clock (issue
13's burst): a batch handed over less than that after the last one to settle records its
claims and leaves what is due to the next batch or the settle timer, which settle them
with the same rules (one answer each, winners first by platform time)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from hashcart.services.ingest import Ingestor
from hashcart.services.shop import Shop
from tests.polling import wait_until
from tests.sales.support import (
    SETTLE,
    SaleShop,
    claim,
    key,
    link_everyone,
    moment,
    post_id,
)

NETWORK = "mastodon"


def test_a_shop_settles_a_batch_once_a_step_and_at_once_when_the_clock_stood_still(
    database_url: str,
) -> None:
    made = SaleShop(database_url).app.shop()
    shop = replace(made, claim_step=timedelta(seconds=1), _claim_steps={})
    start = moment(0)
    assert shop.settles_batch(start)  # the first batch
    assert shop.settles_batch(start)  # the clock stood still: nothing to gain by waiting
    assert not shop.settles_batch(start + timedelta(seconds=0.5))
    assert shop.settles_batch(start + timedelta(seconds=1))
    assert not shop.settles_batch(start + timedelta(seconds=1.999))
    every = replace(made, claim_step=timedelta(0), _claim_steps={})
    assert all(every.settles_batch(start + timedelta(seconds=n / 10)) for n in range(5))


def _ingest(shop: SaleShop, sink: Shop, numbers: range, seconds: float) -> None:
    """Claims handed over by one long-running ingest (its shop kept between batches)."""
    Ingestor(shop.app.unit_of_work, sink, shop.clock, reader=shop.app.payload_reader).ingest_lines(
        "test.jsonl",
        [claim(NETWORK, n, key(NETWORK, n), "sold 12", seconds=seconds + n / 10) for n in numbers],
    )


def test_a_batch_inside_the_step_leaves_its_due_claims_to_the_timer(database_url: str) -> None:
    shop = SaleShop(database_url, public_url="https://shop.example", claim_step_seconds=0.25)
    link_everyone(shop, NETWORK, 6)
    shop.open(NETWORK, {"12": ("mug", 2)})
    shop.at(moment(10) + SETTLE)
    sink = shop.app.shop()
    _ingest(shop, sink, range(0, 3), seconds=1)  # due: settled in the batch
    assert shop.winners() == {post_id(NETWORK, 0, 0), post_id(NETWORK, 1, 1)}
    shop.at(moment(10) + SETTLE + timedelta(seconds=0.1))
    _ingest(shop, sink, range(3, 6), seconds=0)  # due, made earlier, but inside the step
    statuses = shop.statuses()
    assert {statuses[post_id(NETWORK, n, n)] for n in range(3, 6)} == {"provisional"}
    shop.settle()  # the settle timer's pass
    statuses = shop.statuses()
    # Late, after their slots were settled: waitlisted, each told once.
    assert {statuses[post_id(NETWORK, n, n)] for n in range(3, 6)} == {"waitlisted"}
    assert len(shop.messages("claim_waitlisted")) == 4
    assert len(shop.messages("claim_won")) == 2


def test_hashcart_ingest_of_a_file_settles_every_due_claim_by_its_end(tmp_path: Path) -> None:
    """`hashcart ingest FILE` has no settle timer beside it, so each of its batches (two
    claims each, read milliseconds apart by the system clock) settles what is due, whatever
    `claim_step_seconds` says: none is left provisional when the command ends."""
    url = f"sqlite:///{tmp_path / 'hashcart.db'}"
    shop = SaleShop(url)
    link_everyone(shop, NETWORK, 20)
    shop.open(NETWORK, {"12": ("mug", 3)})
    source = tmp_path / "claims.jsonl"
    # Made long ago by the system clock: every one is due when it is read.
    source.write_bytes(
        b"\n".join(claim(NETWORK, n, key(NETWORK, n), "sold 12", seconds=n) for n in range(20))
        + b"\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHCART_")}
    env |= {
        "HASHCART_DATABASE_URL": url,
        "HASHCART_INGEST_BATCH_SIZE": "2",
        "HASHCART_CLAIM_STEP_SECONDS": "60",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "hashcart", "ingest", str(source)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    statuses = shop.statuses()
    assert len(statuses) == 20
    assert "provisional" not in statuses.values()
    assert shop.winners() == {post_id(NETWORK, n, n) for n in range(3)}


def test_hashcart_listen_settles_a_due_claim_with_no_reply_after_it(tmp_path: Path) -> None:
    """`hashcart listen` runs the settle timer beside its listeners (as serve does): a claim
    recorded while provisional is settled once its window has passed, though no later
    reply comes to carry a batch (here the only listener reaches nothing)."""
    from tests.integration.test_cli_live import Running
    from tests.smtp_support import free_port

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    shop = SaleShop(url)
    link_everyone(shop, NETWORK, 1)
    shop.open(NETWORK, {"12": ("mug", 2)})
    shop.at(moment(0))  # the claim arrives the moment it is made: not due yet
    _ingest(shop, shop.app.shop(), range(0, 1), seconds=0)
    assert set(shop.statuses().values()) == {"provisional"}
    listener = Running(
        tmp_path,
        "listen",
        HASHCART_LISTENERS="jetstream",
        HASHCART_BLUESKY_JETSTREAM_URL=f"ws://127.0.0.1:{free_port()}/subscribe",
    )
    try:
        listener.wait_for_line("Press Ctrl-C to stop.")
        # The system clock is long past the claim's window: the timer's first pass takes it.
        wait_until(lambda: shop.winners() == {post_id(NETWORK, 0, 0)}, "the claim was settled")
        assert listener.terminate() == 0
    finally:
        listener.kill()
