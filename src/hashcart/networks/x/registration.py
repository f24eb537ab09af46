"""Registering hashcart's webhook with X and subscribing it to the shop's events.

The webhook calls (docs.x.com x-api/webhooks/introduction.mdx, quickstart.mdx, "Register
your webhook") take the app-only bearer token: `POST /2/webhooks {"url"}` registers (X sends
the URL a CRC challenge at once), `GET /2/webhooks` lists, `DELETE /2/webhooks/:id` deletes,
`PUT /2/webhooks/:id` runs the CRC again and re-enables the webhook. Their documented failure
reasons (CrcValidationFailed, UrlValidationFailed, DuplicateUrlFailed, WebhookLimitExceeded,
WebhookIdInvalid) come back as one `WebhookRefused` line that names the reason and says what
it means.

The subscriptions: `post.reply.create` (someone replied to the shop's post) and
`post.mention.create` (someone @mentioned the shop) filtered on the shop's user id
(x-api/activity/quickstart.mdx, introduction.mdx). Both are *private* events ("Event privacy
and authentication": requires the `tweet.read` scope of the filtered user), so they are
created with the shop account's OAuth 2.0 user token, not the bearer token. The Account
Activity API (deprecated, ends 2027-01-01) subscribes the same account with
`POST /2/account_activity/webhooks/:id/subscriptions/all`, also with the user token
(x-api/account-activity/introduction.mdx; openapi: OAuth2UserToken).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from hashcart.networks.x.api import XApi, XApiError, XError, is_post_id

WEBHOOKS_PATH = "/2/webhooks"
SUBSCRIPTIONS_PATH = "/2/activity/subscriptions"
# The events a shop needs: replies to its posts, and posts that @mention it.
SHOP_EVENT_TYPES = ("post.reply.create", "post.mention.create")
SUBSCRIPTION_TAG = "hashcart"

# The documented failure reasons and what they mean (x-api/webhooks/quickstart.mdx, "Common
# failure reasons" and the tables under "Delete a webhook", "Validate and re-enable").
WEBHOOK_FAILURE_REASONS = {
    "CrcValidationFailed": (
        "the webhook URL did not answer X's CRC check correctly (timed out or a wrong "
        "response_token: is hashcart serving it, with x_consumer_secret set?)"
    ),
    "UrlValidationFailed": (
        "the webhook URL does not meet X's requirements (https, publicly reachable, no port)"
    ),
    "DuplicateUrlFailed": "a webhook is already registered by this app for this URL",
    "WebhookLimitExceeded": "the app has reached the number of webhooks X allows it",
    "WebhookIdInvalid": "no webhook of this app has that id",
}


class WebhookRefused(XError):
    """X refused a webhook or subscription call; `reason` is X's documented reason name
    when the answer names one."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class Webhook:
    """A webhook as X keeps it (`GET /2/webhooks`'s WebhookConfig)."""

    id: str
    url: str
    valid: bool
    created_at: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "valid": self.valid, "created_at": self.created_at}


@dataclass(frozen=True)
class Subscription:
    """An X Activity API subscription (its create answer's `data`)."""

    id: str
    event_type: str
    user_id: str
    webhook_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "subscription_id": self.id,
            "event_type": self.event_type,
            "user_id": self.user_id,
            "webhook_id": self.webhook_id,
        }


def url_problem(url: str) -> str | None:
    """Why X would refuse `url` as a webhook, said before asking it (the documented
    requirements: HTTPS, no port); None when it may do."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"not a URL: {url[:200]!r}"
    if parts.scheme != "https" or not parts.hostname:
        return f"X takes only https:// webhook URLs, not {url[:200]!r}"
    if port is not None:
        return f"X takes no port in a webhook URL ({url[:200]!r}); serve it on 443"
    return None


def list_webhooks(api: XApi) -> list[Webhook]:
    answer = _managed(api, "GET", WEBHOOKS_PATH)
    return [hook for item in _items(answer.get("data")) if (hook := _webhook(item)) is not None]


def register_webhook(api: XApi, url: str) -> Webhook:
    problem = url_problem(url)
    if problem is not None:
        raise WebhookRefused(f"not sent to X: {problem}", "UrlValidationFailed")
    answer = _managed(api, "POST", WEBHOOKS_PATH, json_body={"url": url})
    made = _webhook(answer.get("data"))
    if made is None:
        raise WebhookRefused("X answered POST /2/webhooks without a webhook")
    return made


def delete_webhook(api: XApi, webhook_id: str) -> bool:
    answer = _managed(api, "DELETE", f"{WEBHOOKS_PATH}/{_webhook_id(webhook_id)}")
    data = answer.get("data")
    return isinstance(data, dict) and data.get("deleted") is True


def check_webhook(api: XApi, webhook_id: str) -> bool:
    """Ask X to run the CRC now (`PUT`): whether the webhook is valid after it."""
    answer = _managed(api, "PUT", f"{WEBHOOKS_PATH}/{_webhook_id(webhook_id)}")
    data = answer.get("data")
    return isinstance(data, dict) and data.get("valid") is True


def subscribe_shop(api: XApi, webhook_id: str, shop_user_id: str) -> list[Subscription]:
    """One X Activity API subscription per SHOP_EVENT_TYPES, delivered to `webhook_id`."""
    if not is_post_id(shop_user_id):
        raise WebhookRefused(f"x_shop_user_id is not an X user id: {shop_user_id[:40]!r}")
    made = []
    for event_type in SHOP_EVENT_TYPES:
        body = {
            "event_type": event_type,
            "filter": {"user_id": shop_user_id},
            "tag": SUBSCRIPTION_TAG,
            "webhook_id": _webhook_id(webhook_id),
        }
        answer = _managed(api, "POST", SUBSCRIPTIONS_PATH, token="user", json_body=body)
        made.append(_subscription(answer.get("data"), event_type, shop_user_id))
    return made


def subscribe_account_activity(api: XApi, webhook_id: str) -> bool:
    """The Account Activity API subscription of the shop account (the user token's)."""
    path = f"/2/account_activity/webhooks/{_webhook_id(webhook_id)}/subscriptions/all"
    answer = _managed(api, "POST", path, token="user")
    data = answer.get("data")
    return isinstance(data, dict) and data.get("subscribed") is True


# --- plumbing -----------------------------------------------------------------------------


def _managed(
    api: XApi,
    method: str,
    path: str,
    *,
    token: Literal["app", "user"] = "app",
    json_body: Any = None,
) -> dict[str, Any]:
    """The call; X's refusal as a WebhookRefused naming the documented reason."""
    try:
        answer = api.call_json(method, path, token, json_body=json_body)
    except XApiError as error:
        raise _refused(method, path, error) from None
    # A 200 whose body carries only `errors` is a refusal too (the v2 partial-error shape).
    if "data" not in answer and answer.get("errors"):
        raise _refused(method, path, _errors_as_error(answer))
    return answer


def _refused(method: str, path: str, error: XApiError) -> WebhookRefused:
    said = " ".join(part for part in (error.title, error.detail, error.problem_type) if part)
    reason = next((name for name in WEBHOOK_FAILURE_REASONS if name in said), None)
    if reason is not None:
        meaning = WEBHOOK_FAILURE_REASONS[reason]
        return WebhookRefused(f"X refused {method} {path}: {reason}: {meaning}", reason)
    return WebhookRefused(f"X refused {method} {path}: HTTP {error.status}: {error.said}")


def _errors_as_error(answer: dict[str, Any]) -> XApiError:
    first = next(iter(_items(answer.get("errors"))), {})
    return XApiError(
        200,
        title=str(first.get("title") or first.get("code") or "")[:300],
        detail=str(first.get("detail") or first.get("message") or "")[:300],
        problem_type=str(first.get("type") or "")[:300],
    )


def _webhook_id(value: str) -> str:
    if not is_post_id(value):
        raise WebhookRefused(
            f"not an X webhook id: {value[:40]!r}: {WEBHOOK_FAILURE_REASONS['WebhookIdInvalid']}",
            "WebhookIdInvalid",
        )
    return value


def _items(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _webhook(item: object) -> Webhook | None:
    if not isinstance(item, dict):
        return None
    hook_id, url = item.get("id"), item.get("url")
    if not isinstance(hook_id, str) or not isinstance(url, str):
        return None
    created = item.get("created_at")
    return Webhook(
        hook_id[:40],
        url[:2000],
        item.get("valid") is True,
        created[:40] if isinstance(created, str) else "",
    )


def _subscription(data: object, event_type: str, user_id: str) -> Subscription:
    # The quickstart's answer puts the subscription in `data`; the openapi schema nests it
    # in `data.subscription`: both are read.
    found = data.get("subscription", data) if isinstance(data, dict) else None
    if not isinstance(found, dict) or not isinstance(found.get("subscription_id"), str):
        raise WebhookRefused(f"X answered the {event_type} subscription without its id")
    webhook = found.get("webhook_id")
    return Subscription(
        found["subscription_id"][:40],
        str(found.get("event_type") or event_type)[:80],
        user_id,
        webhook if isinstance(webhook, str) else None,
    )
