"""Error pages for people, JSON problems for programs.

A browser that asks for a page (its `Accept` names text/html, as every navigation does) and
meets a 404, 403, 405 or 500 gets a page in the site's style with a way back that fits who
is looking: the shop, the console, or the sign-in that would let them in. The API
(`/api/...`), the webhooks and every client that does not ask for HTML keep the answers they
had: FastAPI's `{"detail": ...}` JSON, and Starlette's plain-text 500."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from hashcart.web.context import merchant_of, render, shopper_of
from hashcart.web.security import apply_security_headers

log = logging.getLogger(__name__)

# Paths whose callers are programs, whatever they accept.
PROGRAM_PREFIXES = ("/api/", "/webhooks/")


@dataclass(frozen=True)
class WayBack:
    href: str
    label: str


@dataclass(frozen=True)
class Wording:
    title: str
    message: str


WORDING: dict[int, Wording] = {
    403: Wording("Not for you", "This page is not open to you."),
    404: Wording("Page not found", "There is no page at this address. It may have moved."),
    405: Wording("Not like that", "This address cannot be used that way. Try the link instead."),
    500: Wording(
        "Something went wrong",
        "The shop could not answer just now; nothing you sent was lost. Try again in a moment.",
    ),
}


def wants_page(request: Request) -> bool:
    """A browser asking for a page: not a program's path, and text/html accepted by name
    (a bare `*/*`, curl's and the test client's default, keeps the JSON it always had)."""
    if request.url.path.startswith(PROGRAM_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "").lower()


def in_console(request: Request) -> bool:
    path = request.url.path
    return path == "/merchant" or path.startswith("/merchant/")


def ways_back(request: Request) -> list[WayBack]:
    """Where to go from here: the console for the console's pages (or its sign-in), and
    the shop for everything else."""
    slug = request.app.state.hashcart.settings.shop_slug
    shop = WayBack(f"/s/{slug}", "Back to the shop")
    if not in_console(request):
        return [shop]
    if merchant_of(request) is not None:
        return [WayBack("/merchant", "Go to the console"), shop]
    return [WayBack("/merchant/sign-in", "Merchant sign-in"), shop]


def error_page(
    request: Request,
    status_code: int,
    *,
    title: str | None = None,
    message: str | None = None,
    ways: list[WayBack] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    wording = WORDING.get(status_code, Wording("Something went wrong", "Please go back."))
    page = render(
        request,
        "error.html",
        status_code,
        title=title or wording.title,
        message=message or wording.message,
        error_code=status_code,
        ways_back=ways if ways is not None else ways_back(request),
    )
    for name, value in (headers or {}).items():
        page.headers[name] = value
    return page


async def http_error(request: Request, error: Exception) -> Response:
    """Every HTTPException: a page for a browser, FastAPI's JSON for the rest."""
    assert isinstance(error, StarletteHTTPException)
    if not wants_page(request) or error.status_code < 400:
        return await http_exception_handler(request, error)
    return error_page(request, error.status_code, headers=dict(error.headers or {}))


def shopper_in_the_console(request: Request) -> Response:
    """A signed-in shopper who followed the footer's "Merchant console" link: say what the
    console is, and offer the merchant sign-in (it takes a separate account)."""
    viewer = shopper_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    slug = request.app.state.hashcart.settings.shop_slug
    who = f"You are signed in as the shopper {viewer.person.email}. " if viewer else ""
    return error_page(
        request,
        403,
        title="The merchant console",
        message=(
            "The console is for the shop's staff: where they run the shop's posts, orders, "
            f"catalog and settings. {who}Staff sign in with their merchant account."
        ),
        ways=[
            WayBack(f"/merchant/sign-in?next={quote(here, safe='')}", "Merchant sign-in"),
            WayBack(f"/s/{slug}", "Back to the shop"),
        ],
    )


# The last resort, when even the page cannot be drawn (the database is down): no template,
# no query, still in the site's colours and with a way back.
_BARE_500 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Something went wrong</title><link rel="stylesheet" href="/static/style.css"></head>
<body class="shop"><main class="wrap"><section class="panel narrow error-page">
<p class="muted error-code">Error 500</p><h1>Something went wrong</h1>
<p>The shop could not answer just now. Try again in a moment.</p>
<ul class="ways-back"><li><a class="button" href="{home}">Back to the shop</a></li></ul>
</section></main></body></html>"""


async def server_error(request: Request, error: Exception) -> Response:
    """An unhandled error (Starlette's ServerErrorMiddleware calls this, outside every other
    middleware, so the security headers are set here). Programs get the plain-text answer
    they always had."""
    if not wants_page(request):
        response: Response = PlainTextResponse("Internal Server Error", 500)
    else:
        try:
            response = error_page(request, 500)
        except Exception:  # the page needs the database, which may be what failed
            log.exception("the 500 page could not be drawn; the bare one is shown")
            slug = request.app.state.hashcart.settings.shop_slug
            home = escape(f"/s/{quote(slug, safe='')}")
            response = HTMLResponse(_BARE_500.format(home=home), 500)
    apply_security_headers(response, request)
    return response
