"""A bus worker's engine (live_worker.WorkerEngine) learns of a sale opened since it read its
shop inside the batch's own transaction: one transaction a batch, not a read-only one
before it (docs/benchmarks.md, "s27-pgbatch"), and a batch that meets a new sale is rolled
back and done again with the shop read anew, its claims recorded and counted once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from hashcart.bus.worker import BusMessage
from hashcart.live_worker import WorkerEngine, WorkerNetwork
from tests.sales.support import SaleShop, claim, key, link_everyone, moment, shopper

NETWORK = "mastodon"


@pytest.fixture
def shop(database_url: str) -> SaleShop:
    shop = SaleShop(database_url, public_url="https://shop.example")
    link_everyone(shop, NETWORK, 3)
    return shop


@pytest.fixture
def engine(shop: SaleShop) -> Iterator[WorkerEngine]:
    network = WorkerNetwork.of(shop.app)
    yield WorkerEngine(shop.app, 500, network)
    network.stop(1)


def _claims(numbers: range) -> list[BusMessage]:
    return [
        BusMessage(
            "claims.jsonl",
            n + 1,
            claim(NETWORK, n, key(NETWORK, n), "sold 12", seconds=1 + n / 10),
            0,
            1,
        )
        for n in numbers
    ]


def _transactions_of(shop: SaleShop) -> list[Any]:
    begun: list[Any] = []
    event.listen(shop.app.engine, "begin", begun.append)
    return begun


def test_a_sale_opened_after_the_worker_read_its_shop_gets_the_next_batchs_claims(
    shop: SaleShop, engine: WorkerEngine
) -> None:
    shop.open(NETWORK, {"12": ("mug", 5)})  # after the engine read its shop
    shop.at(moment(1))

    engine(_claims(range(0, 2)))

    assert len(shop.claims()) == 2
    assert engine.ingestor.stats.posts == 2  # the rolled-back attempt is not counted
    assert engine.ingestor.shop.sale_posts  # the engine's shop now knows the sale


def test_a_batch_with_other_work_meets_the_new_sale_in_its_transaction_and_is_done_again(
    shop: SaleShop, engine: WorkerEngine, caplog: pytest.LogCaptureFixture
) -> None:
    shop.open(NETWORK, {"12": ("mug", 5)})
    shop.at(moment(1))
    caplog.set_level(logging.INFO, logger="hashcart.live_worker")
    cart = shopper(NETWORK, 2).reply(key(NETWORK, 9), "7799999", "#cart", minutes=0)
    batch = [BusMessage("other.jsonl", 1, cart, 0, 1), *_claims(range(0, 2))]

    engine(batch)

    assert len(shop.claims()) == 2
    assert engine.ingestor.stats.posts == 3
    assert engine.ingestor.stats.triggers == 1  # counted once, not for each attempt
    assert "batch done again" in caplog.text  # the trigger's transaction met the sale


def test_a_batch_is_one_transaction_with_the_sale_check_inside_it(
    shop: SaleShop, engine: WorkerEngine
) -> None:
    shop.open(NETWORK, {"12": ("mug", 5)})
    engine(_claims(range(0, 1)))  # learns of the sale
    begun = _transactions_of(shop)

    engine(_claims(range(1, 2)))

    assert len(shop.claims()) == 2
    # The batch's own, and the settle step a claim batch runs after its commit; a read-only
    # transaction for the sale check came before them.
    assert len(begun) == 2
