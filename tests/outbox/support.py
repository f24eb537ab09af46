"""A network stand-in on loopback for dispatcher tests, and a Sender that talks to it over
HTTP the way the real network senders talk to theirs.

The peer is a small real HTTP server (uvicorn, through tests.loopback.LiveServer): `POST
/posts` creates a post, answering from a script (201, 429 with X's rate-limit headers, 403
with X's 2026 reply-rule error, 500, or a 201 whose body is broken); `GET /posts?dedupe=`
finds a post made earlier, as a sender without idempotency keys (X) looks for what it may
have sent before a crash."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
from sqlalchemy import select

from hashcart.bootstrap import App
from hashcart.domain.messages import OutboundMessage, Reason
from hashcart.domain.posts import Network
from hashcart.networks.rate_limits import retry_after
from hashcart.outbox.senders import OutboxItem, SendFailed, Sent
from hashcart.store import schema as t
from hashcart.store.repository import transaction
from tests.loopback import LiveServer

# A 403 for a reply X's 2026 rule forbids (the author did not mention or quote the app's
# account), in X's problem-details shape; the wording is ours.
REPLY_RULE_DETAIL = "You may reply only where the author mentioned or quoted your account."


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # None: the usual body for the status


def created() -> Answer:
    return Answer(201)


def server_error() -> Answer:
    return Answer(503, body=b'{"title":"Service Unavailable","status":503}')


def rate_limited(reset: datetime) -> Answer:
    return Answer(
        429,
        {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(reset.timestamp())),
        },
        b'{"title":"Too Many Requests","detail":"Too Many Requests","status":429}',
    )


def reply_forbidden() -> Answer:
    body = {"detail": REPLY_RULE_DETAIL, "title": "Forbidden", "status": 403}
    return Answer(403, body=json.dumps(body).encode())


def broken_created() -> Answer:
    """Created, but the answer's body is cut off: the sender cannot tell what happened."""
    return Answer(201, {"content-type": "application/json"}, b'{"data": {"id": ')


class Peer:
    """The network: what it was asked to post and what it holds. Thread-safe (uvicorn
    serves it from its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.script: list[Answer] = []
        self.default = created()
        self.posts: dict[str, dict[str, str]] = {}  # dedupe key → post
        self.requests: list[dict[str, str]] = []  # every POST body, in order
        self.lookups: list[str] = []

    def answer_next(self, *answers: Answer) -> None:
        with self._lock:
            self.script += answers

    def posted(self) -> list[str]:
        with self._lock:
            return [request["dedupe_key"] for request in self.requests]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = (await receive())["type"]
                if event == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, headers, content = self._handle(scope, body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": content})

    def _handle(self, scope: dict[str, Any], body: bytes) -> tuple[int, dict[str, str], bytes]:
        json_type = {"content-type": "application/json"}
        with self._lock:
            if scope["method"] == "GET" and scope["path"] == "/posts":
                key = parse_qs(scope["query_string"].decode()).get("dedupe", [""])[0]
                self.lookups.append(key)
                found = self.posts.get(key)
                return 200, json_type, json.dumps({"data": [found] if found else []}).encode()
            if scope["method"] != "POST" or scope["path"] != "/posts":
                return 404, json_type, b'{"title":"Not Found"}'
            request = json.loads(body)
            self.requests.append(request)
            answer = self.script.pop(0) if self.script else self.default
            if answer.status == 201:
                post = {"id": str(1000 + len(self.posts)), **request}
                self.posts[request["dedupe_key"]] = post
                content = answer.body or json.dumps({"data": {"id": post["id"]}}).encode()
                return 201, {**json_type, **answer.headers}, content
            return answer.status, {**json_type, **answer.headers}, answer.body or b"{}"


class PeerSender:
    """A network sender over HTTP to a Peer: the shape the real senders have (answers
    mapped to Sent / SendFailed, rate-limit headers read by hashcart's own rate_limits)."""

    def __init__(self, base_url: str, network: str = "x") -> None:
        self.network = network
        self.client = httpx.Client(base_url=base_url, timeout=10)
        self.items: list[OutboxItem] = []  # every item it was handed

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        self.items.append(item)
        if item.attempt_started_at is not None:  # an earlier attempt's end is unknown
            found = self.client.get("/posts", params={"dedupe": item.dedupe_key}).json()["data"]
            if found:
                return Sent(remote_id=found[0]["id"])
        response = self.client.post(
            "/posts",
            json={"dedupe_key": item.dedupe_key, "text": item.text, "reply_to": item.in_reply_to},
        )
        if response.status_code == 201:
            return Sent(remote_id=response.json()["data"]["id"])
        if response.status_code == 403:
            raise SendFailed(
                "X allows replies only where the author mentioned or quoted the shop's "
                "account (X's reply rule of 2026)",
                permanent=True,
            )
        raise SendFailed(
            f"{self.network} answered {response.status_code}",
            permanent=False,
            retry_at=retry_after(response.headers, now),
        )

    def close(self) -> None:
        self.client.close()


@dataclass
class PeerNetwork:
    """A running Peer and where it listens."""

    peer: Peer
    server: LiveServer

    def sender(self, network: str = "x") -> PeerSender:
        return PeerSender(self.server.url, network)


def serve_peer() -> Iterator[PeerNetwork]:
    peer = Peer()
    with LiveServer(peer) as server:
        yield PeerNetwork(peer, server)


def queue_replies(
    app: App, count: int, *, network: Network = Network.X, first: int = 0, channel: str = "reply"
) -> None:
    """`count` confirmations waiting in the outbox, queued as the engine queues them."""
    messages = [
        OutboundMessage(
            network,
            f"acct{number}",
            f"{network}-post-{number}",
            Reason.ADDED,
            f"@shopper{number} Added Trailhead Enamel Mug to your cart at Trailhead Coffee. "
            f"(ref {number:06d})",
            "private" if channel == "private" else "reply",
        )
        for number in range(first, first + count)
    ]
    with transaction(app.engine) as repo:
        repo.queue_messages(messages, app.clock.now())


def rows(app: App) -> list[Any]:
    with app.engine.connect() as connection:
        return list(connection.execute(select(t.outbox).order_by(t.outbox.c.id)).all())


def row(app: App, dedupe_key: str) -> Any:
    with app.engine.connect() as connection:
        return connection.execute(select(t.outbox).where(t.outbox.c.dedupe_key == dedupe_key)).one()
