"""The parent fetches' repository on the unit of work (store/parent_fetches.py,
ports.ParentFetches), on a SQLite file and on PostgreSQL: which parents stored triggers still
wait for, which were asked for already, and remembering an answer once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store.parent_fetches import StoredParentFetches
from tests.harness import HOST, Shop
from tests.payloads import x_tweet

SHOP_ID, SHOPPER_ID = "100", "200"


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer("maya@example.com", (Network.X, SHOPPER_ID, "maya"))
    return shop


def _reply(post_id: str, parent_id: str, minutes: float = 1) -> bytes:
    return x_tweet(
        post_id,
        SHOPPER_ID,
        "maya",
        "@trailhead #cart",
        reply_to=parent_id,
        minutes=minutes,
        hashtags=("cart",),
    )


def _parent(post_id: str) -> bytes:
    link = f"https://{HOST}/products/enamel-mug"
    return x_tweet(post_id, SHOP_ID, "trailhead", f"New mug {link}", links=(link,))


def test_waiting_parents_are_those_neither_stored_acted_on_nor_asked_for(shop: Shop) -> None:
    shop.ingest([_reply("9100", "9001"), _reply("9101", "9002"), _reply("9102", "9003")])
    shop.ingest([_parent("9002")])  # arrived: its trigger acted
    with shop.app.unit_of_work() as uow:
        uow.parent_fetches.record(Network.X, "9003", found=False, at=shop.clock.now())

    with shop.app.unit_of_work() as uow:
        assert uow.parent_fetches.waiting_parents(limit=10) == {(Network.X, "9001")}
    assert shop.cart("maya@example.com") == [("mug", 1)]


def test_waiting_parents_stop_at_the_limit(shop: Shop) -> None:
    shop.ingest([_reply(f"91{n:02}", f"90{n:02}", minutes=n + 1) for n in range(5)])
    with shop.app.unit_of_work() as uow:
        assert len(uow.parent_fetches.waiting_parents(limit=3)) == 3


def test_asked_among_finds_the_asked_ones_past_one_statement_s_worth(shop: Shop) -> None:
    # More keys than one statement takes (store/parent_fetches._CHUNK), ids of every kind a
    # network uses (numbers, AT-URIs, non-ASCII), and ids nobody stored: an id longer than
    # the column is asked about, not refused.
    asked = [(Network.X, str(10**18 + n)) for n in range(1200)]
    asked += [
        (Network.BLUESKY, "at://did:plc:abc/app.bsky.feed.post/3kz"),
        (Network.MASTODON, "110000000000000001"),
        (Network.X, "ünïcödé-id-✓"),
    ]
    never = [(Network.X, "1"), (Network.BLUESKY, "x" * 5000), (Network.MASTODON, "'; DROP --")]
    with shop.app.unit_of_work() as uow:
        for network, post_id in asked:
            uow.parent_fetches.record(network, post_id, found=True, at=shop.clock.now())

    with shop.app.unit_of_work() as uow:
        found = uow.parent_fetches.asked_among(asked + never)

    assert found == set(asked)


def test_asked_among_gives_back_the_callers_own_keys(shop: Shop) -> None:
    with shop.app.unit_of_work() as uow:
        uow.parent_fetches.record(Network.X, "9001", found=True, at=shop.clock.now())
        [(network, post_id)] = uow.parent_fetches.asked_among([(Network.X, "9001")])
    assert network is Network.X and post_id == "9001"


def test_an_answer_is_remembered_once(shop: Shop) -> None:
    with shop.app.unit_of_work() as uow:
        uow.parent_fetches.record(Network.X, "9001", found=False, at=shop.clock.now())
    # A second answer (another process asked too) changes nothing and raises nothing.
    with shop.app.unit_of_work() as uow:
        uow.parent_fetches.record(Network.X, "9001", found=True, at=shop.clock.now())
    with shop.app.engine.connect() as connection:
        assert connection.scalar(select(t.parent_fetches.c.outcome)) == "not_found"
        store = StoredParentFetches(connection)
        assert store.asked_among([(Network.X, "9001")]) == {(Network.X, "9001")}
        assert store.asked_among([]) == set()
