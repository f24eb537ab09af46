"""Parents no stream brought: `GET /api/v1/statuses/:id` on the stand-in, through the sink."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hashcart.networks.formats import Format
from hashcart.networks.mastodon.fetch import MastodonParentFetcher
from hashcart.networks.parents import Fetched, FetchFailed
from hashcart.services.live_ingest import LiveIngest
from hashcart.store import schema as t
from tests.harness import Shop
from tests.networks.mastodon.conftest import Case, Server, link_shopper
from tests.networks.mastodon.standin import Answer, recorded


def outcome(shop: Shop, post_id: str) -> str | None:
    with shop.app.engine.connect() as connection:
        return connection.scalar(
            select(t.parent_fetches.c.outcome).where(t.parent_fetches.c.post_id == post_id)
        )


def test_an_unseen_parent_is_fetched_and_the_waiting_trigger_acts(
    server: Server, shop: Shop, sink: LiveIngest, case: Case
) -> None:
    email = link_shopper(shop, "sam")
    server.stand_in.add_status(case.shop_post("1100", "beans"))
    reply = case.mention(case.reply("1101", "1100", "sam"))
    sink.ingest("mastodon-stream", Format.MASTODON, [json.dumps(reply).encode()])
    # The parent, once; and the server's status limit, asked when the confirmation is
    # composed (test_max_characters).
    assert sorted(seen.path for seen in server.stand_in.seen) == [
        "/api/v1/statuses/1100",
        "/api/v2/instance",
    ]
    assert shop.cart(email) == [("beans", 1)]
    assert outcome(shop, "1100") == "found"


def test_a_parent_the_server_does_not_have_is_not_asked_for_again(
    server: Server, shop: Shop, sink: LiveIngest, case: Case
) -> None:
    email = link_shopper(shop, "sam")
    reply = json.dumps(case.reply("1101", "4040", "sam")).encode()
    sink.ingest("mastodon-stream", Format.MASTODON, [reply])
    sink.ingest("mastodon-stream", Format.MASTODON, [reply])
    assert len(server.stand_in.requests("/api/v1/statuses/4040")) == 1
    assert outcome(shop, "4040") == "not_found"
    assert shop.cart(email) == []


def test_the_recorded_status_is_handed_back_as_it_came(
    server: Server, shared_fixtures: Path
) -> None:
    body = recorded(shared_fixtures, "test_status_card.yaml", "GET", "/api/v1/statuses/")
    status = json.loads(body)
    server.stand_in.add_status(status)
    fetched = MastodonParentFetcher(server.api()).fetch(status["id"])
    assert fetched.fmt == Format.MASTODON
    assert [json.loads(line) for line in fetched.lines] == [status]


def test_not_found_is_an_empty_answer(server: Server) -> None:
    assert MastodonParentFetcher(server.api()).fetch("4040") == Fetched(Format.MASTODON, ())


def test_an_id_no_server_uses_is_not_sent(server: Server) -> None:
    assert MastodonParentFetcher(server.api()).fetch("../admin") == Fetched(Format.MASTODON, ())
    assert server.stand_in.seen == []


@pytest.mark.parametrize(
    "answer",
    [
        Answer(429, "Too many requests", {"X-RateLimit-Remaining": "0"}),
        Answer(503, "Service Unavailable"),
        Answer(401, "The access token is invalid"),
    ],
    ids=["rate-limited", "server-error", "token"],
)
def test_a_server_that_cannot_answer_now_fails_the_fetch(server: Server, answer: Answer) -> None:
    server.stand_in.get_answers.append(answer)
    with pytest.raises(FetchFailed):
        MastodonParentFetcher(server.api()).fetch("1100")


def test_a_fetch_that_failed_is_tried_again_later(
    server: Server, shop: Shop, sink: LiveIngest, case: Case
) -> None:
    email = link_shopper(shop, "sam")
    server.stand_in.add_status(case.shop_post("1100"))
    server.stand_in.get_answers.append(Answer(503, "Service Unavailable"))
    sink.ingest("s", Format.MASTODON, [json.dumps(case.reply("1101", "1100", "sam")).encode()])
    assert shop.cart(email) == []
    shop.clock.advance(timedelta(minutes=2))
    sink.ingest("s", Format.MASTODON, [json.dumps(case.shop_post("1200", "beans")).encode()])
    assert shop.cart(email) == [("mug", 1)]
