"""The settle step's item lock and the recording of claims never wait for each other (issue
13, PostgreSQL): a settler holds an item with FOR NO KEY UPDATE, and recording a claim takes
FOR KEY SHARE on its item (the foreign key), which it does not conflict with. With FOR
UPDATE, an ingest batch that had recorded a claim on item 2 and then one on item 1, while
serve's settle step held item 1 and wanted item 2, deadlocked (`hashcart bench --shape
live-sale` found it at 300 claims a second). Each step below runs under a 2 s lock timeout:
a wait fails the test instead of hanging it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from hashcart.domain.sales import ClaimAction
from hashcart.ports import NewClaim, Sale
from hashcart.store.sales import StoredSales
from tests.databases import drop_postgres_database, fresh_postgres_database
from tests.sales.support import SaleShop, moment, post_id

pytestmark = pytest.mark.postgres
NETWORK = "bluesky"


@pytest.fixture
def shop(postgres_server: str) -> Iterator[SaleShop]:
    url = fresh_postgres_database(postgres_server)
    shop = SaleShop(url)
    yield shop
    shop.app.engine.dispose()
    drop_postgres_database(postgres_server, url)


def _claim(sale: Sale, number: int, item: str) -> NewClaim:
    return NewClaim(
        sale_id=sale.id,
        network=NETWORK,
        post_id=post_id(NETWORK, number, number),
        account_id=f"did:plc:locks{number:019d}",
        handle=f"s{number}.bsky",
        action=ClaimAction.CLAIM,
        item_number=item,
        words=(),
        quantity=1,
        posted_at=moment(number),
    )


def _with_lock_timeout(connection: Connection) -> StoredSales:
    connection.execute(text("SET LOCAL lock_timeout = '2s'"))
    return StoredSales(connection)


def test_recording_claims_and_settling_their_items_never_wait_for_each_other(
    shop: SaleShop,
) -> None:
    sale = shop.open(NETWORK, {"1": ("mug", 5), "2": ("tee-red-m", 5)})
    first, second = (item.id for item in sale.items)
    assert first is not None and second is not None
    engine = shop.app.engine
    with engine.connect() as settler, engine.connect() as ingest:
        settler.begin()
        ingest.begin()
        settling = _with_lock_timeout(settler)
        recording = _with_lock_timeout(ingest)
        settling.lock_item(first)  # serve's settle step holds item 1
        # A batch records a claim on item 2, then one on item 1: neither waits.
        assert recording.add_claims([_claim(sale, 1, "2")], moment(10)) == 1
        assert recording.add_claims([_claim(sale, 2, "1")], moment(10)) == 1
        # The settler goes on to item 2, which the batch's claim refers to: no wait either.
        assert settling.lock_item(second).number == "2"
        ingest.rollback()
        settler.rollback()


def test_two_settlers_still_take_turns_on_an_item(shop: SaleShop) -> None:
    sale = shop.open(NETWORK, {"1": ("mug", 5)})
    (item,) = (i.id for i in sale.items)
    assert item is not None
    engine = shop.app.engine
    with engine.connect() as one, engine.connect() as other:
        one.begin()
        other.begin()
        _with_lock_timeout(one).lock_item(item)
        other.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(Exception, match="lock timeout"):
            StoredSales(other).lock_item(item)
        other.rollback()
        one.rollback()
