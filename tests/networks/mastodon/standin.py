"""A Mastodon server stand-in on loopback, built from recorded real answers.

The recordings are Mastodon.py's VCR cassettes (../shared/fixtures/mastodon, MIT, recorded
against a real Mastodon 4.6.4): the instance document, a real reply POST's answer, real
mention notifications, a real tag timeline and a real server-sent-event body. The stand-in
serves the endpoints hashcart calls the way Mastodon does (min_id paging newest first,
`Idempotency-Key`, `{"error": ...}` answers with rate-limit headers), with the shop's own
statuses made by editing the recorded entities (same field set, our ids, text and links).
Its streams follow scripts, one per connection: events, hooks that change the server's
state (posts made while the client is away), a disconnect, a refusal, or silence.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.loopback import LiveServer

TOKEN = "shop-access-token"
SHOP_URI = "https://social.example/users/trailhead"
SHOP_ACCT = "trailhead"


# --- the recordings ------------------------------------------------------------------


def interactions(fixtures: Path, cassette: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((fixtures / "mastodon" / cassette).read_text())
    found: list[dict[str, Any]] = data["interactions"]
    return found


def recorded(fixtures: Path, cassette: str, method: str, path: str, nth: int = 0) -> str:
    """The body of the `nth` recorded answer to `method` on a URI containing `path`."""
    matches = [
        item["response"]["body"]["string"]
        for item in interactions(fixtures, cassette)
        if item["request"]["method"] == method and path in item["request"]["uri"]
    ]
    body: str = matches[nth]
    return body


@dataclass(frozen=True)
class Recordings:
    instance: dict[str, Any]  # GET /api/v2/instance
    reply: dict[str, Any]  # POST /api/v1/statuses with in_reply_to_id: the answer
    notification: dict[str, Any]  # a mention from GET /api/v1/notifications
    sse_body: str  # GET /api/v1/streaming/user: `:)` then `event: update` / `data:`

    @classmethod
    def load(cls, fixtures: Path) -> Recordings:
        instance = json.loads(recorded(fixtures, "test_hashtag_tl.yaml", "GET", "/api/v2/instance"))
        reply = json.loads(recorded(fixtures, "test_status_reply.yaml", "POST", "statuses", 1))
        notifications = json.loads(
            recorded(fixtures, "test_notifications_mentions_only.yaml", "GET", "notifications?")
        )
        sse = recorded(fixtures, "test_stream_user_local.yaml", "GET", "/streaming/user")
        return cls(instance, reply, notifications[0], sse)


def snowflake(moment: datetime, sequence: int = 0) -> str:
    """A status id as Mastodon makes them: milliseconds since the epoch << 16 | sequence."""
    return str((int(moment.timestamp() * 1000) << 16) | sequence)


def status_like(
    template: dict[str, Any],
    status_id: str,
    content: str,
    *,
    account_uri: str,
    acct: str,
    created_at: datetime,
    reply_to: str | None = None,
    tags: tuple[str, ...] = (),
    visibility: str = "public",
) -> dict[str, Any]:
    """A recorded Status with our id, author, text, tags and reply reference."""
    status = copy.deepcopy(template)
    host = "https://social.example"
    status.update(
        id=status_id,
        created_at=created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        in_reply_to_id=reply_to,
        in_reply_to_account_id="1" if reply_to else None,
        visibility=visibility,
        uri=f"{account_uri}/statuses/{status_id}",
        url=f"{host}/@{acct}/{status_id}",
        content=content,
        tags=[{"name": tag, "url": f"{host}/tags/{tag}"} for tag in tags],
        card=None,
    )
    account = status["account"]
    username = acct.split("@")[0]
    account.update(id=str(zlib.crc32(account_uri.encode())), username=username, acct=acct)
    account.update(uri=account_uri, url=f"{host}/@{acct}")
    return status


def notification_like(
    template: dict[str, Any], notification_id: str, status: dict[str, Any]
) -> dict[str, Any]:
    """A recorded mention Notification carrying `status`."""
    notification = copy.deepcopy(template)
    notification.update(
        id=notification_id,
        group_key=f"ungrouped-{notification_id}",
        created_at=status["created_at"],
        account=copy.deepcopy(status["account"]),
        status=status,
    )
    return notification


def sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


# --- stream scripts --------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Write these bytes of the event stream (events, heartbeats)."""

    text: str


@dataclass(frozen=True)
class Do:
    """Change the server's state: before the stream opens when it leads the script (posts
    made while the client was away), else at this point of the stream."""

    action: Callable[[], None]


@dataclass(frozen=True)
class Refuse:
    """Answer the connection with an error instead of a stream (first step only)."""

    status: int
    error: str


@dataclass(frozen=True)
class Hold:
    """Keep the stream open, with a heartbeat now and then, until the client leaves."""


@dataclass(frozen=True)
class Silent:
    """Keep the stream open and send nothing at all (a stalled proxy)."""


Step = Send | Do | Refuse | Hold | Silent


# --- the server ------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    port: int


@dataclass
class Answer:
    """A scripted answer to the next matching request: an error, or (for a post) create the
    status and then fail, as when a proxy times out after the server did the work."""

    status: int
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    create_first: bool = False


HEARTBEAT_EVERY = 0.05  # the stand-in's heartbeat pace while holding a stream open


class MastodonStandIn:
    def __init__(self, recordings: Recordings) -> None:
        self.recordings = recordings
        self.lock = threading.Lock()
        self.statuses: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        # Ids of notifications the shop account's notification policy filtered: listed only
        # to `include_filtered=true` (methods/notifications.md, 4.3).
        self.filtered: set[str] = set()
        # Ids (on this server) of the accounts that follow the shop's account.
        self.followers: set[str] = set()
        self.relationship_answers: list[Answer] = []
        # Accounts `GET /api/v1/accounts/lookup` says are gone: acct -> "deleted" (404) or
        # "suspended" (`suspended: true`), or an error answer; every other is a live account.
        self.gone_accounts: dict[str, str | Answer] = {}
        self.tag_timelines: dict[str, list[dict[str, Any]]] = {}
        self.posted: list[dict[str, Any]] = []
        self.idempotency: dict[str, str] = {}
        self.seen: list[Seen] = []
        self.post_answers: list[Answer] = []
        self.get_answers: list[Answer] = []
        self.scripts: dict[str, list[list[Step]]] = {}
        self.connections: dict[str, int] = {}
        self.streaming_url = ""  # set once the streaming server listens
        # What GET /api/v2/instance says of `configuration.statuses.max_characters` (None:
        # the recorded server's own), or its whole answer (a hostile server's).
        self.max_characters: Any = None
        self.instance_answer: Answer | bytes | None = None
        self._next_id = 900_000
        self.app = Starlette(
            routes=[
                Route("/api/v2/instance", self._instance),
                Route("/api/v1/statuses/{status_id}", self._status),
                Route("/api/v1/statuses/{status_id}/context", self._context),
                Route("/api/v1/accounts/verify_credentials", self._verify_credentials),
                Route("/api/v1/accounts/relationships", self._relationships),
                Route("/api/v1/accounts/lookup", self._lookup),
                Route("/api/v1/statuses", self._post_status, methods=["POST"]),
                Route("/api/v1/notifications", self._notifications),
                Route("/api/v1/timelines/tag/{tag}", self._tag_timeline),
                Route("/api/v1/streaming/user/notification", self._stream),
                Route("/api/v1/streaming/hashtag", self._stream),
            ]
        )

    # test-side helpers ------------------------------------------------------------------

    def add_status(self, status: dict[str, Any]) -> None:
        with self.lock:
            self.statuses[status["id"]] = status
            for tag in status["tags"]:
                self.tag_timelines.setdefault(tag["name"].lower(), []).append(status)

    def add_notification(self, notification: dict[str, Any], *, filtered: bool = False) -> None:
        with self.lock:
            self.notifications.append(notification)
            if filtered:
                self.filtered.add(notification["id"])

    def script(self, stream: str, *connections: list[Step]) -> None:
        """`stream`: "notification" or "hashtag:<tag>"; one list of steps a connection."""
        with self.lock:
            self.scripts.setdefault(stream, []).extend(connections)

    def requests(self, path: str, method: str = "GET") -> list[Seen]:
        with self.lock:
            return [seen for seen in self.seen if seen.path == path and seen.method == method]

    # endpoints --------------------------------------------------------------------------

    async def _record(self, request: Request) -> bytes:
        body = await request.body()
        with self.lock:
            self.seen.append(
                Seen(
                    request.method,
                    request.url.path,
                    list(request.query_params.multi_items()),
                    dict(request.headers),
                    body,
                    request.url.port or 0,
                )
            )
        return body

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, "The access token is invalid")
        return None

    async def _instance(self, request: Request) -> Response:
        await self._record(request)
        if isinstance(self.instance_answer, Answer):
            answer = self.instance_answer
            return _error(answer.status, answer.error, answer.headers)
        if isinstance(self.instance_answer, bytes):
            return Response(self.instance_answer, media_type="application/json")
        instance = copy.deepcopy(self.recordings.instance)
        instance["configuration"]["urls"]["streaming"] = self.streaming_url
        if self.max_characters is not None:
            instance["configuration"]["statuses"]["max_characters"] = self.max_characters
        return JSONResponse(instance)

    async def _status(self, request: Request) -> Response:
        await self._record(request)
        if (refused := self._unauthorized(request)) is not None:
            return refused
        with self.lock:
            answer = self.get_answers.pop(0) if self.get_answers else None
            status = self.statuses.get(request.path_params["status_id"])
        if answer is not None:
            return _error(answer.status, answer.error, answer.headers)
        if status is None:
            return _error(404, "Record not found")
        return JSONResponse(status, headers=_RATE_OK)

    async def _post_status(self, request: Request) -> Response:
        body = await self._record(request)
        if (refused := self._unauthorized(request)) is not None:
            return refused
        fields = json.loads(body)
        key = request.headers.get("idempotency-key")
        with self.lock:
            if key is not None and key in self.idempotency:
                return JSONResponse(self.statuses[self.idempotency[key]], headers=_RATE_OK)
            answer = self.post_answers.pop(0) if self.post_answers else None
            if answer is not None and not answer.create_first:
                return _error(answer.status, answer.error, answer.headers)
            status = self._create(fields)
            if key is not None:
                self.idempotency[key] = status["id"]
        if answer is not None:
            return _error(answer.status, answer.error, answer.headers)
        return JSONResponse(status, headers=_RATE_OK)

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A posted status: the recorded reply answer with this post's fields."""
        self._next_id += 1
        status = copy.deepcopy(self.recordings.reply)
        status.update(
            id=str(self._next_id),
            in_reply_to_id=fields.get("in_reply_to_id"),
            visibility=fields.get("visibility", "public"),
            content=f"<p>{fields['status']}</p>",
        )
        self.statuses[status["id"]] = status
        self.posted.append(status)
        return status

    async def _context(self, request: Request) -> Response:
        """The statuses answering one (Mastodon's `descendants`; `ancestors` left empty)."""
        await self._record(request)
        if (refused := self._unauthorized(request)) is not None:
            return refused
        status_id = request.path_params["status_id"]
        with self.lock:
            if status_id not in self.statuses:
                return _error(404, "Record not found")
            answers = [s for s in self.statuses.values() if s.get("in_reply_to_id") == status_id]
        return JSONResponse({"ancestors": [], "descendants": answers}, headers=_RATE_OK)

    async def _verify_credentials(self, request: Request) -> Response:
        """The shop's own account: the author of everything posted here (the recording's)."""
        await self._record(request)
        if (refused := self._unauthorized(request)) is not None:
            return refused
        return JSONResponse(self.recordings.reply["account"], headers=_RATE_OK)

    async def _lookup(self, request: Request) -> Response:
        """`GET /api/v1/accounts/lookup?acct=` (methods/accounts.md#lookup): the recorded
        reply's Account with this acct and its URI; 404 "Record not found" for a deleted
        one, `suspended: true` for a suspended one (entities/Account.md#suspended)."""
        await self._record(request)
        if (refused := self._unauthorized(request)) is not None:
            return refused
        acct = request.query_params.get("acct", "")
        user, _, domain = acct.partition("@")
        with self.lock:
            state = self.gone_accounts.get(acct)
        if isinstance(state, Answer):
            return _error(state.status, state.error, state.headers)
        if state == "deleted":
            return _error(404, "Record not found")
        account = copy.deepcopy(self.recordings.reply["account"])
        uri = f"https://{domain or 'social.example'}/users/{user}"
        account.update(id=str(zlib.crc32(uri.encode())), acct=acct, username=user, uri=uri)
        if state == "suspended":
            account["suspended"] = True
        return JSONResponse(account, headers=_RATE_OK)

    async def _relationships(self, request: Request) -> Response:
        """`GET /api/v1/accounts/relationships?id[]=`: one Relationship an id, in the
        documented sample's shape (methods/accounts.md), `followed_by` from `followers`."""
        await self._record(request)
        if (refused := self._unauthorized(request)) is not None:
            return refused
        with self.lock:
            if self.relationship_answers:
                scripted = self.relationship_answers.pop(0)
                return _error(scripted.status, scripted.error, scripted.headers)
            answer = [
                {**RELATIONSHIP_SAMPLE, "id": account, "followed_by": account in self.followers}
                for account in request.query_params.getlist("id[]")
            ]
        return JSONResponse(answer, headers=_RATE_OK)

    async def _notifications(self, request: Request) -> Response:
        await self._record(request)
        if (refused := self._unauthorized(request)) is not None:
            return refused
        types = request.query_params.getlist("types[]")
        # Rails reads "true", "1", "t", "on" as true; hashcart sends "true".
        with_filtered = request.query_params.get("include_filtered") in ("true", "1", "t", "on")
        with self.lock:
            found = [
                n
                for n in self.notifications
                if (not types or n["type"] in types)
                and (with_filtered or n["id"] not in self.filtered)
            ]
        return _page(found, request)

    async def _tag_timeline(self, request: Request) -> Response:
        await self._record(request)
        with self.lock:
            found = list(self.tag_timelines.get(request.path_params["tag"].lower(), []))
        return _page(found, request)

    async def _stream(self, request: Request) -> Response:
        await self._record(request)
        if (refused := self._unauthorized(request)) is not None:
            return refused
        name = "notification"
        if request.url.path.endswith("/hashtag"):
            name = "hashtag:" + request.query_params.get("tag", "").lower()
        with self.lock:
            self.connections[name] = self.connections.get(name, 0) + 1
            queued = self.scripts.get(name, [])
            steps = queued.pop(0) if queued else [Hold()]
        if steps and isinstance(steps[0], Refuse):
            return _error(steps[0].status, steps[0].error)
        # Leading changes happen before the stream opens: posts made while the client was
        # away, which its catch-up must find.
        while steps and isinstance(first := steps[0], Do):
            steps.pop(0)
            first.action()
        return StreamingResponse(
            _play(steps, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "private, no-store", "X-Powered-By": "Express"},
        )


# Recorded from the real server (test_status_reply.yaml): a fresh window's headers.
_RATE_OK = {
    "x-ratelimit-limit": "300",
    "x-ratelimit-remaining": "278",
    "x-ratelimit-reset": "2026-08-01T15:00:00.949067Z",
}


# The second Relationship of the sample answer in methods/accounts.md ("Check relationships
# to other accounts", mastodon/documentation 2903485), verbatim; the stand-in sets `id` and
# `followed_by`.
RELATIONSHIP_SAMPLE: dict[str, Any] = {
    "id": "2",
    "following": False,
    "showing_reblogs": False,
    "notifying": False,
    "followed_by": False,
    "blocking": False,
    "blocked_by": False,
    "muting": False,
    "muting_notifications": False,
    "muting_expires_at": "2026-02-12T13:45:25Z",
    "requested": False,
    "domain_blocking": False,
    "endorsed": False,
}


def _error(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _order(item: dict[str, Any]) -> int:
    return int(item["id"])


def _page(items: list[dict[str, Any]], request: Request) -> Response:
    """Mastodon's paging: newest first; `min_id` gives the page right after it, `since_id`
    the newest page after it, neither the newest page."""
    limit = int(request.query_params.get("limit", "20"))
    items = sorted(items, key=_order)
    if (min_id := request.query_params.get("min_id")) is not None:
        page = [item for item in items if int(item["id"]) > int(min_id)][:limit]
    else:
        since = int(request.query_params.get("since_id", "0"))
        page = [item for item in items if int(item["id"]) > since][-limit:]
    return JSONResponse(list(reversed(page)), headers=_RATE_OK)


async def _play(steps: list[Step], request: Request) -> AsyncIterator[str]:
    for step in steps:
        if isinstance(step, Send):
            yield step.text
        elif isinstance(step, Do):
            step.action()
        elif isinstance(step, Hold):
            while not await request.is_disconnected():
                yield ":thump\n"
                await asyncio.sleep(HEARTBEAT_EVERY)
            return
        elif isinstance(step, Silent):
            while not await request.is_disconnected():
                await asyncio.sleep(HEARTBEAT_EVERY)
            return


@contextmanager
def serving(stand_in: MastodonStandIn) -> Iterator[tuple[LiveServer, LiveServer]]:
    """The stand-in on two ports, like Mastodon's web (3000) and streaming (4000) servers;
    the instance document names the second as `configuration.urls.streaming`."""
    with LiveServer(stand_in.app) as api, LiveServer(stand_in.app) as streaming:
        stand_in.streaming_url = streaming.ws_url
        yield api, streaming
