"""Bluesky direct messages: the chat service, reached through the shop's own PDS.

The chat service (`chat.bsky.convo.*`) is not on the PDS. The PDS forwards a call to it when
the call names it in the `atproto-proxy` header (atproto-website specs/xrpc, "Service
Proxying": a service DID, `#`, the service id), signing it for the shop's account. It does so
only for a session allowed to use privileged methods: an app password made with "Allow access
to your direct messages" (bluesky-social/atproto packages/pds/src/pipethrough.ts,
PRIVILEGED_METHODS; any other token gets HTTP 400 `InvalidToken` "Bad token method").

A message is two calls (lexicons/chat/bsky/convo/getConvoForMembers.json, sendMessage.json):
the 1-1 conversation with the shopper (got or created), then the message into it. A shopper
who does not take messages from the shop (their chat setting, a block) is a documented error
of getConvoForMembers; those, like a token without DM access, are `ChatRefused`: the message
cannot go this way, the dispatcher emails it instead.

The chat service has no idempotency key, so before sending again after an attempt whose end is
unknown, the conversation's newest messages are read (lexicons/chat/bsky/convo/getMessages.json)
and a message of ours with the same text counts as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hashcart.networks.bluesky.session import Session
from hashcart.networks.bluesky.xrpc import BlueskyError, BlueskyUnreachable, Xrpc, XrpcError

# The Bluesky chat service's DID and service id, as the PDS proxy header names it.
CHAT_SERVICE = "did:web:api.bsky.chat#bsky_chat"
PROXY_HEADER = "atproto-proxy"
_PROXY = {PROXY_HEADER: CHAT_SERVICE}

# getConvoForMembers' documented errors that mean "not to this shopper, not by chat";
# sendMessage's that mean the conversation cannot take a message (ConvoLocked, InvalidConvo).
RECIPIENT_REFUSALS = frozenset(
    {
        "MessagesDisabled",
        "NotFollowedBySender",
        "BlockedActor",
        "BlockedSubject",
        "RecipientNotFound",
        "AccountSuspended",
        "ConvoLocked",
        "InvalidConvo",
    }
)
# How many of the conversation's newest messages are looked through for an earlier send.
RECENT_MESSAGES = "50"


class ChatRefused(BlueskyError):
    """The message cannot go by Bluesky chat (the shopper takes no messages from the shop,
    or the shop's app password has no DM access): asking again will not help."""


class ShopChat:
    """The shop's side of 1-1 conversations with shoppers, through its PDS."""

    def __init__(self, xrpc: Xrpc) -> None:
        self.xrpc = xrpc

    def conversation(self, session: Session, shopper: str) -> str:
        """The id of the 1-1 conversation with the shopper's DID (created when new). Raises
        ChatRefused, XrpcError (the session's token, rate limits, outages) or
        BlueskyUnreachable."""
        answer = self._call(
            session, "query", "chat.bsky.convo.getConvoForMembers", [("members", shopper)]
        )
        convo = answer.get("convo")
        convo_id = convo.get("id") if isinstance(convo, dict) else None
        if not isinstance(convo_id, str) or not convo_id:
            raise BlueskyUnreachable("the chat service answered a conversation without its id")
        return convo_id

    def send(self, session: Session, convo_id: str, text: str) -> str:
        """Send `text` into the conversation; the message's id."""
        answer = self._call(
            session,
            "procedure",
            "chat.bsky.convo.sendMessage",
            {"convoId": convo_id, "message": {"text": text}},
        )
        message_id = answer.get("id")
        return message_id if isinstance(message_id, str) else ""

    def sent_before(self, session: Session, convo_id: str, text: str) -> str | None:
        """The id of a message of ours with this text among the conversation's newest, if any
        (an earlier attempt sent it and lost the answer)."""
        answer = self._call(
            session,
            "query",
            "chat.bsky.convo.getMessages",
            {"convoId": convo_id, "limit": RECENT_MESSAGES},
        )
        for message in answer.get("messages") or ():
            if not isinstance(message, dict):
                continue
            sender = message.get("sender")
            if (
                isinstance(sender, dict)
                and sender.get("did") == session.did
                and message.get("text") == text
                and isinstance(message.get("id"), str)
            ):
                return str(message["id"])
        return None

    def _call(self, session: Session, kind: str, nsid: str, payload: Any) -> dict[str, Any]:
        try:
            if kind == "query":
                return self.xrpc.query(
                    session.service,
                    nsid,
                    payload,
                    token=session.access_jwt,
                    dpop=session.dpop,
                    headers=_PROXY,
                )
            body: Mapping[str, Any] = payload
            return self.xrpc.procedure(
                session.service,
                nsid,
                body,
                token=session.access_jwt,
                dpop=session.dpop,
                headers=_PROXY,
            )
        except XrpcError as error:
            if error.error in RECIPIENT_REFUSALS:
                raise ChatRefused(
                    f"the shopper does not take Bluesky messages from the shop ({error.error})"
                ) from None
            if error.error == "InvalidToken" and "method" in error.message.lower():
                raise ChatRefused(
                    "the shop's app password has no access to direct messages (make one with "
                    '"Allow access to your direct messages")'
                ) from None
            raise
