"""What every response and every form gets: security headers and CSRF protection.

CSRF uses a per-browser random token: a signed-in browser's token lives in its server-side
session; before sign-in it lives in the `hc_csrf` cookie. Every unsafe request must carry the
same token in the form field `csrf_token` (or the `X-CSRF-Token` header, for scripts)."""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hashcart.errors import HashcartError

CSRF_COOKIE = "hc_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# No inline script or style anywhere, the API docs included: what runs is what the app serves.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def sign_in_form_policy(allow_http: bool) -> str:
    """The policy of a page whose forms start a sign-in at a network (the account page's
    "Link X / Mastodon / Bluesky", the console's "Connect"): the start route sends the browser
    on to the network's sign-in page (any Mastodon server), and browsers apply form-action to
    that redirect too, so such a page lets forms lead to https sites (and http ones where
    tests allow private servers)."""
    targets = "'self' https:" + (" http:" if allow_http else "")
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action {targets}")


class CSRFError(HashcartError):
    """An unsafe request without the browser's CSRF token: refused, nothing changed."""


def cookie_is_secure(request: Request) -> bool:
    """Cookies are `Secure` when the page came over TLS (directly or via a trusted proxy)."""
    return request.url.scheme == "https"


def apply_security_headers(response: Response, request: Request) -> None:
    """The headers every response carries; also called for the 500 page, which Starlette
    answers outside every middleware."""
    _set_security_headers(response.headers, request)


def _set_security_headers(headers: MutableHeaders, request: Request) -> None:
    """Each header unless the response set its own (a sign-in form's policy)."""
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if cookie_is_secure(request):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


class SecurityHeaders:
    """Security headers on every response, and the pre-session CSRF cookie where missing.

    A plain ASGI middleware that edits the response's start message: Starlette's
    BaseHTTPMiddleware ran every request in a task group of its own with streams between
    it and the app (about a fifth of a small page's CPU in the pages bench)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if CSRF_COOKIE not in request.cookies:
            request.state.new_csrf = secrets.token_urlsafe(32)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                _set_security_headers(headers, request)
                new = getattr(request.state, "new_csrf", None)
                if new is not None:
                    cookie = Response()
                    cookie.set_cookie(
                        CSRF_COOKIE,
                        new,
                        httponly=True,
                        samesite="lax",
                        secure=cookie_is_secure(request),
                        path="/",
                    )
                    headers.append("set-cookie", cookie.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_with_headers)


def browser_csrf_token(request: Request) -> str:
    """The pre-session token of this browser (made by SecurityHeaders when it had none)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        return existing
    new: str = request.state.new_csrf
    return new


async def require_csrf(request: Request, expected: str) -> None:
    """Refuse an unsafe request whose token is not `expected`."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise CSRFError("the form was out of date or came from another site")
