"""Toy: a made-up network that exists only in these tests, to prove that a network is one
`NetworkAdapter` registered in one line, with no file under src/ edited for it.

Its payloads are its own shape, one JSON object a line:

    {"toy": {"id": "t2", "by": {"id": "u7", "name": "ana"}, "says": "#cart",
             "answers": "t1", "at": "2026-11-20T12:00:00Z"}}

and it answers shoppers through its own HTTP API, a stand-in served on loopback
(`ToyNetworkServer`): `POST /replies` with `{"in_reply_to", "to", "text"}`.

It has what a real network declares besides: a settings model (an API address and a
secret API token, shown on the console's Networks card), a listener name (`toy_stream`,
for the `listeners` setting) and a sign-in shoppers link their account with (its
authorize page on the stand-in, asking their toy name first).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field, SecretStr, field_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hashcart.config import Settings
from hashcart.domain.posts import DecodeError, Event, Network, Post
from hashcart.networks.base import (
    Need,
    NetworkAdapter,
    NetworkHost,
    NetworkSettings,
    SignInAsks,
    Sniff,
    WebhookAnswer,
    WebhookRequest,
)
from hashcart.ports import (
    Authorization,
    ClientRegistry,
    DeliveryLog,
    LiveSink,
    OAuthFailed,
    OAuthProvider,
    OutboxItem,
    PendingSignIn,
    ProvenAccount,
    SendFailed,
    Sent,
    StartInput,
)

NAME = "toy"
FORMAT = "toy"
WEBHOOK_SECRET = "toy-webhook-secret"
SIGNATURE_HEADER = "toy-signature"


def toy_line(
    post_id: str, author_id: str, name: str, says: str, at: str, answers: str | None = None
) -> bytes:
    post: dict[str, Any] = {"id": post_id, "by": {"id": author_id, "name": name}, "says": says}
    post["at"] = at
    if answers is not None:
        post["answers"] = answers
    return json.dumps({"toy": post}).encode()


def decode(line: bytes) -> list[Event]:
    try:
        post = json.loads(line)["toy"]
        return [
            Post(
                network=Network(NAME),
                post_id=str(post["id"]),
                author_id=str(post["by"]["id"]),
                author_handle=str(post["by"]["name"]),
                text=str(post["says"]),
                created_at=datetime.fromisoformat(post["at"]),
                reply_to_id=post.get("answers"),
            )
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise DecodeError(f"not a toy post: {error!r}") from None


class ToySender:
    network = NAME

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        answer = httpx.post(
            f"{self.base_url}/replies",
            json={"in_reply_to": item.in_reply_to, "to": item.account_id, "text": item.text},
            timeout=10,
        )
        if answer.status_code != 201:
            raise SendFailed(f"toy answered {answer.status_code}", permanent=False)
        return Sent(remote_id=str(answer.json()["id"]))


def signature(body: bytes) -> str:
    return hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


class ToyWebhook:
    """Deliveries signed with a shared secret; the body's post id is the delivery key."""

    max_body_bytes = 64 * 1024

    def challenge(self, request: WebhookRequest, settings: Settings) -> WebhookAnswer | None:
        return None

    def deliver(
        self,
        request: WebhookRequest,
        settings: Settings,
        sink: Callable[[], LiveSink],
        deliveries: DeliveryLog,
    ) -> WebhookAnswer:
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given, signature(request.body)):
            return WebhookAnswer(401, {"error": "bad signature"})
        key = str(json.loads(request.body)["toy"]["id"])
        if deliveries.was_delivered(NAME, key):
            return WebhookAnswer(200, {"taken": False})
        counts = sink().ingest("toy-webhook", FORMAT, [request.body])
        deliveries.mark_delivered(NAME, key)
        return WebhookAnswer(200, {"taken": True, "posts": counts.posts})


LISTENER = "toy_stream"


class ToySettings(BaseModel):
    """The toy's settings model: what its card on the console's Networks page shows."""

    toy_api_url: str | None = Field(
        None, title="Toy API address", description="Where the toy network's API answers."
    )
    toy_api_token: SecretStr | None = Field(
        None, title="Toy API token", description="The shop account's token on the toy network."
    )

    @field_validator("toy_api_url")
    @classmethod
    def _an_http_address(cls, text: str | None) -> str | None:
        if text is not None and not text.startswith(("http://", "https://")):
            raise ValueError(f"Toy API address {text!r} must be an http(s) address")
        return text


SETTINGS = NetworkSettings(
    model=ToySettings,
    needs=(
        Need("Toy stream", "listen", (("toy_api_url",),), LISTENER),
        Need("Replies to shoppers", "answer", (("toy_api_url", "toy_api_token"),)),
    ),
    listeners={LISTENER: "Toy stream"},
)


class ToyOAuth:
    """The toy's sign-in: its authorize page on the stand-in, with the name typed first."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.network = Network(NAME)  # declared once the toy is registered

    def authorize(self, start: StartInput) -> Authorization:
        return Authorization(
            url=f"{self.api_url}/authorize?state={start.state}&who={start.entered}"
        )

    def exchange(
        self, code: str, callback: Mapping[str, str], pending: PendingSignIn
    ) -> ProvenAccount:
        raise OAuthFailed("the toy network signs nobody in")

    def revoke(self, server: str | None, secrets: Mapping[str, Any]) -> None:
        return None


def toy_network(api_url: str) -> NetworkAdapter:
    """The toy network, answering through the API at `api_url`."""

    def oauth(host: NetworkHost, clients: ClientRegistry) -> OAuthProvider:
        return ToyOAuth(api_url)

    def sender(host: NetworkHost) -> ToySender:
        # The address the merchant set in the console, when there is one.
        return ToySender(host.network_settings(ToySettings).toy_api_url or api_url)

    return NetworkAdapter(
        name=NAME,
        display_name="Toy",
        decoders={FORMAT: decode},
        # Its first key says it all, so it may go before every other network's rules.
        sniffs=(Sniff(5, FORMAT, lambda head, line: head.startswith(b'{"toy":')),),
        settings=SETTINGS,
        sender=sender,
        oauth=oauth,
        sign_in_asks=SignInAsks("handle", "Your toy name", "ana"),
        webhook=ToyWebhook(),
        post_url=lambda post_id, author_id, handle: f"{api_url}/posts/{post_id}",
    )


class ToyNetworkServer:
    """The toy network's API, as a Starlette app to serve on loopback: it keeps the
    replies it was asked to post."""

    def __init__(self) -> None:
        self.replies: list[Mapping[str, Any]] = []
        self.app = Starlette(routes=[Route("/replies", self._reply, methods=["POST"])])

    async def _reply(self, request: Request) -> JSONResponse:
        self.replies.append(await request.json())
        return JSONResponse({"id": f"reply-{len(self.replies)}"}, status_code=201)
