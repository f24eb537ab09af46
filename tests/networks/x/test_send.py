"""The X sender against the stand-in: how each of X's answers is taken, and no reply twice."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hashcart.networks.x.api import XApi
from hashcart.networks.x.send import REPLY_RESTRICTED, TOKEN_REJECTED, XSender
from hashcart.outbox.senders import OutboxItem, SendFailed
from tests.harness import Shop
from tests.networks.x.conftest import SHOPPER_ID, ServedStandIn
from tests.networks.x.stand_in import (
    DUPLICATE,
    FIRST_CREATED_ID,
    SHOP_USER_ID,
    USER_TOKEN,
    Scripted,
)
from tests.networks.x.stand_in import (
    REPLY_RESTRICTED as RESTRICTION_ANSWER,
)

TRIGGER_ID = "1880000000000000002"
TEXT = "@maya Added Trailhead Enamel Mug to your cart at Trailhead. (ref 32cd68)"
REPLY = OutboxItem(
    id=7,
    network="x",
    channel="reply",
    account_id=SHOPPER_ID,
    in_reply_to=TRIGGER_ID,
    reason="added",
    text=TEXT,
    subject=None,
    dedupe_key="x:reply:1880000000000000002",
    attempts=0,
)


def _sender(x: ServedStandIn, shop_user_id: str | None = SHOP_USER_ID, **tokens: str) -> XSender:
    return XSender(x.api(**tokens), shop_user_id=shop_user_id)


def test_a_reply_is_posted_in_reply_to_the_trigger(shop: Shop, x: ServedStandIn) -> None:
    sent = _sender(x).send(REPLY, shop.clock.now())
    assert sent.remote_id == str(FIRST_CREATED_ID)
    assert x.x.create_requests == [{"text": TEXT, "reply": {"in_reply_to_tweet_id": TRIGGER_ID}}]


def test_a_private_message_is_a_direct_message_to_the_shopper(shop: Shop, x: ServedStandIn) -> None:
    sent = _sender(x).send(replace(REPLY, channel="private"), shop.clock.now())
    assert sent.remote_id == "1582103724607971332"
    assert x.x.dm_requests == [(SHOPPER_ID, {"text": TEXT})]
    assert x.x.create_requests == []


def test_a_rate_limited_reply_is_retried_when_x_says(shop: Shop, x: ServedStandIn) -> None:
    now = shop.clock.now()
    reset = now + timedelta(minutes=7)
    # hand-built: no documented sample for a 429 body; the headers are
    # x-api/fundamentals/rate-limits'.
    x.x.create_script.append(
        Scripted(
            429,
            {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            },
            {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(reset.timestamp())),
            },
        )
    )
    with pytest.raises(SendFailed) as failed:
        _sender(x).send(REPLY, now)
    assert not failed.value.permanent
    assert failed.value.retry_at == reset


def test_a_server_error_is_temporary(shop: Shop, x: ServedStandIn) -> None:
    # hand-built: no documented sample for a 5xx body.
    x.x.create_script.append(Scripted(503, {"title": "Service Unavailable", "status": 503}))
    with pytest.raises(SendFailed) as failed:
        _sender(x).send(REPLY, shop.clock.now())
    assert not failed.value.permanent
    assert failed.value.retry_at is None


def test_no_answer_is_temporary(shop: Shop) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    sender = XSender(XApi(f"http://127.0.0.1:{port}", user_token=USER_TOKEN), SHOP_USER_ID)
    with pytest.raises(SendFailed) as failed:
        sender.send(REPLY, shop.clock.now())
    assert not failed.value.permanent
    assert "did not answer" in failed.value.reason


def test_a_reply_x_forbids_under_the_2026_rule_fails_for_good_with_the_reason(
    shop: Shop, x: ServedStandIn
) -> None:
    x.x.create_script.append(Scripted(403, RESTRICTION_ANSWER))  # hand-built (stand_in)
    with pytest.raises(SendFailed) as failed:
        _sender(x).send(REPLY, shop.clock.now())
    assert failed.value.permanent
    assert failed.value.reason == REPLY_RESTRICTED


def test_a_rejected_token_fails_for_good(shop: Shop, x: ServedStandIn) -> None:
    with pytest.raises(SendFailed) as failed:
        _sender(x, user_token="expired").send(REPLY, shop.clock.now())
    assert failed.value.permanent
    assert failed.value.reason == TOKEN_REJECTED
    assert "expired" not in str(failed.value)


def test_another_refusal_fails_for_good_with_x_s_words(shop: Shop, x: ServedStandIn) -> None:
    detail = "The `text` field is too long."
    # hand-built: no documented sample for a too-long text; the problem format of
    # x-api/fundamentals/response-codes-and-errors ("Invalid Request").
    x.x.create_script.append(
        Scripted(
            400,
            {"title": "Invalid Request", "detail": detail, "type": "about:blank", "status": 400},
        )
    )
    with pytest.raises(SendFailed) as failed:
        _sender(x).send(REPLY, shop.clock.now())
    assert failed.value.permanent
    assert detail in failed.value.reason


def test_a_refused_direct_message_is_not_called_a_reply_restriction(
    shop: Shop, x: ServedStandIn
) -> None:
    detail = "You cannot send messages to users who are not following you."
    # hand-built: no documented sample for a refused direct message.
    x.x.dm_script.append(Scripted(403, {"title": "Forbidden", "detail": detail, "status": 403}))
    with pytest.raises(SendFailed) as failed:
        _sender(x).send(replace(REPLY, channel="private"), shop.clock.now())
    assert failed.value.permanent
    assert failed.value.reason != REPLY_RESTRICTED
    assert detail in failed.value.reason


# --- never twice ------------------------------------------------------------------------


def test_after_a_crash_the_earlier_reply_is_found_and_not_posted_again(
    shop: Shop, x: ServedStandIn
) -> None:
    started = shop.clock.now()
    first = _sender(x).send(REPLY, started)  # X posted it; then the process died
    assert len(x.x.create_requests) == 1
    shop.clock.advance(timedelta(minutes=3))
    crashed = replace(REPLY, attempts=1, attempt_started_at=started)
    again = _sender(x).send(crashed, shop.clock.now())
    assert again.remote_id == first.remote_id
    assert len(x.x.create_requests) == 1
    (query,) = x.x.timeline_requests
    assert query["start_time"] == (started - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "referenced_tweets" in query["tweet.fields"]


def test_after_a_crash_before_x_got_it_the_reply_is_posted(shop: Shop, x: ServedStandIn) -> None:
    crashed = replace(REPLY, attempts=1, attempt_started_at=shop.clock.now())
    sent = _sender(x).send(crashed, shop.clock.now())
    assert sent.remote_id == str(FIRST_CREATED_ID)
    assert len(x.x.create_requests) == 1
    assert len(x.x.timeline_requests) == 1


def test_the_shop_s_id_is_asked_of_x_when_not_configured(shop: Shop, x: ServedStandIn) -> None:
    earlier = x.x.shop_reply(TEXT, TRIGGER_ID)
    crashed = replace(REPLY, attempts=1, attempt_started_at=shop.clock.now())
    sent = _sender(x, shop_user_id=None).send(crashed, shop.clock.now())
    assert sent.remote_id == earlier
    assert x.x.create_requests == []


def test_a_same_text_reply_to_another_post_is_not_taken_for_ours(
    shop: Shop, x: ServedStandIn
) -> None:
    x.x.shop_reply(TEXT, "1880000000000000777")
    crashed = replace(REPLY, attempts=1, attempt_started_at=shop.clock.now())
    # Not ours: so it is posted, and X refuses the repeated text; with no earlier reply
    # to this trigger to be found, that is a failure for good.
    with pytest.raises(SendFailed) as failed:
        _sender(x).send(crashed, shop.clock.now())
    assert failed.value.permanent
    assert str(DUPLICATE["detail"]) in failed.value.reason
    assert len(x.x.create_requests) == 1


def test_a_duplicate_refusal_is_taken_as_sent_when_the_earlier_reply_is_there(
    shop: Shop, x: ServedStandIn
) -> None:
    earlier = x.x.shop_reply(TEXT, TRIGGER_ID)
    sent = _sender(x).send(REPLY, shop.clock.now())  # no crash recorded: X says duplicate
    assert sent.remote_id == earlier
    assert len(x.x.create_requests) == 1


def test_when_x_cannot_be_asked_about_a_crashed_attempt_nothing_is_posted(
    shop: Shop, x: ServedStandIn
) -> None:
    crashed = replace(REPLY, attempts=1, attempt_started_at=shop.clock.now())
    with pytest.raises(SendFailed) as failed:
        _sender(x, user_token="expired").send(crashed, shop.clock.now())
    assert failed.value.permanent
    assert x.x.create_requests == []


def test_a_reply_to_something_that_is_no_post_id_is_never_sent(
    shop: Shop, x: ServedStandIn
) -> None:
    with pytest.raises(SendFailed) as failed:
        _sender(x).send(replace(REPLY, in_reply_to="1/retweets"), datetime.now(UTC))
    assert failed.value.permanent
    assert x.x.create_requests == []
