"""Fetching a parent post from X: `GET /2/tweets/:id`, answered as a v2 lookup line.

X answers a post that is gone (deleted, suspended author, protected) with HTTP 200 and
`{"errors": [{"type": ".../resource-not-found", ...}]}` and no `data`, or with 404; both mean
"does not exist" to us, so the trigger waiting for it is not asked about again. A rate limit,
a server error or no answer means "ask later" (FetchFailed)."""

from __future__ import annotations

import json
import logging

from hashcart.networks.formats import Format
from hashcart.networks.parents import Fetched, FetchFailed
from hashcart.networks.x.api import XApi, XApiError, XNotConfigured, XUnreachable, is_post_id

log = logging.getLogger(__name__)

# Problem types that say the post cannot be had, now or later (docs.x.com: error types).
_GONE = ("resource-not-found", "not-authorized-for-resource", "resource-unavailable")


class XParentFetcher:
    def __init__(self, api: XApi) -> None:
        self.api = api

    def fetch(self, post_id: str) -> Fetched:
        if not is_post_id(post_id):
            return Fetched(Format.X_V2, ())  # no X post has such an id
        try:
            body = self.api.get_post(post_id)
        except XApiError as error:
            if error.status in (400, 404):
                return Fetched(Format.X_V2, ())
            log.warning("X post lookup %s failed: %s", post_id, error, extra=_ids(post_id))
            raise FetchFailed(str(error)) from None
        except (XUnreachable, XNotConfigured) as error:
            log.warning("X post lookup %s failed: %s", post_id, error, extra=_ids(post_id))
            raise FetchFailed(str(error)) from None
        verdict = _errors_only(body)
        if verdict == "gone":
            return Fetched(Format.X_V2, ())
        if verdict == "error":
            log.warning("X post lookup %s answered errors only", post_id, extra=_ids(post_id))
            raise FetchFailed("X answered the lookup with errors and no post")
        return Fetched(Format.X_V2, (body,))


def _errors_only(body: bytes) -> str | None:
    """For an answer without `data`: "gone" when its errors all say the post cannot be had,
    "error" for other errors (asked again later). None for an answer with data, and for one
    that is not JSON at all: handed on as it is, the engine keeps it as a dead letter."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(answer, dict) or answer.get("data") is not None:
        return None
    errors = answer.get("errors")
    if isinstance(errors, list) and errors and all(_is_gone(error) for error in errors):
        return "gone"
    return "error"


def _is_gone(error: object) -> bool:
    return isinstance(error, dict) and any(kind in str(error.get("type", "")) for kind in _GONE)


def _ids(post_id: str) -> dict[str, str]:
    """What a log line about a lookup names (hashcart.logs)."""
    return {"network": "x", "post_id": post_id}
