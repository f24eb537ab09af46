"""Parents nobody streamed, fetched from the X stand-in with GET /2/tweets/:id."""

from __future__ import annotations

import socket

import pytest

from hashcart.domain.posts import Network
from hashcart.networks.formats import Format
from hashcart.networks.parents import FetchFailed
from hashcart.networks.x.api import XApi
from hashcart.networks.x.fetch import XParentFetcher
from hashcart.services.live_ingest import LiveIngest
from tests.harness import Shop
from tests.networks.x.conftest import SHOPPER_EMAIL, ServedStandIn
from tests.networks.x.payloads import lookup_answer, stream_line, v2_cart_reply, v2_shop_post
from tests.networks.x.stand_in import APP_BEARER, Scripted

PARENT_ID, REPLY_ID = "1870000000000000001", "1870000000000000002"


def test_an_unseen_parent_is_fetched_and_the_waiting_trigger_acts(
    shop: Shop, x: ServedStandIn
) -> None:
    x.x.lookup_answers[PARENT_ID] = lookup_answer(v2_shop_post(PARENT_ID))
    sink = LiveIngest(shop.app, fetchers={Network.X: XParentFetcher(x.api())})
    # A stream line whose parent did not come along in includes.tweets.
    sink.ingest("x-stream", Format.X_V2, [stream_line(v2_cart_reply(REPLY_ID, PARENT_ID))])
    assert x.x.lookups == [PARENT_ID]
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]


def test_the_lookup_asks_for_the_fields_and_expansions_the_decoder_needs(
    x: ServedStandIn,
) -> None:
    x.x.lookup_answers[PARENT_ID] = lookup_answer(v2_shop_post(PARENT_ID))
    fetched = XParentFetcher(x.api()).fetch(PARENT_ID)
    assert fetched.fmt == Format.X_V2
    (line,) = fetched.lines
    assert PARENT_ID.encode() in line
    (query,) = x.x.lookup_queries
    assert query["expansions"] == "author_id,referenced_tweets.id"
    assert set(query["tweet.fields"].split(",")) >= {
        "author_id",
        "created_at",
        "entities",
        "referenced_tweets",
        "note_tweet",
        "edit_history_tweet_ids",
    }
    assert query["user.fields"] == "username"


def test_a_post_x_does_not_know_is_fetched_as_nothing(x: ServedStandIn) -> None:
    fetched = XParentFetcher(x.api()).fetch("1870000000000000099")
    assert fetched.lines == ()
    # hand-built: no documented sample for a 404 of the lookup (X answers 200 with errors).
    x.x.lookup_script.append(Scripted(404, {"title": "Not Found Error", "status": 404}))
    assert XParentFetcher(x.api()).fetch("1870000000000000098").lines == ()


def test_an_id_that_is_no_x_id_is_not_asked_for(x: ServedStandIn) -> None:
    assert XParentFetcher(x.api()).fetch("../users/me").lines == ()
    assert x.x.lookups == []


@pytest.mark.parametrize(
    "answer",
    [
        # hand-built: no documented sample for a 429 body; the headers are
        # x-api/fundamentals/rate-limits'.
        Scripted(
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
            {
                "x-rate-limit-limit": "15",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": "1795176000",
            },
        ),
        # hand-built: no documented sample for a 5xx body.
        Scripted(503, {"title": "Service Unavailable", "status": 503}),
        # hand-built: no documented sample for errors without data; the partial-errors
        # shape of x-api/fundamentals/response-codes-and-errors.
        Scripted(200, {"errors": [{"title": "Operational error", "type": "about:blank"}]}),
    ],
    ids=["rate-limited", "server-error", "errors-without-post"],
)
def test_a_lookup_x_cannot_answer_now_is_tried_later(x: ServedStandIn, answer: Scripted) -> None:
    x.x.lookup_script.append(answer)
    with pytest.raises(FetchFailed):
        XParentFetcher(x.api()).fetch(PARENT_ID)


def test_a_lookup_with_a_rejected_token_is_tried_later(x: ServedStandIn) -> None:
    with pytest.raises(FetchFailed, match="401"):
        XParentFetcher(x.api(bearer_token="revoked")).fetch(PARENT_ID)


def test_a_lookup_when_x_does_not_answer_is_tried_later() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    fetcher = XParentFetcher(XApi(f"http://127.0.0.1:{port}", bearer_token=APP_BEARER))
    with pytest.raises(FetchFailed, match="ConnectError"):
        fetcher.fetch(PARENT_ID)
