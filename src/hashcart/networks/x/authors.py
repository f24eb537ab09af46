"""The author of an X Activity API post event, when the event does not name them.

X documents `post.reply.create` with `"includes": {}` (xdevplatform/docs
x-api/activity/event-payloads.mdx): the reply's author is an id only. The decoder does not
need more (a Post's identity is the account id), but the shop's pages, the pending requests
and the link page show the handle, so the webhook looks it up (`GET /2/users/:id`, the app
bearer token) before handing the event on, and remembers it: each author is asked for once
per process. The post being replied to is not looked up here: the engine fetches a parent
it has not seen (fetch.py), once, and keeps it.

The lookup happens before the webhook answers X, which wants its answer within 10 seconds
(x-api/webhooks/introduction.mdx), so it has a short timeout; when it fails the event goes on
without the handle, never lost or delayed further.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx

from hashcart.networks.x.api import XApi, XError, is_post_id

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
# Handles remembered (a few MB at most); the least recently used go first.
MAX_REMEMBERED = 50_000


class AuthorHandles:
    """User id -> handle, each looked up once; thread-safe (webhooks run in a pool). Kept
    per X API address (`where`): one process may serve shops that talk to different ones."""

    def __init__(self, max_remembered: int = MAX_REMEMBERED) -> None:
        self._known: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()
        self.max_remembered = max_remembered

    def handle(self, where: str, user_id: str, api: Callable[[], XApi]) -> str | None:
        """The handle of `user_id` ("" when X has no such user), None when X could not say."""
        if not is_post_id(user_id):
            return None
        key = (where, user_id)
        with self._lock:
            if key in self._known:
                self._known.move_to_end(key)
                return self._known[key]
        try:
            with api() as client:
                found = client.user_handle(user_id) or ""
        except XError as error:
            log.warning("X user lookup %s failed: %s", user_id, error)
            return None
        with self._lock:
            self._known[key] = found
            while len(self._known) > self.max_remembered:
                self._known.popitem(last=False)
        return found


def missing_author(payload: dict[str, Any]) -> str | None:
    """The author id of an Activity API post event whose `includes` does not name them."""
    data = payload.get("data")
    if not isinstance(data, dict):
        return None
    event_type = data.get("event_type")
    post = data.get("payload")
    if not (
        isinstance(event_type, str)
        and event_type.startswith("post.")
        and event_type.endswith(".create")
        and isinstance(post, dict)
    ):
        return None
    author = post.get("author_id")
    if not isinstance(author, str):
        return None
    includes = data.get("includes")
    users = includes.get("users") if isinstance(includes, dict) else None
    if isinstance(users, list) and any(
        isinstance(user, dict) and user.get("id") == author for user in users
    ):
        return None
    return author


def with_author(payload: dict[str, Any], author_id: str, handle: str) -> dict[str, Any]:
    """`payload` with the author added to `data.includes.users` (the decoder's one place)."""
    data = dict(payload["data"])
    includes = data.get("includes")
    includes = dict(includes) if isinstance(includes, dict) else {}
    users = includes.get("users")
    users = list(users) if isinstance(users, list) else []
    users.append({"id": author_id, "username": handle})
    includes["users"] = users
    data["includes"] = includes
    return {**payload, "data": data}
