"""The live sink: payloads from listeners and webhooks in, parents nobody streamed fetched.

The fetcher here stands where a network's API would answer: it replays payloads in the
network's own shape (tests/payloads.py), as the networks' loopback tests do over HTTP."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network, Post
from hashcart.networks.formats import Format
from hashcart.networks.parents import Fetched, FetchFailed
from hashcart.networks.x.decode import decode_v1
from hashcart.services.catalog import FeedRow
from hashcart.services.live_ingest import FETCH_RETRY, SHOP_REFRESH, LiveIngest
from hashcart.store import schema as t
from hashcart.store.repository import transaction
from tests.harness import HOST, Shop
from tests.payloads import x_tweet

SHOP_ID, SHOPPER_ID = "100", "200"


class ReplayFetcher:
    """Answers lookups from a table of recorded answers; counts what it was asked."""

    def __init__(self, answers: dict[str, bytes | None], failures: int = 0) -> None:
        self.answers = answers
        self.failures = failures
        self.asked: list[str] = []

    def fetch(self, post_id: str) -> Fetched:
        self.asked.append(post_id)
        if self.failures:
            self.failures -= 1
            raise FetchFailed("503 from the API")
        answer = self.answers.get(post_id)
        return Fetched(Format.X, (answer,) if answer else ())


@pytest.fixture
def shop(tmp_path: object) -> Shop:
    shop = Shop(f"sqlite:///{tmp_path}/sink.db")
    shop.customer("maya@example.com", (Network.X, SHOPPER_ID, "maya"))
    return shop


def _parent(post_id: str = "9001") -> bytes:
    link = f"https://{HOST}/products/enamel-mug"
    return x_tweet(post_id, SHOP_ID, "trailhead", f"New mug {link}", links=(link,))


def _reply(post_id: str, parent_id: str = "9001", minutes: float = 1) -> bytes:
    return x_tweet(
        post_id,
        SHOPPER_ID,
        "maya",
        "@trailhead #cart",
        reply_to=parent_id,
        minutes=minutes,
        hashtags=("cart",),
    )


def test_an_unseen_parent_is_fetched_once_and_the_trigger_acts(shop: Shop) -> None:
    fetcher = ReplayFetcher({"9001": _parent()})
    sink = LiveIngest(shop.app, fetchers={Network.X: fetcher})
    done = sink.ingest("x-stream", Format.X, [_reply("9100")])
    assert fetcher.asked == ["9001"]
    assert shop.cart("maya@example.com") == [("mug", 1)]
    assert done.triggers == 1
    # A second reply to the same parent finds it stored: no second lookup.
    sink.ingest("x-stream", Format.X, [_reply("9101", minutes=2)])
    assert fetcher.asked == ["9001"]


def test_a_parent_the_network_does_not_know_is_not_asked_for_again(shop: Shop) -> None:
    fetcher = ReplayFetcher({})
    sink = LiveIngest(shop.app, fetchers={Network.X: fetcher})
    sink.ingest("x-stream", Format.X, [_reply("9100")])
    sink.ingest("x-stream", Format.X, [_reply("9101", minutes=2)])
    assert fetcher.asked == ["9001"]
    assert shop.cart("maya@example.com") == []
    with shop.app.engine.connect() as connection:
        outcome = connection.scalar(select(t.parent_fetches.c.outcome))
    assert outcome == "not_found"


def test_a_failed_lookup_is_tried_again_after_a_while(shop: Shop) -> None:
    fetcher = ReplayFetcher({"9001": _parent()}, failures=1)
    sink = LiveIngest(shop.app, fetchers={Network.X: fetcher})
    sink.ingest("x-stream", Format.X, [_reply("9100")])
    assert shop.cart("maya@example.com") == []
    # Not yet due: the next payload does not ask again.
    sink.ingest("x-stream", Format.X, [_parent("5")])
    assert fetcher.asked == ["9001"]
    shop.clock.advance(FETCH_RETRY)
    sink.ingest("x-stream", Format.X, [_parent("6")])
    assert fetcher.asked == ["9001", "9001"]
    assert shop.cart("maya@example.com") == [("mug", 1)]


def test_a_lookup_that_keeps_failing_waits_longer_each_time_then_is_given_up(
    tmp_path: object,
) -> None:
    shop = Shop(f"sqlite:///{tmp_path}/giving-up.db", parent_fetch_attempts=3)
    shop.customer("maya@example.com", (Network.X, SHOPPER_ID, "maya"))
    fetcher = ReplayFetcher({"9001": _parent()}, failures=10)
    sink = LiveIngest(shop.app, fetchers={Network.X: fetcher})
    sink.ingest("x-stream", Format.X, [_reply("9100")])
    assert fetcher.asked == ["9001"]
    shop.clock.advance(FETCH_RETRY)  # the first retry: after a minute
    assert sink.has_parents_to_fetch()
    sink.fetch_parents()
    assert fetcher.asked == ["9001"] * 2
    shop.clock.advance(FETCH_RETRY)  # the second waits twice as long
    assert not sink.has_parents_to_fetch()
    sink.fetch_parents()
    assert fetcher.asked == ["9001"] * 2
    shop.clock.advance(FETCH_RETRY)
    sink.fetch_parents()
    assert fetcher.asked == ["9001"] * 3
    # Three failures: given up, recorded, and neither retried nor recalled after a restart.
    shop.clock.advance(timedelta(hours=2))
    sink.fetch_parents()
    assert fetcher.asked == ["9001"] * 3
    assert not sink.has_parents_to_fetch()
    with shop.app.engine.connect() as connection:
        assert connection.scalar(select(t.parent_fetches.c.outcome)) == "unanswered"
    assert LiveIngest(shop.app, fetchers={Network.X: fetcher}).recall_waiting_parents() == 0
    # The trigger still waits for its parent, and acts when the stream brings it.
    assert shop.cart("maya@example.com") == []
    sink.ingest("x-stream", Format.X, [_parent()])
    assert shop.cart("maya@example.com") == [("mug", 1)]


def test_parents_committed_elsewhere_are_fetched_when_queued(shop: Shop) -> None:
    # A bus worker's engine committed the trigger; the sink only fetches its parent.
    shop.ingest([_reply("9100")])
    fetcher = ReplayFetcher({"9001": _parent()})
    sink = LiveIngest(shop.app, fetchers={Network.X: fetcher})
    assert not sink.has_parents_to_fetch()
    sink.wait_for_parents([(Network.X, "9001"), (Network.MASTODON, "1")])  # no Mastodon fetcher
    assert sink.has_parents_to_fetch()
    sink.fetch_parents()
    assert fetcher.asked == ["9001"]
    assert shop.cart("maya@example.com") == [("mug", 1)]


def test_without_a_fetcher_the_trigger_waits_for_its_parent(shop: Shop) -> None:
    sink = LiveIngest(shop.app)
    sink.ingest("x-stream", Format.X, [_reply("9100")])
    assert shop.cart("maya@example.com") == []
    sink.ingest("x-stream", Format.X, [_parent()])
    assert shop.cart("maya@example.com") == [("mug", 1)]


def test_pretty_printed_payloads_are_one_payload(shop: Shop) -> None:
    sink = LiveIngest(shop.app)
    pretty = json.dumps(json.loads(_parent()), indent=2).encode()
    assert b"\n" in pretty
    sink.ingest("x-webhook", Format.AUTO, [pretty, _reply("9100")])
    assert shop.cart("maya@example.com") == [("mug", 1)]
    assert shop.dead_letters() == []


def test_broken_payloads_are_dead_letters_and_the_rest_goes_on(shop: Shop) -> None:
    sink = LiveIngest(shop.app)
    done = sink.ingest(
        "x-webhook", Format.AUTO, [b'{"broken": \n', b"\xff\xfe", _parent(), _reply("9100")]
    )
    assert done.dead_letters == 2
    assert shop.cart("maya@example.com") == [("mug", 1)]


def test_dead_letters_from_a_live_source_are_one_warning_naming_it(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    # A stream or webhook cannot be run again as a file can: the operator hears of it.
    sink = LiveIngest(shop.app)
    with caplog.at_level(logging.INFO, logger="hashcart.services.live_ingest"):
        sink.ingest("x-webhook", Format.AUTO, [b'{"broken": \n', b"\xff\xfe", _parent()])
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert (
        record.getMessage()
        == "x-webhook: 2 payloads dead-lettered (hashcart deadletters shows why)"
    )
    assert record.__dict__["source"] == "x-webhook"


def test_catalog_changes_reach_a_running_sink(shop: Shop) -> None:
    sink = LiveIngest(shop.app)
    new_link = f"https://{HOST}/products/new-tumbler"
    with transaction(shop.app.engine) as repo:
        repo.upsert_products(
            [
                FeedRow("tumbler", "Tumbler", new_link, None, None, "in_stock").as_values(
                    shop.clock.now()
                )
            ]
        )
    sink.shop()  # read now, before the refresh interval has passed
    shop.clock.advance(SHOP_REFRESH + timedelta(seconds=1))
    post = x_tweet("7000", SHOP_ID, "trailhead", f"Tumbler {new_link}", links=(new_link,))
    sink.ingest("x-stream", Format.X, [post, _reply("7100", parent_id="7000")])
    assert ("tumbler", 1) in shop.cart("maya@example.com")


def _post(payload: bytes) -> Post:
    [event] = decode_v1(payload)
    assert isinstance(event, Post)
    return event


def test_needs_confirmation_only_for_what_changes_carts_or_links(shop: Shop) -> None:
    sink = LiveIngest(shop.app)
    code = x_tweet("9200", SHOPPER_ID, "maya", "#cartlink K7Q2M9XD", hashtags=("cartlink",))
    lone = x_tweet("9300", SHOPPER_ID, "maya", "#cart no parent", hashtags=("cart",))
    assert sink.needs_confirmation(_post(_reply("9100")))
    assert sink.needs_confirmation(_post(code))
    assert not sink.needs_confirmation(_post(_parent()))
    assert not sink.needs_confirmation(_post(lone))


def test_a_webhook_can_answer_first_and_fetch_parents_afterwards(shop: Shop) -> None:
    fetcher = ReplayFetcher({"9001": _parent()})
    sink = LiveIngest(shop.app, fetchers={Network.X: fetcher})
    sink.ingest("x-webhook", Format.X, [_reply("9100")], fetch_parents=False)
    assert fetcher.asked == []
    assert shop.cart("maya@example.com") == []
    sink.fetch_parents()
    assert fetcher.asked == ["9001"]
    assert shop.cart("maya@example.com") == [("mug", 1)]


def test_parents_that_triggers_waited_for_before_a_restart_are_fetched(shop: Shop) -> None:
    # An earlier run (or a file) left a trigger waiting for a parent nobody fetched.
    shop.ingest([_reply("9100")])
    fetcher = ReplayFetcher({"9001": _parent()})
    sink = LiveIngest(shop.app, fetchers={Network.X: fetcher})
    assert sink.recall_waiting_parents() == 1
    sink.fetch_parents()
    assert fetcher.asked == ["9001"]
    assert shop.cart("maya@example.com") == [("mug", 1)]
    # Asked once: a new sink finds nothing more to recall.
    assert LiveIngest(shop.app, fetchers={Network.X: fetcher}).recall_waiting_parents() == 0


def test_recalling_skips_networks_without_a_fetcher(shop: Shop) -> None:
    shop.ingest([_reply("9100")])
    assert LiveIngest(shop.app).recall_waiting_parents() == 0
