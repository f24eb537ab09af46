"""Replies and private messages through `POST /api/v1/statuses` on the stand-in, which
answers with the recorded reply (test_status_reply.yaml) and honours `Idempotency-Key` as
Mastodon does: a repeated key gets the status the first request made, nothing new."""

from __future__ import annotations

import hashlib
import json
import socket
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hashcart.networks.mastodon.api import MastodonApi
from hashcart.networks.mastodon.send import MastodonSender, idempotency_key
from hashcart.outbox.senders import OutboxItem, SendFailed
from tests.networks.mastodon.conftest import Case, Server
from tests.networks.mastodon.standin import Answer, Recordings

NOW = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


def item(
    channel: str = "reply", in_reply_to: str = "1101", dedupe_key: str = "mastodon:1101:added"
) -> OutboxItem:
    return OutboxItem(
        id=7,
        network="mastodon",
        channel=channel,  # type: ignore[arg-type]
        account_id="https://elsewhere.example/users/sam",
        in_reply_to=in_reply_to,
        reason="added",
        text="@sam@elsewhere.example Trailhead Enamel Mug is in your cart.",
        subject=None,
        dedupe_key=dedupe_key,
        attempts=0,
    )


@pytest.fixture
def sender(server: Server, case: Case) -> MastodonSender:
    server.stand_in.add_status(case.shop_post("1100"))
    server.stand_in.add_status(case.reply("1101", "1100", "sam"))
    return MastodonSender(server.api())


def posts(server: Server) -> list[dict[str, object]]:
    return [json.loads(seen.body) for seen in server.stand_in.requests("/api/v1/statuses", "POST")]


def keys(server: Server) -> list[str | None]:
    return [
        seen.headers.get("idempotency-key")
        for seen in server.stand_in.requests("/api/v1/statuses", "POST")
    ]


def test_a_reply_answers_the_trigger_unlisted(server: Server, sender: MastodonSender) -> None:
    sent = sender.send(item(), NOW)
    assert posts(server) == [
        {
            "status": "@sam@elsewhere.example Trailhead Enamel Mug is in your cart.",
            "visibility": "unlisted",
            "in_reply_to_id": "1101",
        }
    ]
    assert sent.remote_id == server.stand_in.posted[0]["id"]
    assert keys(server) == [hashlib.sha256(b"hashcart:mastodon:1101:added").hexdigest()]


def test_a_key_the_server_knows_gets_its_recorded_status_back(
    server: Server, recordings: Recordings
) -> None:
    # The real server's recorded reply, already posted under this key an attempt ago.
    recorded = recordings.reply
    server.stand_in.add_status({**recorded, "id": recorded["in_reply_to_id"]})
    server.stand_in.statuses[recorded["id"]] = recorded
    key = idempotency_key("recorded")
    server.stand_in.idempotency[key] = recorded["id"]
    sent = MastodonSender(server.api()).send(
        item(in_reply_to=recorded["in_reply_to_id"], dedupe_key="recorded"), NOW
    )
    assert sent.remote_id == "117020583258292382"
    assert server.stand_in.posted == []


def test_a_retry_after_a_lost_answer_posts_nothing_new(
    server: Server, sender: MastodonSender
) -> None:
    # The server posts, then a proxy times out: the sender cannot know it went.
    server.stand_in.post_answers.append(Answer(504, "Gateway Timeout", create_first=True))
    with pytest.raises(SendFailed) as failed:
        sender.send(item(), NOW)
    assert not failed.value.permanent
    sent = sender.send(item(), NOW)
    assert len(server.stand_in.posted) == 1
    assert sent.remote_id == server.stand_in.posted[0]["id"]
    first, second = keys(server)
    assert first == second == idempotency_key("mastodon:1101:added")


def test_different_messages_have_different_keys(server: Server, sender: MastodonSender) -> None:
    sender.send(item(dedupe_key="mastodon:1101:added"), NOW)
    sender.send(item(dedupe_key="mastodon:1101:already_in_cart"), NOW)
    assert len(set(keys(server))) == 2 and len(server.stand_in.posted) == 2


def test_a_rate_limit_answer_is_temporary_until_the_reset_time(
    server: Server, sender: MastodonSender
) -> None:
    server.stand_in.post_answers.append(
        Answer(
            429,
            "Too many requests",
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "2026-11-20T13:05:00.691225Z",
            },
        )
    )
    with pytest.raises(SendFailed) as failed:
        sender.send(item(), NOW)
    assert not failed.value.permanent
    assert failed.value.retry_at == datetime(2026, 11, 20, 13, 5, 0, 691225, tzinfo=UTC)
    assert "Too many requests" in failed.value.reason
    assert server.stand_in.posted == []


@pytest.mark.parametrize(
    ("status", "error", "permanent", "reason"),
    [
        (401, "The access token is invalid", True, "Mastodon token rejected"),
        (
            403,
            "This action is outside the authorized scopes",
            True,
            "outside the authorized scopes",
        ),
        (404, "Record not found", True, "gone"),
        (
            422,
            "Validation failed: Text character limit of 500 exceeded",
            True,
            "Text character limit of 500 exceeded",
        ),
        (500, "We're sorry, but something went wrong on our end.", False, "500"),
        (503, "Service Unavailable", False, "503"),
    ],
)
def test_error_answers_say_whether_to_try_again(
    server: Server,
    sender: MastodonSender,
    status: int,
    error: str,
    permanent: bool,
    reason: str,
) -> None:
    server.stand_in.post_answers.append(Answer(status, error))
    with pytest.raises(SendFailed) as failed:
        sender.send(item(), NOW)
    assert failed.value.permanent is permanent
    assert reason in failed.value.reason
    assert "shop-access-token" not in failed.value.reason


def test_no_answer_is_temporary() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    sender = MastodonSender(MastodonApi(f"http://127.0.0.1:{port}", "token"))
    with pytest.raises(SendFailed) as failed:
        sender.send(item(channel="private"), NOW)
    assert not failed.value.permanent


def test_a_private_message_is_a_direct_status(server: Server, sender: MastodonSender) -> None:
    sender.send(item(channel="private"), NOW)
    assert posts(server)[0]["visibility"] == "direct"


def test_a_followers_only_trigger_is_answered_directly(server: Server, case: Case) -> None:
    server.stand_in.add_status(case.reply("1102", "1100", "kim", visibility="private"))
    MastodonSender(server.api()).send(item(in_reply_to="1102"), NOW)
    assert posts(server)[0]["visibility"] == "direct"


def test_a_deleted_trigger_fails_for_good_without_posting(server: Server) -> None:
    with pytest.raises(SendFailed) as failed:
        MastodonSender(server.api()).send(item(in_reply_to="4040"), NOW)
    assert failed.value.permanent and "gone" in failed.value.reason
    assert server.stand_in.posted == []


def test_a_retry_after_the_server_forgot_the_key_finds_the_earlier_reply(
    server: Server, sender: MastodonSender
) -> None:
    # The first attempt posted but its answer was lost; the retry comes after Mastodon's
    # one hour of remembering the key (a console retry the next day, say).
    server.stand_in.post_answers.append(Answer(504, "Gateway Timeout", create_first=True))
    with pytest.raises(SendFailed):
        sender.send(item(), NOW)
    server.stand_in.idempotency.clear()
    sent = sender.send(replace(item(), attempts=1), NOW)
    assert len(server.stand_in.posted) == 1
    assert sent.remote_id == server.stand_in.posted[0]["id"]
    assert len(server.stand_in.requests("/api/v1/statuses", "POST")) == 1


def test_a_retry_whose_earlier_attempt_posted_nothing_posts_once(
    server: Server, sender: MastodonSender
) -> None:
    sent = sender.send(replace(item(), attempts=2), NOW)
    assert len(server.stand_in.posted) == 1
    assert sent.remote_id == server.stand_in.posted[0]["id"]
    assert server.stand_in.requests("/api/v1/statuses/1101/context")


def test_another_accounts_reply_with_the_same_words_is_not_ours(
    server: Server, sender: MastodonSender, case: Case
) -> None:
    lookalike = case.reply("1102", "1101", "mallory")
    lookalike["content"] = "<p>@sam@elsewhere.example Trailhead Enamel Mug is in your cart.</p>"
    server.stand_in.add_status(lookalike)
    sender.send(replace(item(), attempts=1), NOW)
    assert len(server.stand_in.posted) == 1
