"""What the sender and the parent fetcher make of a PDS that refuses, rate-limits, breaks or is
gone: a loopback stand-in answering in the PDS's shapes (`{"error", "message"}` bodies and
its `ratelimit-*` headers, as @atproto/pds sends them)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from hashcart.networks.bluesky.fetch import BlueskyParentFetcher
from hashcart.networks.bluesky.identity import IdentityResolver
from hashcart.networks.bluesky.records import RecordReader
from hashcart.networks.bluesky.send import BlueskySender
from hashcart.networks.bluesky.session import ShopSession
from hashcart.networks.bluesky.tid import tid_for
from hashcart.networks.bluesky.xrpc import (
    MAX_ANSWER_BYTES,
    BlueskyUnreachable,
    Xrpc,
    XrpcError,
    new_client,
)
from hashcart.networks.formats import Format
from hashcart.networks.parents import Fetched, FetchFailed
from hashcart.outbox.senders import OutboxItem, SendFailed, Sent
from hashcart.secretbox import SecretBox
from hashcart.store.network_sessions import StoredSessions
from tests.harness import Shop
from tests.loopback import LiveServer
from tests.networks.bluesky.conftest import TOKEN_KEY
from tests.networks.bluesky.standins import Answer, RepoHost

SHOP = "did:plc:" + "northwind".ljust(24, "a")
ADA = "did:plc:" + "ada".ljust(24, "a")
TRIGGER = f"at://{ADA}/app.bsky.feed.post/3madacart001"
DEDUPE_KEY = f"added:{TRIGGER}"
REPLY_RKEY = tid_for(DEDUPE_KEY)


def refusal(status: int, error: str, message: str, **headers: str) -> Answer:
    body = json.dumps({"error": error, "message": message}).encode()
    return Answer(status, body, {"content-type": "application/json", **headers})


@dataclass
class Pds:
    host: RepoHost
    shop: Shop

    def xrpc(self) -> Xrpc:
        return Xrpc(new_client())

    def sender(self) -> BlueskySender:
        xrpc = self.xrpc()
        identity = IdentityResolver(xrpc, self.host.url, self.shop.clock)
        session = ShopSession(
            StoredSessions(self.shop.app.engine, self.shop.clock),
            xrpc,
            self.shop.clock,
            pds_url=self.host.url,
            identifier="northwind.test",
            password="app-password",
            box=SecretBox(TOKEN_KEY),
        )
        return BlueskySender(session, RecordReader(identity, xrpc), identity, xrpc)

    def fetcher(self, plc_url: str | None = None) -> BlueskyParentFetcher:
        xrpc = self.xrpc()
        identity = IdentityResolver(xrpc, plc_url or self.host.url, self.shop.clock)
        return BlueskyParentFetcher(RecordReader(identity, xrpc), self.shop.clock)

    def script(self, nsid: str, *answers: Answer) -> None:
        self.host.answers.setdefault(nsid, []).extend(answers)


@pytest.fixture
def pds(tmp_path: Path) -> Iterator[Pds]:
    host = RepoHost(known_dids={SHOP, ADA}, session_did=SHOP)
    host.records[(ADA, "3madacart001")] = (
        "bafyreiezfdtegp4hrom46uxe7u3pzw5lxwabryk4crijq3xlmduypdukli",
        {"$type": "app.bsky.feed.post", "text": "#cart", "createdAt": "2026-11-20T12:00:00Z"},
    )
    with LiveServer(host.app()) as server:
        host.url = server.url
        yield Pds(host, Shop(f"sqlite:///{tmp_path / 'hashcart.db'}", token_key=TOKEN_KEY))


def item() -> OutboxItem:
    return OutboxItem(
        id=7,
        network="bluesky",
        channel="reply",
        account_id=ADA,
        in_reply_to=TRIGGER,
        reason="added",
        text="Added to your cart.",
        subject=None,
        dedupe_key=DEDUPE_KEY,
        attempts=0,
    )


def test_a_rate_limited_reply_waits_until_the_pds_reset_time(pds: Pds) -> None:
    now = pds.shop.clock.now()
    reset = now + timedelta(minutes=10)
    pds.script(
        "com.atproto.repo.createRecord",
        refusal(
            429,
            "RateLimitExceeded",
            "Rate Limit Exceeded",
            **{
                "ratelimit-limit": "5000",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(reset.timestamp())),
                "ratelimit-policy": "5000;w=3600",
            },
        ),
    )

    with pytest.raises(SendFailed) as failed:
        pds.sender().send(item(), now)

    assert not failed.value.permanent
    assert failed.value.retry_at == reset


def test_a_pds_error_is_temporary(pds: Pds) -> None:
    pds.script(
        "com.atproto.repo.createRecord",
        refusal(502, "UpstreamFailure", "Upstream Failure"),
    )

    with pytest.raises(SendFailed) as failed:
        pds.sender().send(item(), pds.shop.clock.now())

    assert not failed.value.permanent
    assert failed.value.retry_at is None


def test_a_refused_record_fails_for_good_with_the_pds_reason(pds: Pds) -> None:
    pds.script(
        "com.atproto.repo.createRecord",
        refusal(400, "InvalidRecord", "Record/text must not be longer than 300 graphemes"),
    )

    with pytest.raises(SendFailed) as failed:
        pds.sender().send(item(), pds.shop.clock.now())

    assert failed.value.permanent
    assert "300 graphemes" in failed.value.reason


def test_a_failed_create_whose_record_is_there_counts_as_sent(pds: Pds) -> None:
    """The PDS wrote the reply but its answer was a 500 (or never came)."""
    pds.script(
        "com.atproto.repo.createRecord",
        refusal(500, "InternalServerError", "Internal Server Error"),
    )
    pds.host.records[(SHOP, REPLY_RKEY)] = ("bafyreiwritten", {"text": "Added to your cart."})

    sent = pds.sender().send(item(), pds.shop.clock.now())

    assert sent == Sent(f"at://{SHOP}/app.bsky.feed.post/{REPLY_RKEY}")


def test_a_refused_token_renewed_and_refused_again_fails_for_good(pds: Pds) -> None:
    expired = refusal(400, "ExpiredToken", "Token has expired")
    pds.script("com.atproto.repo.createRecord", expired, expired)
    pds.script("com.atproto.server.refreshSession", expired)

    with pytest.raises(SendFailed) as failed:
        pds.sender().send(item(), pds.shop.clock.now())

    assert failed.value.permanent
    assert "session" in failed.value.reason
    assert "access.token.here" not in failed.value.reason
    # renewed once: the refresh token had expired too, so it logged in again
    assert pds.host.calls.count("com.atproto.server.refreshSession") == 1
    assert pds.host.calls.count("com.atproto.server.createSession") == 2


def test_a_pds_that_is_gone_is_a_temporary_failure(pds: Pds) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{closed.getsockname()[1]}"
    pds.host.url = gone  # the DID documents now name a PDS nobody answers at

    with pytest.raises(SendFailed) as failed:
        pds.sender().send(item(), pds.shop.clock.now())

    assert not failed.value.permanent


def test_fetching_a_record_that_does_not_exist_says_so(pds: Pds) -> None:
    missing = f"at://{ADA}/app.bsky.feed.post/3mnothere0001"
    unknown_author = "at://did:plc:" + "nobody".ljust(24, "a") + "/app.bsky.feed.post/3mx"

    fetcher = pds.fetcher()

    assert fetcher.fetch(missing) == Fetched(Format.JETSTREAM, ())
    assert fetcher.fetch(unknown_author) == Fetched(Format.JETSTREAM, ())
    assert fetcher.fetch("https://bsky.app/profile/x/post/y") == Fetched(Format.JETSTREAM, ())


def test_a_fetch_the_pds_cannot_answer_now_is_retried_later(pds: Pds) -> None:
    pds.script("com.atproto.repo.getRecord", refusal(503, "NotEnoughResources", "busy"))

    with pytest.raises(FetchFailed):
        pds.fetcher().fetch(TRIGGER)


def test_a_fetched_record_comes_back_as_a_jetstream_event(pds: Pds) -> None:
    fetched = pds.fetcher().fetch(TRIGGER)

    [line] = fetched.lines
    event = json.loads(line)
    assert fetched.fmt is Format.JETSTREAM
    assert (event["did"], event["kind"]) == (ADA, "commit")
    assert event["commit"]["rkey"] == "3madacart001"
    assert event["commit"]["record"]["text"] == "#cart"
    assert event["time_us"] == int(pds.shop.clock.now().timestamp() * 1_000_000)


def test_answers_too_large_or_not_json_are_no_answer(pds: Pds) -> None:
    xrpc = pds.xrpc()
    pds.script(
        "com.atproto.repo.getRecord",
        Answer(200, b"x" * (MAX_ANSWER_BYTES + 1)),
        Answer(200, b"<html>not json</html>"),
    )

    for _ in range(2):
        with pytest.raises(BlueskyUnreachable):
            xrpc.query(pds.host.url, "com.atproto.repo.getRecord", {"repo": ADA})


def test_an_error_answer_keeps_the_rate_limit_headers_and_no_token(pds: Pds) -> None:
    pds.script(
        "com.atproto.repo.createRecord",
        refusal(429, "RateLimitExceeded", "slow down", **{"ratelimit-remaining": "0"}),
    )

    with pytest.raises(XrpcError) as refused:
        pds.xrpc().procedure(
            pds.host.url, "com.atproto.repo.createRecord", {}, token="secret-token"
        )

    assert refused.value.rate_limited
    assert refused.value.headers == {"ratelimit-remaining": "0"}
    assert "secret-token" not in str(refused.value)
