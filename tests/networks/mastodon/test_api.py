"""The REST client against the stand-in's recorded answers: lists, instance, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hashcart.networks.mastodon.api import (
    MastodonApi,
    MastodonApiError,
    id_order,
    is_newer,
    sse_base,
)
from tests.networks.mastodon.conftest import Server
from tests.networks.mastodon.standin import Answer, Recordings, recorded


def test_the_instance_document_names_the_streaming_server(server: Server) -> None:
    # The recorded instance said "ws://localhost:4000"; the stand-in names its own port.
    assert server.api().streaming_url() == server.streaming_server.url


@pytest.mark.parametrize(
    ("advertised", "base"),
    [
        ("wss://streaming.mastodon.social", "https://streaming.mastodon.social"),
        ("ws://localhost:4000/", "http://localhost:4000"),
        ("https://social.example", "https://social.example"),
    ],
)
def test_the_streaming_address_becomes_an_http_base(advertised: str, base: str) -> None:
    assert sse_base(advertised) == base


def test_recorded_notifications_come_back_as_sent(server: Server, recordings: Recordings) -> None:
    server.stand_in.add_notification(recordings.notification)
    items = server.api().mention_notifications(None)
    assert [item.id for item in items] == ["21"]
    assert json.loads(items[0].raw) == recordings.notification
    # methods/notifications.md: mentions and quotes (4.5), the policy's filtered ones too
    # (`include_filtered`, 4.3), the most a page allows.
    assert server.stand_in.seen[0].query == [
        ("types[]", "mention"),
        ("types[]", "quote"),
        ("include_filtered", "true"),
        ("limit", "80"),
    ]


def test_a_recorded_tag_timeline_is_read(server: Server, shared_fixtures: Path) -> None:
    page = json.loads(recorded(shared_fixtures, "test_hashtag_tl.yaml", "GET", "/timelines/tag/"))
    for status in page:
        server.stand_in.add_status(status)
    items = server.api().tag_timeline("hoot", "0")
    assert [item.id for item in items] == [status["id"] for status in page]


def test_an_error_answer_carries_status_words_and_rate_limit_headers(server: Server) -> None:
    reset = "2026-11-20T13:05:00.000Z"
    server.stand_in.get_answers.append(
        Answer(429, "Too many requests", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    )
    with pytest.raises(MastodonApiError) as failed:
        server.api().status("1100")
    error = failed.value
    assert (error.status, error.error) == (429, "Too many requests")
    assert error.headers == {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    now = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert error.retry_at(now) == datetime(2026, 11, 20, 13, 5, tzinfo=UTC)


def test_a_wrong_token_is_an_api_error_without_the_token(server: Server) -> None:
    with pytest.raises(MastodonApiError) as failed:
        MastodonApi(server.url, "not-the-token").mention_notifications(None)
    assert failed.value.status == 401
    assert failed.value.error == "The access token is invalid"
    assert "not-the-token" not in str(failed.value)


def test_ids_order_by_age_not_by_text() -> None:
    assert id_order("99") < id_order("100")
    assert id_order("117020583245459824") < id_order("117020583258292382")
    assert is_newer("101", "100") and not is_newer("100", "100") and is_newer("1", None)
    # Pleroma/Akkoma flake ids: fixed-length text, ordered as text.
    assert id_order("AbCdEf0001") < id_order("AbCdEf0002")
