"""Engine writers on PostgreSQL share the writers' turn, each holding only its own posts
(Repository.take_post_turns), instead of taking turns for everything: the reply that waits
for a parent and the parent itself still meet, whichever commits first."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from hashcart.domain.posts import Network
from hashcart.services.ingest import Ingestor
from hashcart.store.repository import Repository, transaction
from tests.databases import fresh_postgres_database
from tests.harness import HOST, Shop
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.threads import errors_of_threads

ALICE = "did:plc:alice0000000000000000000"
MUG = f"https://{HOST}/products/enamel-mug"
ROUNDS = 120
BSKY = Network.BLUESKY

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(postgres_server: str) -> Shop:
    shop = Shop(fresh_postgres_database(postgres_server))
    shop.customer("alice@example.com", (BSKY, ALICE, "alice"))
    return shop


def test_a_reply_and_its_parent_committed_at_once_by_two_writers_act_exactly_once(
    shop: Shop,
) -> None:
    """Round after round, one writer commits a parent while the other commits the reply to it
    (a barrier starts both at once, and which one goes first alternates): every reply ends
    acted on exactly once, none left waiting for the parent the other writer stored."""
    rounds: list[tuple[bytes, bytes]] = []
    for n in range(ROUNDS):
        rkey = f"3mmturn{n:05d}"
        parent = jetstream_post(SHOP_DID, rkey, f"Mug {MUG}", links=(MUG,))
        reply = jetstream_post(
            ALICE, f"3mmturnreply{n:05d}", "#wishlist", reply_to=post_uri(SHOP_DID, rkey)
        )
        rounds.append((parent, reply) if n % 2 else (reply, parent))
    together = threading.Barrier(2, timeout=60)

    def writer(side: int) -> None:
        ingestor = Ingestor(
            shop.app.unit_of_work, shop.app.shop(), shop.clock, reader=shop.app.payload_reader
        )
        try:
            for pair in rounds:
                together.wait()
                ingestor.ingest_lines("race", [pair[side]])
        except BaseException:
            together.abort()  # the other writer stops waiting too
            raise

    assert errors_of_threads(lambda: writer(0), lambda: writer(1)) == []
    outbox = shop.outbox()
    assert len({message["in_reply_to"] for message in outbox}) == ROUNDS  # none left waiting
    assert len(outbox) == ROUNDS  # and none twice
    assert shop.pending() == []
    assert shop.wishlist("alice@example.com") == ["mug"]


@contextmanager
def impatient(engine: Engine) -> Iterator[Connection]:
    """A second connection that gives up on a lock after 200 ms instead of waiting."""
    with engine.connect() as other:
        driver = other.connection.dbapi_connection
        assert driver is not None
        driver.execute("SET lock_timeout = '200ms'")
        yield other


PARENT = (BSKY, "parent")
REPLY = (BSKY, "reply")


def test_writers_holding_different_posts_do_not_wait_for_each_other(shop: Shop) -> None:
    engine = shop.app.engine
    with transaction(engine) as first:
        first.take_post_turns([PARENT], [])
        with impatient(engine) as other, other.begin():
            Repository(other).take_post_turns([(BSKY, "another")], [(BSKY, "elsewhere")])


def test_replies_awaiting_one_parent_do_not_wait_for_each_other(shop: Shop) -> None:
    engine = shop.app.engine
    with transaction(engine) as first:
        first.take_post_turns([REPLY], [PARENT])
        with impatient(engine) as other, other.begin():
            Repository(other).take_post_turns([(BSKY, "reply-2")], [PARENT])


def test_the_parent_waits_for_a_writer_whose_reply_awaits_it(shop: Shop) -> None:
    engine = shop.app.engine
    with transaction(engine) as first:
        first.take_post_turns([REPLY], [PARENT])
        with impatient(engine) as other, pytest.raises(OperationalError), other.begin():
            Repository(other).take_post_turns([PARENT], [])
    with transaction(engine) as later:  # once the reply committed, the parent goes on
        later.take_post_turns([PARENT], [])


def test_a_writer_taking_the_turn_alone_waits_for_every_sharer(shop: Shop) -> None:
    """Linking, checkout and buying (serialize_writers) still see no ingest half done."""
    engine = shop.app.engine
    with transaction(engine) as first:
        first.take_post_turns([REPLY], [])
        with impatient(engine) as other, pytest.raises(OperationalError), other.begin():
            Repository(other).serialize_writers()
    with transaction(engine) as first:
        first.serialize_writers()
        with impatient(engine) as other, pytest.raises(OperationalError), other.begin():
            Repository(other).take_post_turns([(BSKY, "unrelated")], [])


def test_a_writer_whose_parents_are_all_stored_still_shares_the_turn(shop: Shop) -> None:
    """No key left to hold (its one parent is committed): the writers' turn is still shared,
    so a writer taking it alone waits for it, and it for that writer."""
    engine = shop.app.engine
    with transaction(engine) as repo:
        repo.add_posts(
            [
                {
                    "network": BSKY,
                    "post_id": PARENT[1],
                    "author_id": SHOP_DID,
                    "author_handle": "shop",
                    "text": f"Mug {MUG}",
                    "created_at": shop.clock.now(),
                    "has_shop_link": True,
                }
            ],
            {},
        )
    with transaction(engine) as first:
        first.take_post_turns([], [PARENT])
        with impatient(engine) as other, pytest.raises(OperationalError), other.begin():
            Repository(other).serialize_writers()
    with transaction(engine) as first:
        first.serialize_writers()
        with impatient(engine) as other, pytest.raises(OperationalError), other.begin():
            Repository(other).take_post_turns([], [PARENT])
