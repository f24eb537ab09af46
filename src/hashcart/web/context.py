"""What a route needs from the request: the hashcart App, the database, who is signed in,
and page rendering with the things every page shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection
from starlette.responses import Response

from hashcart.bootstrap import App
from hashcart.errors import HashcartError
from hashcart.store import accounts
from hashcart.store.accounts import Kind, Person
from hashcart.store.database import read_only_transaction
from hashcart.web import formatting
from hashcart.web.cart_badge import cart_badge, forget_added
from hashcart.web.security import (
    UNSAFE_METHODS,
    browser_csrf_token,
    cookie_is_secure,
    require_csrf,
)
from hashcart.web.tokens import digest, new_secret

SESSION_COOKIES: dict[Kind, str] = {"shopper": "hc_session", "merchant": "hc_merchant"}

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
formatting.install(templates.env)


def hashcart_of(request: Request) -> App:
    app: App = request.app.state.hashcart
    return app


@contextmanager
def unit_of_work(request: Request) -> Iterator[Connection]:
    """One transaction that writes, the App's unit of work: everything inside commits
    together or not at all. (SQLite: it takes the write lock as it begins, so it waits for
    an ingest batch.) Yields its connection, for the store modules routes call."""
    with hashcart_of(request).unit_of_work() as uow:
        yield uow.connection


@contextmanager
def read_only(request: Request) -> Iterator[Connection]:
    """One transaction that only reads: what a page shows. It cannot write, and on SQLite
    it reads the last commit beside a writer instead of waiting for the write lock, so page
    views do not queue behind ingest. Anything that changes the database: unit_of_work."""
    with read_only_transaction(hashcart_of(request).engine) as connection:
        yield connection


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a signed-in person and the CSRF token of their session."""

    person: Person
    csrf_token: str

    @property
    def id(self) -> int:
        return self.person.id


_UNKNOWN = object()


def _viewer(request: Request, kind: Kind) -> Viewer | None:
    cache = f"viewer_{kind}"
    found = getattr(request.state, cache, _UNKNOWN)
    if found is not _UNKNOWN:
        assert found is None or isinstance(found, Viewer)
        return found
    token = request.cookies.get(SESSION_COOKIES[kind])
    viewer = None
    if token:
        app = hashcart_of(request)
        # A read: pages may ask who is looking while their own unit of work is open.
        with read_only(request) as connection:
            session = accounts.find_session(connection, digest(token), kind, app.clock.now())
            person = (
                accounts.find_person(connection, kind, person_id=session.subject_id)
                if session
                else None
            )
        if session is not None and person is not None:
            viewer = Viewer(person, session.csrf_token)
    setattr(request.state, cache, viewer)
    return viewer


def shopper_of(request: Request) -> Viewer | None:
    return _viewer(request, "shopper")


def merchant_of(request: Request) -> Viewer | None:
    return _viewer(request, "merchant")


class SignInRequired(HashcartError):
    """A page for signed-in people only; the handler sends the browser to sign in."""

    def __init__(self, kind: Kind, next_path: str) -> None:
        self.kind = kind
        self.next_path = next_path


class NotAllowed(HashcartError):
    """Signed in, but not as someone who may see this."""


def _area_kind(request: Request) -> Kind:
    path = request.url.path
    return "merchant" if path.startswith("/merchant") else "shopper"


def csrf_token_for(request: Request) -> str:
    """The token this browser's forms must carry on this page."""
    viewer = _viewer(request, _area_kind(request))
    return viewer.csrf_token if viewer else browser_csrf_token(request)


async def csrf_protected(request: Request) -> None:
    """Router dependency: every unsafe request carries this browser's CSRF token. (Only
    those look it up: this runs on the event loop, and a page's signed-in lookup, a
    database read, would hold every other request up; its route looks it up in a thread.)"""
    if request.method in UNSAFE_METHODS:
        await require_csrf(request, csrf_token_for(request))


def require_shopper(request: Request) -> Viewer:
    viewer = shopper_of(request)
    if viewer is None:
        raise SignInRequired("shopper", _here(request))
    return viewer


def require_merchant(request: Request) -> Viewer:
    viewer = merchant_of(request)
    if viewer is None:
        if shopper_of(request) is not None:
            raise NotAllowed()
        raise SignInRequired("merchant", _here(request))
    return viewer


# Route parameters: `viewer: SignedInShopper` answers only to a signed-in shopper.
SignedInShopper = Annotated[Viewer, Depends(require_shopper)]
SignedInMerchant = Annotated[Viewer, Depends(require_merchant)]


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


def sign_in_redirect_target(kind: Kind, next_path: str) -> str:
    start = "/merchant/sign-in" if kind == "merchant" else "/sign-in"
    return f"{start}?next={quote(next_path, safe='')}"


def safe_next(next_path: str | None, default: str = "/") -> str:
    """Only local paths: `?next=https://evil.test` must not send anyone away."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return default
    if "\\" in next_path or any(ord(ch) < 0x20 for ch in next_path):
        return default
    return next_path


def sign_in(request: Request, response: Response, connection: Connection, person: Person) -> None:
    """Start a session for `person` and set its cookie on `response`."""
    app = hashcart_of(request)
    token = new_secret()
    now = app.clock.now()
    lifetime = timedelta(days=app.settings.session_days)
    accounts.start_session(
        connection, digest(token), person.kind, person.id, new_secret(), now, now + lifetime
    )
    response.set_cookie(
        SESSION_COOKIES[person.kind],
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request),
        path="/",
    )


def sign_out(request: Request, response: Response, kind: Kind) -> None:
    token = request.cookies.get(SESSION_COOKIES[kind])
    if token:
        with unit_of_work(request) as connection:
            accounts.end_session(connection, digest(token))
    response.delete_cookie(SESSION_COOKIES[kind], path="/")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """A page, with what every page shows: the shop, who is signed in, the CSRF token."""
    app = hashcart_of(request)
    context.setdefault("shopper", shopper_of(request))
    context.setdefault("merchant", merchant_of(request))
    context.setdefault("csrf_token", csrf_token_for(request))
    context.setdefault("shop_name", app.settings.shop_name)
    context.setdefault("shop_slug", app.settings.shop_slug)
    context.setdefault("in_console", request.url.path.startswith("/merchant"))
    # The demo's pages point at its mail page (web/routes/demo_mail.py).
    context.setdefault("demo", getattr(request.app.state, "demo", False))
    shopper = context["shopper"]
    if shopper is not None and not context["in_console"] and status_code < 500:
        # The header's cart count, and "Added ... to your cart" after Add to cart (issue 14).
        with read_only(request) as connection:
            context.setdefault("cart_badge", cart_badge(request, connection, shopper.id))
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if context.get("cart_badge") is not None:
        forget_added(request, response)
    return response
