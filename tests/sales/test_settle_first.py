"""A live sale's settle passes go before its ingest batches (issue 13: winners told within a
second past their window under a burst; services/settle_first).

In `hashcart listen` the settle timer shares its process with the live sink. While a pass
decides and commits its winners, the sink's next call waits for it, so the winners' replies
do not queue behind a burst's ingest backlog; and the timer beats when a claim falls due
and every `claim_step` while claims do, not on a second's beat."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from hashcart.ports import UnitOfWork
from hashcart.services.live_ingest import LiveIngest
from hashcart.services.sales import SettleTimer, settle_sales
from hashcart.services.settle_first import SettleFirst
from tests.sales.support import SETTLE, SaleShop, claim, key, link_everyone, moment, post_id

NETWORK = "mastodon"
WAIT = 30.0  # seconds: only a broken test waits this long


@pytest.fixture
def shop(database_url: str) -> SaleShop:
    return SaleShop(database_url, public_url="https://shop.example")


def test_a_due_settle_pass_commits_its_winners_before_the_sinks_next_batch(
    shop: SaleShop,
) -> None:
    link_everyone(shop, NETWORK, 2)
    shop.open(NETWORK, {"12": ("mug", 1)})
    shop.at(moment(0))
    shop.ingest([claim(NETWORK, 0, key(NETWORK, 0), "sold 12", seconds=0)])
    shop.at(moment(0) + SETTLE)  # claim 0 is due
    first = SettleFirst()
    sink = LiveIngest(shop.app)
    sink.settle_first = first
    in_pass, go_on = threading.Event(), threading.Event()

    @contextmanager
    def held_unit() -> Iterator[UnitOfWork]:
        # The pass has begun (it holds `first`) and is held here until the sink has come.
        in_pass.set()
        assert go_on.wait(WAIT)
        with shop.app.unit_of_work() as uow:
            yield uow

    def units(*, read_only: bool = False) -> Iterator[UnitOfWork]:
        return held_unit()

    passing = threading.Thread(
        target=settle_sales,
        args=(units, shop.app.shop(), shop.clock),  # type: ignore[arg-type]
        kwargs={"skip_busy": True, "first": first},
    )
    passing.start()
    assert in_pass.wait(WAIT)
    later = claim(NETWORK, 1, key(NETWORK, 1), "sold 12", seconds=2)
    ingesting = threading.Thread(target=sink.ingest, args=("mastodon", "auto", [later]))
    ingesting.start()
    try:
        assert first.wait_for_a_waiting_call(WAIT), "the sink's call did not wait for the pass"
        # The batch waits: nothing of it is in the database yet.
        assert [c["post_id"] for c in shop.claims()] == [post_id(NETWORK, 0, 0)]
    finally:
        go_on.set()
        passing.join(WAIT)
        ingesting.join(WAIT)
    assert shop.winners() == {post_id(NETWORK, 0, 0)}
    statuses = shop.statuses()
    assert statuses[post_id(NETWORK, 1, 1)] == "provisional"  # its window is open


def test_the_settle_timer_beats_when_a_claim_falls_due_and_every_claim_step_while_busy(
    shop: SaleShop,
) -> None:
    link_everyone(shop, NETWORK, 1)
    shop.open(NETWORK, {"12": ("mug", 1)})
    timer = SettleTimer(shop.app.unit_of_work, shop.app.shop, shop.clock, every=1.0)
    timer.beat()  # no claim: the next beat in a second
    assert timer.pause() == 1.0
    shop.at(moment(0))
    shop.ingest([claim(NETWORK, 0, key(NETWORK, 0), "sold 12", seconds=0)])
    shop.at(moment(0) + SETTLE - timedelta(seconds=0.4))
    timer.beat()  # not due yet: the next beat when it is, not a second later
    assert shop.winners() == set()
    assert timer.pause() == pytest.approx(0.4)
    shop.at(moment(0) + SETTLE)
    timer.beat()  # it settled a claim: more may fall due any moment (a burst)
    assert shop.winners() == {post_id(NETWORK, 0, 0)}
    assert timer.pause() == shop.app.shop().claim_step.total_seconds() == 0.25
    timer.beat()
    assert timer.pause() == 1.0  # idle, nothing provisional left
