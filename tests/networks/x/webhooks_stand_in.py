"""A stand-in for X's webhook and subscription management endpoints, on loopback.

Success bodies are copied verbatim from xdevplatform/docs x-api/webhooks/quickstart.mdx
("Register your webhook": create, view, delete, validate) and x-api/activity/quickstart.mdx
("Create subscription"). The failure bodies are hand-built: the docs name the failure
reasons (CrcValidationFailed, UrlValidationFailed, DuplicateUrlFailed, WebhookLimitExceeded,
WebhookIdInvalid) in tables but show no error body; these put the reason in a v2 problem
object's `detail`, as X's own message reads ("CrcValidationFailed: ... Invalid
response_token", quoted in third-party code that met it).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.networks.x.stand_in import APP_BEARER, UNAUTHORIZED, USER_TOKEN, Scripted

# --- documented success bodies (x-api/webhooks/quickstart.mdx), verbatim ------------------
CREATED = {
    "data": {
        "id": "1234567890",
        "url": "https://yourdomain.com/webhooks/twitter",
        "valid": True,
        "created_at": "2025-01-15T12:00:00.000Z",
    }
}
LISTED = {
    "data": [
        {
            "created_at": "2025-01-15T12:00:00.000Z",
            "id": "1234567890",
            "url": "https://yourdomain.com/webhooks/twitter",
            "valid": True,
        }
    ],
    "meta": {"result_count": 1},
}
LISTED_NONE = {"data": [], "meta": {"result_count": 0}}
DELETED = {"data": {"deleted": True}}
VALIDATED = {"data": {"valid": True}}

# --- documented subscription answer (x-api/activity/quickstart.mdx), verbatim but for the
# event type and ids it is asked for ------------------------------------------------------


def subscription_created(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {
            "subscription_id": "1976325569252868096",
            "event_type": body["event_type"],
            "filter": {"user_id": body["filter"]["user_id"]},
            "created_at": "2025-10-09T16:35:08.000Z",
            "updated_at": "2025-10-09T16:35:08.000Z",
            "tag": body.get("tag", ""),
            "webhook_id": body.get("webhook_id", ""),
        }
    }


# The Account Activity subscription's answer: openapi CreateAccountActivitySubscriptionResponse.
AAA_SUBSCRIBED = {"data": {"subscribed": True}}


def refusal(reason: str, detail: str, status: int = 400) -> Scripted:
    """hand-built (see the module's docstring): a documented reason in a problem object."""
    return Scripted(
        status,
        {
            "title": "Invalid Request",
            "detail": f"{reason}: {detail}",
            "type": "https://api.x.com/2/problems/invalid-request",
            "status": status,
        },
    )


class WebhooksStandIn:
    def __init__(self) -> None:
        self.app = FastAPI()
        self.requests: list[tuple[str, str, str, Any]] = []  # method, path, token, body
        self.script: deque[Scripted] = deque()
        self.listed: dict[str, Any] = LISTED
        self._routes()

    def _answer(self, default: dict[str, Any]) -> Response:
        if self.script:
            scripted = self.script.popleft()
            # each test labels the answer it scripts (documented or hand-built) where it sets it.
            return JSONResponse(scripted.body, scripted.status, scripted.headers)
        # documented: the default answers are the quickstarts' samples (LISTED and those above).
        return JSONResponse(default)

    async def _note(self, request: Request) -> str | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        raw = await request.body()
        body = (await request.json()) if raw else None
        self.requests.append((request.method, request.url.path, token, body))
        return token

    def _routes(self) -> None:
        app = self.app

        @app.post("/2/webhooks")
        async def create(request: Request) -> Response:
            if await self._note(request) != APP_BEARER:
                return JSONResponse(UNAUTHORIZED, 401)
            return self._answer(CREATED)

        @app.get("/2/webhooks")
        async def listing(request: Request) -> Response:
            if await self._note(request) != APP_BEARER:
                return JSONResponse(UNAUTHORIZED, 401)
            return self._answer(self.listed)

        @app.delete("/2/webhooks/{webhook_id}")
        async def delete(webhook_id: str, request: Request) -> Response:
            if await self._note(request) != APP_BEARER:
                return JSONResponse(UNAUTHORIZED, 401)
            return self._answer(DELETED)

        @app.put("/2/webhooks/{webhook_id}")
        async def validate(webhook_id: str, request: Request) -> Response:
            if await self._note(request) != APP_BEARER:
                return JSONResponse(UNAUTHORIZED, 401)
            return self._answer(VALIDATED)

        @app.post("/2/activity/subscriptions")
        async def subscribe(request: Request) -> Response:
            # Private events (post.reply.create, post.mention.create): the user's token.
            if await self._note(request) != USER_TOKEN:
                return JSONResponse(UNAUTHORIZED, 401)
            return self._answer(subscription_created(self.requests[-1][3]))

        @app.post("/2/account_activity/webhooks/{webhook_id}/subscriptions/all")
        async def subscribe_aaa(webhook_id: str, request: Request) -> Response:
            if await self._note(request) != USER_TOKEN:
                return JSONResponse(UNAUTHORIZED, 401)
            return self._answer(AAA_SUBSCRIBED)
