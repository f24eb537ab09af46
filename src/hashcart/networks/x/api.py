"""A small client for the X API v2 endpoints hashcart calls, over httpx (sync).

Two tokens, two kinds of call: the app-only bearer token reads (post lookup, stream
rules); the shop account's OAuth 2.0 user token writes (replies, direct messages) and reads
the shop's own timeline (reconciling after a crash). Every call has a timeout, and every
failure is one of two typed exceptions: `XUnreachable` (no answer: network, timeout) or
`XApiError` (X answered with an error; it carries the status, X's `title`/`detail` and the
rate-limit headers, never a token). The filtered stream itself is read by `stream.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self

import httpx

from hashcart.config import Settings
from hashcart.errors import NetworkApiError

# What a post lookup or stream line asks for: enough for the decoder (author, reply and quote
# references, links, long posts, edits), with the parent post and the author's handle expanded.
POST_FIELDS = (
    "author_id,conversation_id,created_at,entities,in_reply_to_user_id,"
    "referenced_tweets,note_tweet,edit_history_tweet_ids"
)
POST_EXPANSIONS = "author_id,referenced_tweets.id"
USER_FIELDS = "username"
# X's post and user ids (openapi: `^[0-9]{1,19}$`); anything else never reaches a URL path.
_ID = re.compile(r"[0-9]{1,19}")
# The answer headers worth keeping on an error: when to call again. Nothing else (no echo).
_KEPT_HEADERS = (
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "retry-after",
)
DEFAULT_TIMEOUT = httpx.Timeout(8.0, connect=4.0)
# An answer larger than this is not one we asked for (a lookup or a timeline page is a few
# hundred kB at most): refused rather than read into memory.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# How much of X's error text is kept: it ends up in logs and the console.
_MAX_DETAIL = 300
# Pages of the shop's timeline read when reconciling (100 posts a page).
MAX_TIMELINE_PAGES = 3


def is_post_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


class XError(NetworkApiError):
    """Any failed call to X."""


class XNotConfigured(XError):
    """The call needs a token the settings do not give."""


class XUnreachable(XError):
    """X did not answer (connection refused or reset, timeout): worth trying again later."""


class XApiError(XError):
    """X answered with an error status."""

    def __init__(
        self,
        status: int,
        *,
        title: str = "",
        detail: str = "",
        problem_type: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.problem_type = problem_type
        # Lower-case names: what `rate_limits.retry_after` reads.
        self.headers: dict[str, str] = dict(headers or {})
        said = ": ".join(part for part in (title, detail) if part)
        super().__init__(f"X answered {status}" + (f" ({said})" if said else ""))

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def said(self) -> str:
        """X's own words (detail, else title): what a person reading the console needs."""
        return self.detail or self.title or f"HTTP {self.status}"

    @classmethod
    def of(cls, response: Answer) -> XApiError:
        title, detail, problem_type = _problem(response.content)
        kept = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
        return cls(
            response.status,
            title=title,
            detail=detail,
            problem_type=problem_type,
            headers=kept,
        )


def _problem(body: bytes) -> tuple[str, str, str]:
    """(title, detail, type) from X's error answers: the v2 problem object, a v2 `errors`
    list, or the v1.1 `{"errors": [{"message", "code"}]}`; empty strings when unreadable."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", "", ""
    if not isinstance(answer, dict):
        return "", "", ""
    title, detail, kind = answer.get("title"), answer.get("detail"), answer.get("type")
    errors = answer.get("errors")
    if not (title or detail) and isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        title = first.get("title") or first.get("code")
        detail = first.get("detail") or first.get("message")
        kind = first.get("type")
    return _text(title), _text(detail), _text(kind)


def _text(value: object) -> str:
    return str(value)[:_MAX_DETAIL] if value not in (None, "") else ""


@dataclass(frozen=True)
class Answer:
    """A successful answer, read whole (within MAX_ANSWER_BYTES)."""

    status: int
    headers: httpx.Headers
    content: bytes


@dataclass(frozen=True)
class StreamRule:
    """A filtered-stream rule as X keeps it (`id` is X's; `tag` is ours, immutable)."""

    id: str
    value: str
    tag: str | None = None


@dataclass(frozen=True)
class NewRule:
    value: str
    tag: str


class XApi:
    """The calls, against `base_url` (settings.x_api_url: https://api.x.com, or a stand-in)."""

    def __init__(
        self,
        base_url: str,
        *,
        bearer_token: str | None = None,
        user_token: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.bearer_token = bearer_token
        self.user_token = user_token
        self.timeout = timeout
        self.transport = transport
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"XApi({self.base_url!r})"  # never the tokens

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> XApi:
        return cls(
            base_url=settings.x_api_url,
            bearer_token=_secret(settings.x_bearer_token),
            user_token=_secret(settings.x_access_token),
            **options,
        )

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url.rstrip("/"),
                timeout=self.timeout,
                transport=self.transport,
                headers={"User-Agent": "hashcart"},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the calls ---------------------------------------------------------------------

    def get_post(self, post_id: str) -> bytes:
        """`GET /2/tweets/:id` with the parent and the author expanded: the raw answer (a v2
        lookup line, which may be `{"errors": [...]}` alone when the post is gone)."""
        _check_id(post_id, "post")
        response = self._call(
            "GET",
            f"/2/tweets/{post_id}",
            "app",
            params={
                "tweet.fields": POST_FIELDS,
                "expansions": POST_EXPANSIONS,
                "user.fields": USER_FIELDS,
            },
        )
        return response.content

    def user_handle(self, user_id: str) -> str | None:
        """`GET /2/users/:id`: the user's handle (username), None when X has no such user."""
        _check_id(user_id, "user")
        answer = self.call_json(
            "GET", f"/2/users/{user_id}", "app", params={"user.fields": "username"}
        )
        data = answer.get("data")
        handle = data.get("username") if isinstance(data, dict) else None
        return handle if isinstance(handle, str) and handle else None

    def create_post(self, text: str, in_reply_to: str | None = None) -> str | None:
        """`POST /2/tweets` as the shop; the new post's id (None if X's 2xx answer lacks it:
        the post exists, so that is still a success)."""
        body: dict[str, Any] = {"text": text}
        if in_reply_to is not None:
            _check_id(in_reply_to, "post")
            body["reply"] = {"in_reply_to_tweet_id": in_reply_to}
        response = self._call("POST", "/2/tweets", "user", json_body=body)
        return _string_at(response, "data", "id")

    def send_dm(self, participant_id: str, text: str) -> str | None:
        """`POST /2/dm_conversations/with/:participant_id/messages`: the DM event's id."""
        _check_id(participant_id, "user")
        response = self._call(
            "POST",
            f"/2/dm_conversations/with/{participant_id}/messages",
            "user",
            json_body={"text": text},
        )
        return _string_at(response, "data", "dm_event_id")

    def me(self) -> str:
        """`GET /2/users/me`: the id of the account the user token belongs to (the shop)."""
        found = _string_at(self._call("GET", "/2/users/me", "user"), "data", "id")
        if found is None or not is_post_id(found):
            raise XApiError(200, detail="GET /2/users/me answered without a user id")
        return found

    def user_posts(self, user_id: str, since: datetime) -> list[dict[str, Any]]:
        """`GET /2/users/:id/tweets` since `since` (newest first, up to MAX_TIMELINE_PAGES
        pages), with `referenced_tweets` and `created_at`: the posts as X returns them."""
        _check_id(user_id, "user")
        params: dict[str, str] = {
            "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "max_results": "100",
            "tweet.fields": "referenced_tweets,created_at",
        }
        found: list[dict[str, Any]] = []
        for _page in range(MAX_TIMELINE_PAGES):
            answer = _json(self._call("GET", f"/2/users/{user_id}/tweets", "user", params=params))
            found += [post for post in answer.get("data") or () if isinstance(post, dict)]
            meta = answer.get("meta")
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not isinstance(next_token, str) or not next_token:
                break
            params["pagination_token"] = next_token
        return found

    def stream_rules(self) -> list[StreamRule]:
        """`GET /2/tweets/search/stream/rules`: every rule of the app (ours and others')."""
        answer = _json(self._call("GET", "/2/tweets/search/stream/rules", "app"))
        rules = []
        for item in answer.get("data") or ():
            if isinstance(item, dict) and item.get("id") and isinstance(item.get("value"), str):
                tag = item.get("tag")
                rules.append(
                    StreamRule(
                        str(item["id"]), item["value"], tag if isinstance(tag, str) else None
                    )
                )
        return rules

    def add_rules(self, rules: Sequence[NewRule]) -> None:
        """`POST /2/tweets/search/stream/rules {"add": [...]}`. A rule X already holds
        (DuplicateRule) counts as added; any other refusal raises XApiError."""
        if not rules:
            return
        body = {"add": [{"value": rule.value, "tag": rule.tag} for rule in rules]}
        answer = _json(self._call("POST", "/2/tweets/search/stream/rules", "app", json_body=body))
        for error in answer.get("errors") or ():
            if not isinstance(error, dict):
                continue
            title = _text(error.get("title"))
            if title == "DuplicateRule" or "duplicate-rules" in _text(error.get("type")):
                continue
            raise XApiError(
                400,
                title=title or "rule refused",
                detail=_text(error.get("detail") or error.get("value")),
                problem_type=_text(error.get("type")),
            )

    def delete_rules(self, ids: Sequence[str]) -> None:
        """`POST /2/tweets/search/stream/rules {"delete": {"ids": [...]}}`."""
        if ids:
            body = {"delete": {"ids": list(ids)}}
            self._call("POST", "/2/tweets/search/stream/rules", "app", json_body=body)

    def call_json(
        self,
        method: str,
        path: str,
        token: Literal["app", "user"],
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> dict[str, Any]:
        """One call whose answer is a JSON object ({} when it is not one): for the calls
        with a module of their own (registration.py, catch_up.py)."""
        return _json(self._call(method, path, token, params=params, json_body=json_body))

    # --- plumbing ----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        token: Literal["app", "user"],
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Answer:
        secret = self.bearer_token if token == "app" else self.user_token
        if not secret:
            needed = "x_bearer_token" if token == "app" else "x_access_token"
            raise XNotConfigured(f"{method} {path} needs the setting {needed}")
        try:
            with self.client.stream(
                method,
                path,
                params=params,
                json=json_body,
                headers={"Authorization": f"Bearer {secret}"},
            ) as response:
                answer = Answer(response.status_code, response.headers, _read_capped(response))
        except httpx.TransportError as error:
            # Only the kind of failure is said: never the request's headers (the token).
            raise XUnreachable(f"{method} {path}: {type(error).__name__}") from None
        if 200 <= answer.status < 300:
            return answer
        raise XApiError.of(answer)


def _read_capped(response: httpx.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise XUnreachable(f"answer of {declared} bytes is larger than any X answer we ask for")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise XUnreachable("answer larger than any X answer we ask for")
        chunks.append(chunk)
    return b"".join(chunks)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _check_id(value: str, what: str) -> None:
    if not is_post_id(value):
        raise XApiError(400, title="Invalid Request", detail=f"not an X {what} id: {value[:40]!r}")


def _json(response: Answer) -> dict[str, Any]:
    try:
        answer = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return answer if isinstance(answer, dict) else {}


def _string_at(response: Answer, *path: str) -> str | None:
    value: Any = _json(response)
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None
