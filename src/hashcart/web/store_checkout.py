"""Pages that send the shopper to the merchant's own store to pay (issue 16): the cart's
"Check out at <store>" and a live-sale invoice's "Pay at <store>". Both are forms whose
answer is a redirect to the store's checkout, which the page's Content-Security-Policy must
let a form lead to (form-action covers a form's redirects), and nowhere else."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi import Request
from starlette.responses import Response

from hashcart.web.context import hashcart_of
from hashcart.web.security import CONTENT_SECURITY_POLICY

_HOST_AND_PORT = re.compile(r"[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?")


def store_label_of(request: Request) -> str | None:
    """The merchant's own store's name for "Check out at <label>" (issue 16); None with the
    built-in shop, whose own checkout the page links instead."""
    from hashcart.stores.registry import StoreNotConfigured, UnknownStore

    app = hashcart_of(request)
    if app.settings.store == "builtin":
        return None
    try:
        store = app.external_store()
    except (StoreNotConfigured, UnknownStore):
        return app.settings.store.capitalize()  # the handoff says what is missing
    return None if store is None else store.label


def checkout_origin(request: Request) -> str:
    """Where the store's checkout is (scheme, host and port of `store_checkout_url`, else of
    the store's own URL); `https:` when the settings name neither."""
    settings = hashcart_of(request).settings
    named = settings.store_checkout_url or settings.vendure_url or ""
    parts = urlsplit(named)
    # Only a host name and port go into the header (no `;` or space could end the directive).
    if parts.scheme not in ("http", "https") or not _HOST_AND_PORT.fullmatch(parts.netloc):
        return "https:"
    return f"{parts.scheme}://{parts.netloc}"


def allow_store_checkout(request: Request, page: Response) -> None:
    """Let the page's forms lead to the store's checkout too."""
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {checkout_origin(request)}"
    )
