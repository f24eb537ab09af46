"""Stream cursors commit in the same transaction as the batch they follow, on SQLite and
PostgreSQL: a restart resumes exactly after what was kept, never past it. Also when the
batch is split to dead-letter a post the database refuses: the cursor goes with the last
commit of the batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from hashcart.domain.posts import Network
from hashcart.networks import formats
from hashcart.networks.formats import Format
from hashcart.ports import Cursor
from hashcart.services import actions
from hashcart.services import ingest as ingest_module
from hashcart.services.live_ingest import LiveIngest
from hashcart.store.cursors import load_cursor
from tests import hostile
from tests.harness import HOST, Shop
from tests.payloads import jetstream_post, post_uri, x_tweet

SHOP_ID, SHOPPER_ID = "100", "200"
MUG_LINK = f"https://{HOST}/products/enamel-mug"


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer("maya@example.com", (Network.X, SHOPPER_ID, "maya"))
    return shop


class Transactions:
    """The statements the engine ran, grouped by transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.groups: list[list[str]] = []

    def __enter__(self) -> Transactions:
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._statement)

    def _begin(self, connection: Any) -> None:
        self.groups.append([])

    def _statement(self, connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if self.groups:
            self.groups[-1].append(" ".join(statement.lower().split()))

    def writing(self, table: str) -> list[int]:
        """The transactions (by number) that inserted into or updated `table`."""
        return [
            number
            for number, statements in enumerate(self.groups)
            if any(
                one.startswith((f"insert into {table} ", f"update {table} ")) for one in statements
            )
        ]


@pytest.fixture
def recorded(shop: Shop) -> Iterator[Transactions]:
    with Transactions(shop.app.engine) as transactions:
        yield transactions


def test_a_batch_and_its_cursor_commit_in_one_transaction(
    shop: Shop, recorded: Transactions
) -> None:
    sink = LiveIngest(shop.app)
    parent = x_tweet("9001", SHOP_ID, "trailhead", f"New mug {MUG_LINK}", links=(MUG_LINK,))
    reply = x_tweet(
        "9002",
        SHOPPER_ID,
        "maya",
        "@trailhead #cart",
        reply_to="9001",
        minutes=1,
        hashtags=("cart",),
    )

    sink.ingest("x_stream", Format.AUTO, [parent, reply], cursor=Cursor("x_stream", "9002"))

    assert shop.cart("maya@example.com") == [("mug", 1)]
    assert load_cursor(shop.app.engine, "x_stream") == "9002"
    [cursor_write] = recorded.writing("stream_cursors")
    assert recorded.writing("posts") == [cursor_write]
    assert cursor_write in recorded.writing("cart_lines")


def test_a_cursor_with_nothing_to_keep_is_written_alone(shop: Shop) -> None:
    sink = LiveIngest(shop.app)
    noise = x_tweet("9003", "300", "someone", "nothing to see here")

    stats = sink.ingest("x_stream", Format.AUTO, [noise], cursor=Cursor("x_stream", "9003"))
    sink.ingest("x_stream", Format.AUTO, [], cursor=Cursor("x_stream", "9004"))

    assert stats.posts == 1 and stats.triggers == 0
    assert load_cursor(shop.app.engine, "x_stream") == "9004"


def test_no_cursor_leaves_the_stored_one_alone(shop: Shop) -> None:
    sink = LiveIngest(shop.app)
    sink.ingest("jetstream", Format.AUTO, [], cursor=Cursor("jetstream", "5"))
    sink.ingest("jetstream", Format.AUTO, [x_tweet("9005", "300", "someone", "hello")])
    assert load_cursor(shop.app.engine, "jetstream") == "5"


def test_when_a_refused_post_is_split_out_the_cursor_goes_with_the_last_commit(
    shop: Shop, recorded: Transactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in test_poison_lines: with the decode-time checks and the date clamp switched off,
    a trigger dated in year 9999 makes the engine fail; the batch is split down to it and
    it is dead-lettered. It comes last, so the cursor commits with its dead letter."""
    hostile.link_shoppers(shop)
    monkeypatch.setattr(formats, "problem_of", lambda event: None)
    now = shop.clock.now()
    monkeypatch.setattr(ingest_module, "MAX_CLOCK_SKEW", datetime.max.replace(tzinfo=UTC) - now)
    monkeypatch.setattr(actions, "_plus", lambda moment, span: moment + span)
    far_future = json.loads(
        jetstream_post(
            "did:plc:dan00000000000000000000000",
            "3mdanfuture01",
            "#cart",
            tags=("cart",),
            reply_to=post_uri(hostile.BLUESKY_SHOP, hostile.BLUESKY_PARENTS[0]),
        )
    )
    far_future["commit"]["record"]["createdAt"] = "9999-12-25T00:00:00.000Z"
    far_future["time_us"] = None
    corpus = hostile.build(hostile_target=0, valid_per_network=5)
    lines = [*corpus.lines, json.dumps(far_future).encode()]

    stats = LiveIngest(shop.app).ingest(
        "jetstream", Format.AUTO, lines, cursor=Cursor("jetstream", "1783175888403568")
    )

    assert stats.dead_letters == 1
    [letter] = shop.dead_letters()
    assert letter["line"] == len(lines) and "OverflowError" in letter["reason"]
    assert load_cursor(shop.app.engine, "jetstream") == "1783175888403568"
    [cursor_write] = recorded.writing("stream_cursors")
    assert recorded.writing("dead_letters") == [cursor_write]
    # The rest of the batch committed before, without the cursor.
    kept = recorded.writing("posts")
    assert kept and all(number < cursor_write for number in kept)
