"""Merchant: hashcart's webhook at X, from the Networks page.

The same calls as `hashcart x webhook ...` and `hashcart x subscribe` (networks/x/
registration), as POST forms with the console's CSRF token. The page never asks X on a plain
visit (a page view is not worth an API call, and the settings may point at the real X): the
webhook's state is shown after the merchant asks for it, or after any of these actions, each
of which ends by listing the webhooks again. X's refusals come back as the page's one-line
error, in X's documented terms."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from hashcart.networks.x.api import XApi, XError
from hashcart.networks.x.registration import (
    Webhook,
    check_webhook,
    delete_webhook,
    list_webhooks,
    register_webhook,
    subscribe_shop,
)
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of
from hashcart.web.routes.merchant_networks import networks_response

router = APIRouter(
    prefix="/merchant/networks/x/webhook",
    dependencies=[Depends(csrf_protected)],
    include_in_schema=False,
)

WebhookId = Annotated[str, Form(max_length=40)]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _shown(
    request: Request, webhooks: list[Webhook] | None, notice: str | None, error: str | None
) -> Response:
    return networks_response(
        request, 400 if error else 200, error=error, notice=notice, x_webhooks=webhooks
    )


def _act(request: Request, action: str, id_or_url: str = "") -> Response:
    """Run `action` against X and show the page with the webhooks as X lists them after."""
    settings = hashcart_of(request).effective_settings()
    notice: str | None = None
    try:
        with XApi.from_settings(settings) as api:
            if action == "register":
                made = register_webhook(api, id_or_url)
                notice = f"Webhook {made.id} registered: X's CRC check " + (
                    "passed." if made.valid else "has not passed yet."
                )
            elif action == "check":
                valid = check_webhook(api, id_or_url)
                notice = f"Webhook {id_or_url}: " + (
                    "X's CRC check passed." if valid else "X's CRC check did not pass."
                )
            elif action == "delete":
                deleted = delete_webhook(api, id_or_url)
                notice = f"Webhook {id_or_url} " + ("deleted." if deleted else "not deleted.")
            elif action == "subscribe":
                if not settings.x_shop_user_id:
                    return _shown(request, None, None, "Set the shop's X user id first.")
                made_subscriptions = subscribe_shop(api, id_or_url, settings.x_shop_user_id)
                notice = "Subscribed: " + ", ".join(s.event_type for s in made_subscriptions) + "."
            webhooks = list_webhooks(api)
    except XError as problem:
        return _shown(request, None, None, _one_line(str(problem)))
    return _shown(request, webhooks, notice, None)


def _one_line(text: str) -> str:
    return _CONTROL.sub(" ", text)[:500]


@router.post("/list")
def webhook_state(request: Request, viewer: SignedInMerchant) -> Response:
    return _act(request, "list")


@router.post("/register")
def webhook_register(
    request: Request,
    viewer: SignedInMerchant,
    url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    settings = hashcart_of(request).effective_settings()
    chosen = url.strip() or settings.public_url.rstrip("/") + "/webhooks/x"
    return _act(request, "register", chosen)


@router.post("/check")
def webhook_check(request: Request, viewer: SignedInMerchant, webhook_id: WebhookId) -> Response:
    return _act(request, "check", webhook_id)


@router.post("/delete")
def webhook_delete(request: Request, viewer: SignedInMerchant, webhook_id: WebhookId) -> Response:
    return _act(request, "delete", webhook_id)


@router.post("/subscribe")
def webhook_subscribe(
    request: Request, viewer: SignedInMerchant, webhook_id: WebhookId
) -> Response:
    return _act(request, "subscribe", webhook_id)
