"""Private messages through Bluesky chat, against a loopback stand-in of the shop's PDS that
answers the chat calls it would proxy (the chat service is not part of the local network of
tests/peers/bluesky).

The stand-in answers in the lexicons' documented shapes (bluesky-social/atproto
lexicons/chat/bsky/convo/getConvoForMembers.json -> `{"convo": convoView}`, sendMessage.json
-> messageView, getMessages.json -> `{"messages": [messageView…]}`, convoView and messageView
in lexicons/chat/bsky/convo/defs.json); the errors carry the names those lexicons document
(`MessagesDisabled`, `NotFollowedBySender`), as XRPC error bodies with HTTP 400 (atproto-website
specs/xrpc). Their `message` texts are constructed here; the PDS's refusal of a token without
DM access ("Bad token method", `InvalidToken`) is the text of bluesky-social/atproto
packages/pds/src/pipethrough.ts. The proxy header is atproto-website specs/xrpc, "Service
Proxying"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hashcart.domain.posts import Network
from hashcart.networks.bluesky import wiring
from hashcart.networks.bluesky.chat import CHAT_SERVICE
from hashcart.networks.bluesky.send import BlueskySender
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.outbox.email import EmailSender
from hashcart.outbox.senders import OutboxItem, Sender, SendFailed, Sent
from tests.harness import Shop
from tests.loopback import LiveServer
from tests.networks.bluesky.conftest import TOKEN_KEY
from tests.outbox.support import queue_replies, row
from tests.smtp_support import SMTPServer, smtp_server

__all__ = ["smtp_server"]  # a fixture, used by name

SHOP_DID = "did:plc:northwindaaaaaaaaaaaaaaa"
ADA = "did:plc:adaaaaaaaaaaaaaaaaaaaaaa"
CONVO = "3lcnvo2ada001"


@dataclass
class Call:
    nsid: str
    method: str
    proxy: str | None
    authorization: str | None
    query: list[tuple[str, str]]
    body: Any


@dataclass
class ChatPds:
    """The shop's PDS: logs the shop in, and answers the chat calls it would proxy.
    `refusals[nsid]` lists (status, error, message) answers calls get in turn."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    refusals: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/xrpc/{nsid}", self.xrpc, methods=["GET", "POST"])])

    def chat_calls(self) -> list[Call]:
        return [call for call in self.calls if call.nsid.startswith("chat.")]

    async def xrpc(self, request: Request) -> Response:
        nsid = request.path_params["nsid"]
        raw = await request.body()
        self.calls.append(
            Call(
                nsid,
                request.method,
                request.headers.get("atproto-proxy"),
                request.headers.get("authorization"),
                list(request.query_params.multi_items()),
                json.loads(raw) if raw else None,
            )
        )
        scripted = self.refusals.get(nsid)
        if scripted:
            status, error, message = scripted.pop(0)
            return JSONResponse({"error": error, "message": message}, status_code=status)
        if nsid in ("com.atproto.server.createSession", "com.atproto.server.refreshSession"):
            return JSONResponse(
                {
                    "did": SHOP_DID,
                    "handle": "northwind.test",
                    "accessJwt": f"access-{len(self.calls)}",
                    "refreshJwt": "refresh",
                    "active": True,
                }
            )
        if nsid == "chat.bsky.convo.getConvoForMembers":
            members = [value for name, value in request.query_params.multi_items()]
            return JSONResponse(
                {
                    "convo": {
                        "id": CONVO,
                        "rev": "3lcnvorev0001",
                        "members": [
                            {"did": SHOP_DID, "handle": "northwind.test"},
                            *({"did": did, "handle": "ada.test"} for did in members),
                        ],
                        "muted": False,
                        "unreadCount": 0,
                    }
                }
            )
        if nsid == "chat.bsky.convo.sendMessage":
            message = {
                "$type": "chat.bsky.convo.defs#messageView",
                "id": f"msg{len(self.messages) + 1}",
                "rev": "3lcnvorev0002",
                "text": json.loads(raw)["message"]["text"],
                "sender": {"did": SHOP_DID},
                "sentAt": "2026-12-05T12:00:00.000Z",
            }
            self.messages.append(message)
            return JSONResponse(message)
        if nsid == "chat.bsky.convo.getMessages":
            return JSONResponse({"messages": list(reversed(self.messages))})
        return JSONResponse({"error": "MethodNotImplemented"}, status_code=501)


@dataclass
class Desk:
    pds: ChatPds
    shop: Shop

    def sender(self) -> BlueskySender:
        sender = wiring.sender(self.shop.app)
        assert isinstance(sender, BlueskySender)
        return sender


def message(**changes: object) -> OutboxItem:
    item = OutboxItem(
        id=1,
        network="bluesky",
        channel="private",
        account_id=ADA,
        in_reply_to="at://did:plc:adaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3madacart001",
        reason="added",
        text="Added Trailhead Enamel Mug to your cart. Pay at https://shop.example/cart",
        subject=None,
        dedupe_key="added:ada",
        attempts=0,
    )
    return replace(item, **changes)  # type: ignore[arg-type]


def shop_on(pds: ChatPds, database_url: str, **settings: Any) -> Shop:
    return Shop(
        database_url,
        token_key=TOKEN_KEY,
        bluesky_pds_url=pds.url,
        bluesky_identifier="northwind.test",
        bluesky_app_password="abcd-efgh-ijkl-mnop",
        **settings,
    )


@pytest.fixture
def pds() -> Iterator[ChatPds]:
    stand_in = ChatPds()
    with LiveServer(stand_in.app()) as server:
        stand_in.url = server.url
        yield stand_in


@pytest.fixture
def desk(pds: ChatPds, tmp_path: Any) -> Desk:
    return Desk(pds, shop_on(pds, f"sqlite:///{tmp_path / 'hashcart.db'}"))


def test_a_private_message_goes_through_the_pds_to_the_chat_service(desk: Desk) -> None:
    sent = desk.sender().send(message(), desk.shop.clock.now())

    assert sent == Sent("msg1")
    get_convo, send = desk.pds.chat_calls()
    for call in (get_convo, send):
        assert call.proxy == CHAT_SERVICE == "did:web:api.bsky.chat#bsky_chat"
        assert call.authorization is not None and call.authorization.startswith("Bearer access-")
    assert (get_convo.method, get_convo.nsid) == ("GET", "chat.bsky.convo.getConvoForMembers")
    assert get_convo.query == [("members", ADA)]
    assert (send.method, send.nsid) == ("POST", "chat.bsky.convo.sendMessage")
    assert send.body == {
        "convoId": CONVO,
        "message": {
            "text": "Added Trailhead Enamel Mug to your cart. Pay at https://shop.example/cart"
        },
    }


@pytest.mark.parametrize("refusal", ["MessagesDisabled", "NotFollowedBySender"])
def test_a_shopper_who_takes_no_messages_from_the_shop_fails_for_good(
    desk: Desk, refusal: str
) -> None:
    desk.pds.refusals["chat.bsky.convo.getConvoForMembers"] = [
        (400, refusal, "recipient does not accept messages from the sender")
    ]

    with pytest.raises(SendFailed) as failed:
        desk.sender().send(message(), desk.shop.clock.now())

    assert failed.value.permanent
    assert failed.value.reason == (
        f"the shopper does not take Bluesky messages from the shop ({refusal})"
    )
    assert [call.nsid for call in desk.pds.chat_calls()] == ["chat.bsky.convo.getConvoForMembers"]


def test_an_app_password_without_dm_access_fails_for_good_without_logging_in_again(
    desk: Desk,
) -> None:
    desk.pds.refusals["chat.bsky.convo.getConvoForMembers"] = [
        (400, "InvalidToken", "Bad token method")
    ]

    with pytest.raises(SendFailed) as failed:
        desk.sender().send(message(), desk.shop.clock.now())

    assert failed.value.permanent
    assert "app password has no access to direct messages" in failed.value.reason
    assert [call.nsid for call in desk.pds.calls] == [
        "com.atproto.server.createSession",
        "chat.bsky.convo.getConvoForMembers",
    ]


def test_an_expired_access_token_is_renewed_once_and_the_message_goes(desk: Desk) -> None:
    desk.pds.refusals["chat.bsky.convo.getConvoForMembers"] = [
        (400, "ExpiredToken", "Token has expired")
    ]

    sent = desk.sender().send(message(), desk.shop.clock.now())

    assert sent == Sent("msg1")
    assert [call.nsid for call in desk.pds.calls] == [
        "com.atproto.server.createSession",
        "chat.bsky.convo.getConvoForMembers",
        "com.atproto.server.refreshSession",
        "chat.bsky.convo.getConvoForMembers",
        "chat.bsky.convo.sendMessage",
    ]


def test_a_rate_limited_message_is_tried_again_later(desk: Desk) -> None:
    desk.pds.refusals["chat.bsky.convo.sendMessage"] = [
        (429, "RateLimitExceeded", "Rate Limit Exceeded")
    ]

    with pytest.raises(SendFailed) as failed:
        desk.sender().send(message(), desk.shop.clock.now())

    assert not failed.value.permanent
    assert desk.pds.messages == []


def test_a_message_an_earlier_attempt_sent_is_not_sent_again(desk: Desk) -> None:
    sender = desk.sender()
    first = sender.send(message(), desk.shop.clock.now())

    # The dispatcher lost the answer (a crash): the next attempt finds the message there.
    again = sender.send(
        message(attempts=1, attempt_started_at=desk.shop.clock.now()), desk.shop.clock.now()
    )

    assert again == first == Sent("msg1")
    assert len(desk.pds.messages) == 1
    assert desk.pds.chat_calls()[-1].nsid == "chat.bsky.convo.getMessages"


def test_a_refused_message_reaches_the_linked_shopper_by_email(
    pds: ChatPds, database_url: str, smtp_server: SMTPServer
) -> None:
    shop = shop_on(
        pds,
        database_url,
        shop_name="Trailhead Coffee",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        mail_from="Trailhead Coffee <shop@trailhead.example>",
    )
    shop.customer("ada@example.com", (Network.BLUESKY, "acct0", "ada.test"))
    queue_replies(shop.app, 1, network=Network.BLUESKY, channel="private")
    pds.refusals["chat.bsky.convo.getConvoForMembers"] = [
        (400, "MessagesDisabled", "recipient has disabled incoming messages")
    ]
    sender = wiring.sender(shop.app)
    assert sender is not None
    senders: dict[str, Sender] = {"bluesky": sender, "email": EmailSender(shop.app.settings)}

    run = dispatch_once(shop.app, senders)

    assert run == DispatchRun(sent=1, failed=1, fell_back_to_email=1)
    failed = row(shop.app, "bluesky:bluesky-post-0:added")
    assert failed.last_error == (
        "the shopper does not take Bluesky messages from the shop (MessagesDisabled)"
    )
    [mail] = smtp_server.messages
    assert mail["To"] == "ada@example.com"
    assert "We could not send you a private message on Bluesky (the shopper does not take" in (
        mail.get_content()
    )
    [getconvo] = pds.chat_calls()
    assert getconvo.query == [("members", "acct0")]
