"""Sending the outbox's Bluesky replies: a post in the shop's repository, in the shopper's
thread, written under a record key derived from the message's dedupe key.

The key is what makes a send exactly-once: a retry after a crash writes to the same key, and
the PDS holds one record per key (it refuses the second create, with an error or a 500), so
whenever a create fails we look for the record at our key before saying it did not go.

Private messages go through Bluesky chat (networks/bluesky/chat). Where chat cannot take
them (the shopper takes no messages from the shop, the app password has no DM access) they
fail for good with the reason, and the dispatcher emails the shopper instead
(outbox/fallback).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hashcart.networks.bluesky.chat import ChatRefused, ShopChat
from hashcart.networks.bluesky.identity import IdentityNotFound, IdentityResolver
from hashcart.networks.bluesky.records import POST_COLLECTION, AtUri, RecordReader
from hashcart.networks.bluesky.session import LoginRefused, Session, ShopSessions
from hashcart.networks.bluesky.tid import tid_for
from hashcart.networks.bluesky.xrpc import BlueskyUnreachable, Xrpc, XrpcError
from hashcart.ports import OutboxItem, SendFailed, Sent

log = logging.getLogger(__name__)

# What a PDS says when the access token is no good (expired, revoked, malformed).
_AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired"})
_LEADING_MENTION = re.compile(r"@([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])")
_URL = re.compile(r"https?://[^\s<>\"']+")
_URL_TRAILER = ".,;:!?)]}'\""


@dataclass(frozen=True)
class _Thread:
    root: dict[str, str]
    parent: dict[str, str]


class BlueskySender:
    network = "bluesky"

    def __init__(
        self,
        session: ShopSessions,
        records: RecordReader,
        identity: IdentityResolver,
        xrpc: Xrpc,
    ) -> None:
        self.session = session
        self.records = records
        self.identity = identity
        self.xrpc = xrpc
        self.chat = ShopChat(xrpc)

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        if item.channel == "private":
            return self._message(item, now)
        if item.channel != "reply":
            raise SendFailed(f"not a Bluesky message (channel {item.channel})", permanent=True)
        trigger = AtUri.parse(item.in_reply_to)
        if trigger is None:
            raise SendFailed(f"{item.in_reply_to!r} is not a post to reply to", permanent=True)
        session = self._session()
        rkey = tid_for(item.dedupe_key)
        if item.attempts or item.attempt_started_at is not None:
            # An earlier attempt may have written the record and lost the answer.
            try:
                existing = self._written(session, rkey)
            except BlueskyUnreachable as error:
                raise SendFailed(f"Bluesky did not answer: {error}", permanent=False) from None
            if existing is not None:
                return Sent(existing)
        thread = self._thread(trigger)
        record = _post_record(item.text, thread, now, self._facets(item.text, session))
        outcome = self._attempt(session, rkey, record)
        renewed = False
        if isinstance(outcome, XrpcError) and _is_auth_error(outcome):
            session, renewed = self._renewed(session), True
            outcome = self._attempt(session, rkey, record)
        if isinstance(outcome, Sent):
            return outcome
        written = self._written_quietly(session, rkey)
        if written is not None:
            return Sent(written)  # a repeat the PDS refused: the record is there
        raise _failure(outcome, now, after_renewal=renewed)

    def _message(self, item: OutboxItem, now: datetime) -> Sent:
        """A direct message to the shopper's DID through Bluesky chat; once more with a
        renewed session if the PDS refused the access token."""
        session = self._session()
        try:
            try:
                return self._chat(session, item)
            except XrpcError as error:
                if not _is_auth_error(error):
                    raise
                return self._chat(self._renewed(session), item)
        except ChatRefused as refused:
            raise SendFailed(str(refused), permanent=True) from None
        except XrpcError as error:
            raise _failure(error, now, after_renewal=True, what="message") from None
        except BlueskyUnreachable as error:
            raise SendFailed(f"Bluesky chat did not answer: {error}", permanent=False) from None

    def _chat(self, session: Session, item: OutboxItem) -> Sent:
        convo = self.chat.conversation(session, item.account_id)
        if item.attempts or item.attempt_started_at is not None:
            earlier = self.chat.sent_before(session, convo, item.text)
            if earlier is not None:
                return Sent(earlier)
        return Sent(self.chat.send(session, convo, item.text) or None)

    def _attempt(self, session: Session, rkey: str, record: dict[str, Any]) -> Sent | XrpcError:
        """One createRecord: Sent, or the PDS's refusal; no answer at all is a temporary
        failure unless the record turns out to be there."""
        try:
            answer = self.xrpc.procedure(
                session.service,
                "com.atproto.repo.createRecord",
                {
                    "repo": session.did,
                    "collection": POST_COLLECTION,
                    "rkey": rkey,
                    "record": record,
                },
                token=session.access_jwt,
                dpop=session.dpop,
            )
        except XrpcError as error:
            return error
        except BlueskyUnreachable as error:
            written = self._written_quietly(session, rkey)
            if written is not None:
                return Sent(written)
            raise SendFailed(f"Bluesky did not answer: {error}", permanent=False) from None
        uri = answer.get("uri")
        return Sent(uri if isinstance(uri, str) else _uri(session, rkey))

    def _session(self) -> Session:
        try:
            return self.session.current()
        except LoginRefused as error:
            raise SendFailed(str(error), permanent=True) from None
        except XrpcError as error:
            raise SendFailed(
                f"Bluesky refused the login: {error}",
                permanent=not (error.rate_limited or error.status >= 500),
                retry_at=error.retry_at(self.session.clock.now()),
            ) from None
        except BlueskyUnreachable as error:
            raise SendFailed(f"Bluesky did not answer: {error}", permanent=False) from None

    def _renewed(self, stale: Session) -> Session:
        try:
            return self.session.renew(stale)
        except LoginRefused as error:
            raise SendFailed(str(error), permanent=True) from None
        except (XrpcError, BlueskyUnreachable) as error:
            raise SendFailed(
                f"Bluesky session could not be renewed: {error}", permanent=False
            ) from None

    def _thread(self, trigger: AtUri) -> _Thread:
        """The reply refs: parent = the shopper's trigger (its current CID, from its
        author's PDS); root = the trigger's own root, or the trigger when it starts a thread."""
        try:
            record = self.records.get(trigger)
        except BlueskyUnreachable as error:
            raise SendFailed(
                f"the post to answer could not be read: {error}", permanent=False
            ) from None
        if record is None:
            raise SendFailed("the post to answer no longer exists", permanent=True)
        parent = {"uri": record.uri, "cid": record.cid}
        reply = record.value.get("reply")
        root = reply.get("root") if isinstance(reply, dict) else None
        if (
            isinstance(root, dict)
            and isinstance(root.get("uri"), str)
            and isinstance(root.get("cid"), str)
        ):
            return _Thread(root={"uri": root["uri"], "cid": root["cid"]}, parent=parent)
        return _Thread(root=parent, parent=parent)

    def _written(self, session: Session, rkey: str) -> str | None:
        """The AT-URI of our record at `rkey`, if the shop's repository holds one."""
        uri = AtUri(session.did, POST_COLLECTION, rkey)
        try:
            answer = self.xrpc.query(
                session.service,
                "com.atproto.repo.getRecord",
                {"repo": uri.repo, "collection": uri.collection, "rkey": uri.rkey},
            )
        except XrpcError as error:
            if error.rate_limited or error.status >= 500:
                raise BlueskyUnreachable(str(error)) from None
            return None
        return str(answer.get("uri") or uri)

    def _written_quietly(self, session: Session, rkey: str) -> str | None:
        try:
            return self._written(session, rkey)
        except BlueskyUnreachable:
            return None

    def _facets(self, text: str, session: Session) -> list[dict[str, Any]]:
        """Rich-text facets (UTF-8 byte ranges): the leading @mention, when its handle
        resolves, and every http(s) link, so both are live in the app."""
        facets: list[dict[str, Any]] = []
        mention = _LEADING_MENTION.match(text)
        if mention is not None:
            try:
                did = self.identity.did_of_handle(mention.group(1), session.service)
            except (IdentityNotFound, BlueskyUnreachable, XrpcError):
                did = None
            if did is not None:
                facets.append(_facet(text, mention.span(), {"did": did}, "mention"))
        for match in _URL.finditer(text):
            url = match.group(0).rstrip(_URL_TRAILER)
            start = match.start()
            facets.append(_facet(text, (start, start + len(url)), {"uri": url}, "link"))
        return facets


def _failure(
    error: XrpcError, now: datetime, *, after_renewal: bool, what: str = "reply"
) -> SendFailed:
    """What a refused create means when no record was written: temporary when the PDS is
    busy or rate-limits us (not before its reset time), permanent otherwise."""
    if error.rate_limited or error.status >= 500:
        return SendFailed(f"Bluesky: {error}", permanent=False, retry_at=error.retry_at(now))
    if _is_auth_error(error):
        reason = "Bluesky refused the shop's session"
        return SendFailed(
            f"{reason} even after renewing it: {error}" if after_renewal else reason, permanent=True
        )
    return SendFailed(f"Bluesky refused the {what}: {error}", permanent=True)


def _is_auth_error(error: XrpcError) -> bool:
    return error.status == 401 or error.error in _AUTH_ERRORS


def _uri(session: Session, rkey: str) -> str:
    return str(AtUri(session.did, POST_COLLECTION, rkey))


def _facet(text: str, span: tuple[int, int], value: dict[str, str], kind: str) -> dict[str, Any]:
    start = len(text[: span[0]].encode())
    end = start + len(text[span[0] : span[1]].encode())
    feature = {"$type": f"app.bsky.richtext.facet#{kind}", **value}
    return {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}


def _post_record(
    text: str, thread: _Thread, now: datetime, facets: list[dict[str, Any]]
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "$type": POST_COLLECTION,
        "text": text,
        "createdAt": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "reply": {"root": thread.root, "parent": thread.parent},
    }
    if facets:
        record["facets"] = facets
    return record
