"""Two ingesters on one database at once (SQLite and PostgreSQL): no errors, no duplicates,
and no reply left waiting for a parent that the other ingester stored at the same moment."""

from __future__ import annotations

import functools

import pytest
from sqlalchemy.exc import OperationalError

from hashcart.domain.posts import Network
from hashcart.services.ingest import Ingestor
from hashcart.store.repository import Repository, transaction
from tests.harness import HOST, Shop
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.threads import errors_of_threads

ALICE = "did:plc:alice0000000000000000000"
MUG = f"https://{HOST}/products/enamel-mug"


def test_replies_and_parents_split_across_two_ingesters_all_act_exactly_once(
    database_url: str,
) -> None:
    shop = Shop(database_url)
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice"))
    parents, replies = [], []
    for n in range(300):
        rkey = f"3mmbrand{n:05d}"
        parents.append(jetstream_post(SHOP_DID, rkey, f"Mug {MUG}", links=(MUG,)))
        replies.append(
            jetstream_post(
                ALICE, f"3mmreply{n:05d}", "#wishlist", reply_to=post_uri(SHOP_DID, rkey), minutes=n
            )
        )
    # One ingester gets every parent and half the replies, the other all replies: each reply
    # is delivered twice, and half of them race their parent.
    feeds = [parents + replies[::2], replies]

    def ingest(lines: list[bytes]) -> None:
        ingestor = Ingestor(
            shop.app.unit_of_work,
            shop.app.shop(),
            shop.clock,
            reader=shop.app.payload_reader,
            batch_size=10,
        )
        ingestor.ingest_lines("feed", lines)

    assert errors_of_threads(*(functools.partial(ingest, feed) for feed in feeds)) == []
    outbox = shop.outbox()
    assert len(outbox) == 300  # one message per reply: exactly once, none left waiting
    assert len({message["in_reply_to"] for message in outbox}) == 300
    assert shop.wishlist("alice@example.com") == ["mug"]


def test_a_second_engine_writer_waits_while_the_first_holds_its_turn(database_url: str) -> None:
    """The mechanism behind the test above, shown directly: while one transaction holds the
    writers' turn, another cannot take it (each database's own lock timeout says so)."""
    shop = Shop(database_url)
    engine = shop.app.engine
    with transaction(engine) as first:
        first.serialize_writers()
        with engine.connect() as other:
            # Straight to the driver: a statement through SQLAlchemy would begin (and, on
            # SQLite, try to take the write lock) before the short timeout is in place.
            driver = other.connection.dbapi_connection
            assert driver is not None
            if other.dialect.name == "postgresql":
                driver.execute("SET lock_timeout = '200ms'")
            else:
                driver.execute("PRAGMA busy_timeout = 200")
            with pytest.raises(OperationalError), other.begin():
                Repository(other).serialize_writers()
    with transaction(engine) as later:  # once the first commits, the turn is free again
        later.serialize_writers()
