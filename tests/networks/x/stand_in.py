"""A stand-in for the X API on loopback: the endpoints hashcart calls, answering in the shapes
X answers with (recorded or documented), served by uvicorn through tests.loopback.LiveServer.

Recorded shapes: 201 `{"data": {"id": "1456012973835788293", "text": ...}}` (tweepy cassette
test_client_create_and_delete_tweet.yaml); the 403 duplicate-content problem object
(akrherz/iembot#163); the 200 lookup answer with only `errors` of type resource-not-found and
the 401 problem object (X API v2 error docs); stream rules answers (filtered-stream docs);
`x-rate-limit-*` headers (rate-limits docs). The reply-restriction refusal is written in the
terms of X's 2026 rule (no recording of it is public yet).

Every answer says where it comes from, next to it: "recorded" (a real answer, ids kept or
substituted), "documented" (a sample from docs.x.com, xdevplatform/docs, verbatim or with the
test's ids substituted), or "hand-built: no documented sample for ..." (tests/networks/x/
test_recordings.py holds every answer to saying so).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

APP_BEARER = "app-bearer-AAAA"
CLIENT_ID, CLIENT_SECRET = "client-id-CCCC", "client-secret-DDDD"
USER_TOKEN = "user-token-BBBB"
SHOP_USER_ID = "1250000000000000001"

FIRST_CREATED_ID = 1456012973835788293
# recorded: akrherz/iembot#163, X's 403 to a repeated text.
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
# hand-built: no documented sample for X's 2026 reply-restriction refusal; its detail is
# worded from the rule (docs.x.com, the 2026 reply policy) in the problem format of
# x-api/fundamentals/response-codes-and-errors.
REPLY_RESTRICTED = {
    "detail": (
        "Reply to this conversation is not allowed because you have not been mentioned or "
        "otherwise engaged by the author of the post you are replying to."
    ),
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
# documented: x-api/community-notes/quickstart ({"title": "Unauthorized", "status": 401,
# "detail": "Unauthorized"}), with the generic `type` of response-codes-and-errors.
UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}


def not_found(post_id: str) -> dict[str, Any]:
    # recorded: X API v2's lookup of a missing post (tweepy cassettes), the id substituted;
    # documented alike in x-api/posts/lookup/integrate ("Could not find tweet with id").
    return {
        "errors": [
            {
                "value": post_id,
                "detail": f"Could not find tweet with id: [{post_id}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "id",
                "resource_id": post_id,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }


@dataclass
class Scripted:
    """One answer given instead of the normal one (status, JSON body, headers)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamSession:
    """One connection to the stream: an error answer, or lines then how it ends:
    "disconnect" (the connection drops mid-body), "stall" (nothing more is sent), or
    "hold" (open, sending nothing, until the stand-in is released)."""

    answer: Scripted | None = None
    lines: list[bytes] = field(default_factory=list)
    then: Literal["disconnect", "stall", "hold", "close"] = "hold"
    # X lost the app's rules as this connection came (it then answers 409).
    clears_rules: bool = False


class XStandIn:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self.app = FastAPI()
        self._ids = itertools.count(FIRST_CREATED_ID)
        self.lookup_answers: dict[str, Any] = {}
        self.lookups: list[str] = []
        self.lookup_queries: list[dict[str, str]] = []
        self.lookup_script: deque[Scripted] = deque()
        self.rules: list[dict[str, str | None]] = []
        self.rule_requests: list[dict[str, Any]] = []
        self._rule_ids = itertools.count(1700000000000000001)
        self.create_requests: list[dict[str, Any]] = []
        self.create_script: deque[Scripted] = deque()
        self.timeline: list[dict[str, Any]] = []  # the shop's own posts, oldest first
        self.timeline_requests: list[dict[str, str]] = []
        self.dm_requests: list[tuple[str, dict[str, Any]]] = []
        self.dm_script: deque[Scripted] = deque()
        # The shop's mentions timeline, oldest first (GET /2/users/:id/mentions), with the
        # posts and users its answers expand.
        self.mentions: list[dict[str, Any]] = []
        self.mention_includes: dict[str, Any] = {}
        self.mention_requests: list[dict[str, str]] = []
        self.mention_script: deque[Scripted] = deque()
        # GET /2/users/:id answers, and the ids asked for.
        self.user_answers: dict[str, Any] = {}
        self.user_lookups: list[str] = []
        self.stream_sessions: deque[StreamSession] = deque()
        self.stream_requests: list[dict[str, str]] = []
        self.holding = threading.Event()
        # Lines a test sends down a held connection, as X sends posts and keep-alives later.
        self.pushed: deque[bytes] = deque()
        self.released = False
        # The shop's user token X accepts now, and the refresh token that renews it
        # (X rotates refresh tokens: each works once).
        self.accepted_user_token: str | None = USER_TOKEN
        self.refresh_token = "refresh-token-0"
        self.token_requests: list[dict[str, str]] = []
        self._token_generation = itertools.count(1)
        self._routes()

    # --- helpers for tests ---------------------------------------------------------------

    def shop_reply(self, text: str, in_reply_to: str) -> str:
        """A reply the shop posted earlier (as if before a crash): its id."""
        post_id = str(next(self._ids))
        self.timeline.append(
            {
                "id": post_id,
                "text": text,
                "created_at": self.now().isoformat().replace("+00:00", ".000Z"),
                "edit_history_tweet_ids": [post_id],
                "referenced_tweets": [{"type": "replied_to", "id": in_reply_to}],
            }
        )
        return post_id

    def release(self) -> None:
        self.released = True

    # --- the endpoints -------------------------------------------------------------------

    def _routes(self) -> None:
        app = self.app

        @app.get("/2/tweets/search/stream/rules")
        def get_rules(request: Request) -> Response:
            if not _has(request, APP_BEARER):
                return JSONResponse(UNAUTHORIZED, 401)
            meta = {"sent": self.now().isoformat(), "result_count": len(self.rules)}
            # documented: x-api/posts/filtered-stream/quickstart, "Verify your rules".
            body: dict[str, Any] = {"meta": meta}
            if self.rules:
                body["data"] = self.rules
            return JSONResponse(body)  # documented (above)

        @app.post("/2/tweets/search/stream/rules")
        async def post_rules(request: Request) -> Response:
            if not _has(request, APP_BEARER):
                return JSONResponse(UNAUTHORIZED, 401)
            body = await request.json()
            self.rule_requests.append(body)
            if "delete" in body:
                ids = set(body["delete"]["ids"])
                deleted = [rule for rule in self.rules if rule["id"] in ids]
                self.rules = [rule for rule in self.rules if rule["id"] not in ids]
                summary = {"deleted": len(deleted), "not_deleted": len(ids) - len(deleted)}
                # hand-built: no documented sample for deleting rules (the summary's
                # `deleted`/`not_deleted` as x-api/powerstream/introduction reads them).
                return JSONResponse({"meta": {"sent": "now", "summary": summary}})
            created, errors = [], []
            for rule in body.get("add", []):
                if any(held["value"] == rule["value"] for held in self.rules):
                    # documented: the `duplicate-rules` problem (response-codes-and-errors).
                    errors.append(
                        {
                            "value": rule["value"],
                            "id": next(h["id"] for h in self.rules if h["value"] == rule["value"]),
                            "title": "DuplicateRule",
                            "type": "https://api.twitter.com/2/problems/duplicate-rules",
                        }
                    )
                    continue
                new = {"value": rule["value"], "tag": rule["tag"], "id": str(next(self._rule_ids))}
                self.rules.append(new)
                created.append(new)
            summary = {
                "created": len(created),
                "not_created": len(errors),
                "valid": len(created),
                "invalid": 0,
            }
            # documented: x-api/posts/filtered-stream/quickstart, "Add a rule" response.
            answer: dict[str, Any] = {"meta": {"sent": "now", "summary": summary}}
            if created:
                answer["data"] = created
            if errors:
                answer["errors"] = errors
            return JSONResponse(answer, 201 if created else 200)  # documented (above)

        @app.get("/2/tweets/search/stream")
        async def stream(request: Request) -> Response:
            if not _has(request, APP_BEARER):
                return JSONResponse(UNAUTHORIZED, 401)
            self.stream_requests.append(dict(request.query_params))
            session = self.stream_sessions.popleft() if self.stream_sessions else StreamSession()
            if session.clears_rules:
                self.rules = []
            if session.answer is not None:
                return _scripted(session.answer)
            return StreamingResponse(self._stream_body(session), media_type="application/json")

        @app.get("/2/tweets/{post_id}")
        def lookup(post_id: str, request: Request) -> Response:
            if not _has(request, APP_BEARER):
                return JSONResponse(UNAUTHORIZED, 401)
            self.lookups.append(post_id)
            self.lookup_queries.append(dict(request.query_params))
            if self.lookup_script:
                return _scripted(self.lookup_script.popleft())
            found = self.lookup_answers.get(post_id)
            # recorded: the tests' lookup answers (payloads.lookup_answer) or X's not-found.
            return JSONResponse(found if found is not None else not_found(post_id))

        @app.post("/2/tweets")
        async def create(request: Request) -> Response:
            if not _has(request, self.accepted_user_token):
                return JSONResponse(UNAUTHORIZED, 401)
            body = await request.json()
            self.create_requests.append(body)
            if self.create_script:
                return _scripted(self.create_script.popleft())
            if any(post["text"] == body["text"] for post in self.timeline):
                return JSONResponse(DUPLICATE, 403)  # recorded (DUPLICATE)
            in_reply_to = str((body.get("reply") or {}).get("in_reply_to_tweet_id"))
            post_id = self.shop_reply(body["text"], in_reply_to)
            # recorded: tweepy cassette test_client_create_and_delete_tweet.yaml, 201.
            return JSONResponse(
                {
                    "data": {
                        "id": post_id,
                        "text": body["text"],
                        "edit_history_tweet_ids": [post_id],
                    }
                },
                201,
            )

        @app.post("/2/oauth2/token")
        async def token(request: Request) -> Response:
            form = {key: str(value) for key, value in (await request.form()).items()}
            self.token_requests.append(form)
            client = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {client}":
                # hand-built: no documented sample for X's token refusal of a wrong client;
                # the RFC 6749 section 5.2 error shape X's token endpoint answers in.
                return JSONResponse({"error": "unauthorized_client"}, 401)
            if (
                form.get("grant_type") != "refresh_token"
                or form.get("refresh_token") != self.refresh_token
            ):
                # hand-built: no documented sample for a refused refresh token; the RFC 6749
                # section 5.2 error object.
                return JSONResponse(
                    {
                        "error": "invalid_request",
                        "error_description": "Value passed for the token was invalid.",
                    },
                    400,
                )
            generation = next(self._token_generation)
            self.accepted_user_token = f"user-token-{generation}"
            self.refresh_token = f"refresh-token-{generation}"
            # hand-built: no documented sample for the token answer; the fields of
            # fundamentals/authentication/oauth-2-0/authorization-code (tokens last 2 hours).
            return JSONResponse(
                {
                    "token_type": "bearer",
                    "expires_in": 7200,
                    "access_token": self.accepted_user_token,
                    "scope": "tweet.read tweet.write users.read offline.access",
                    "refresh_token": self.refresh_token,
                }
            )

        @app.get("/2/users/me")
        def me(request: Request) -> Response:
            if not _has(request, self.accepted_user_token):
                return JSONResponse(UNAUTHORIZED, 401)
            # documented: x-api/users/lookup/quickstart/authenticated-lookup (GET /2/users/me:
            # data.id, name, username), the shop's values substituted.
            return JSONResponse(
                {"data": {"id": SHOP_USER_ID, "name": "Trailhead", "username": "trailhead"}}
            )

        @app.get("/2/users/{user_id}/tweets")
        def timeline(user_id: str, request: Request) -> Response:
            if not _has(request, self.accepted_user_token):
                return JSONResponse(UNAUTHORIZED, 401)
            query = dict(request.query_params)
            self.timeline_requests.append(query)
            # documented: x-api/posts/timelines/quickstart/user-mention-quickstart (data,
            # meta with result_count, newest_id, oldest_id), the shop's posts substituted.
            if user_id != SHOP_USER_ID:
                return JSONResponse({"meta": {"result_count": 0}})
            since = query.get("start_time", "")
            posts = [
                post
                for post in reversed(self.timeline)
                if post["created_at"][:19] >= since.rstrip("Z")[:19]
            ]
            meta: dict[str, Any] = {"result_count": len(posts)}
            if posts:
                meta |= {"newest_id": posts[0]["id"], "oldest_id": posts[-1]["id"]}
                return JSONResponse({"data": posts, "meta": meta})  # documented (above)
            return JSONResponse({"meta": meta})  # documented (above)

        @app.get("/2/users/{user_id}/mentions")
        def mentions(user_id: str, request: Request) -> Response:
            # The answer's shape: x-api/posts/timelines/quickstart/user-mention-quickstart.mdx
            # (newest first; `meta` with newest_id, oldest_id, result_count, next_token).
            if not _has(request, APP_BEARER):
                return JSONResponse(UNAUTHORIZED, 401)
            query = dict(request.query_params)
            self.mention_requests.append(query)
            if self.mention_script:
                return _scripted(self.mention_script.popleft())
            since = int(query.get("since_id") or 0)
            found = [
                post
                for post in reversed(self.mentions)
                if user_id == SHOP_USER_ID and int(post["id"]) > since
            ]
            start = int(query.get("pagination_token", "0") or 0)
            size = int(query.get("max_results", "10"))
            page = found[start : start + size]
            meta: dict[str, Any] = {"result_count": len(page)}
            if not page:
                # hand-built: no documented sample for an empty mentions page; the shape follows
                # the GET /2/users/:id/mentions reference (x-api/posts/timelines).
                return JSONResponse({"meta": meta})
            meta |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
            if start + size < len(found):
                meta["next_token"] = str(start + size)
            # hand-built: no documented sample for a paged mentions answer; data, includes and
            # meta (newest_id, oldest_id, next_token) as the mentions reference names them.
            return JSONResponse({"data": page, "includes": self.mention_includes, "meta": meta})

        @app.post("/2/dm_conversations/with/{participant_id}/messages")
        async def direct_message(participant_id: str, request: Request) -> Response:
            if not _has(request, self.accepted_user_token):
                return JSONResponse(UNAUTHORIZED, 401)
            self.dm_requests.append((participant_id, await request.json()))
            if self.dm_script:
                return _scripted(self.dm_script.popleft())
            # documented: x-api/direct-messages/manage/quickstart, the 201 answer verbatim
            # ("dm_event_id": "1582103724607971332"), the conversation id the documented
            # `sender-recipient` form of the test's ids.
            return JSONResponse(
                {
                    "data": {
                        "dm_conversation_id": f"{SHOP_USER_ID}-{participant_id}",
                        "dm_event_id": "1582103724607971332",
                    }
                },
                201,
            )

        @app.get("/2/users/{user_id}")
        def user(user_id: str, request: Request) -> Response:
            # Declared after /2/users/me, which it would otherwise shadow.
            if not _has(request, APP_BEARER):
                return JSONResponse(UNAUTHORIZED, 401)
            self.user_lookups.append(user_id)
            found = self.user_answers.get(user_id)
            # hand-built: no documented sample for a user lookup's not-found answer; X's v2
            # problem object (resource-not-found) as response-codes-and-errors.mdx describes it.
            if found is None:
                return JSONResponse(
                    {
                        "errors": [
                            {
                                "value": user_id,
                                "detail": f"Could not find user with id: [{user_id}].",
                                "title": "Not Found Error",
                                "resource_type": "user",
                                "parameter": "id",
                                "resource_id": user_id,
                                "type": "https://api.twitter.com/2/problems/resource-not-found",
                            }
                        ]
                    }
                )
            # hand-built or documented as each test says where it sets user_answers.
            return JSONResponse(found)

    async def _stream_body(self, session: StreamSession) -> AsyncIterator[bytes]:
        for line in session.lines:
            yield line + b"\r\n"
        if session.then == "disconnect":
            raise ConnectionAbortedError("the stand-in drops the connection mid-stream")
        if session.then == "close":
            return  # X ends the response cleanly
        if session.then == "hold":
            self.holding.set()
        # "stall" and "hold": send nothing more until released (a stall ends by the
        # client's read timeout).
        while not self.released:
            while session.then == "hold" and self.pushed:
                yield self.pushed.popleft() + b"\r\n"
            await asyncio.sleep(0.02)


def _has(request: Request, token: str | None) -> bool:
    return token is not None and request.headers.get("authorization") == f"Bearer {token}"


def _scripted(answer: Scripted) -> Response:
    return Response(
        json.dumps(answer.body), answer.status, answer.headers, media_type="application/json"
    )
