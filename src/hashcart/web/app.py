"""The FastAPI application: pages, console and API on one hashcart App."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from hashcart.bootstrap import App
from hashcart.networks import registry
from hashcart.ports import StoreChangeSink
from hashcart.store.store_changes import StoredStoreChanges
from hashcart.web import error_pages, routes
from hashcart.web.context import (
    NotAllowed,
    SignInRequired,
    render,
    sign_in_redirect_target,
    templates,
)
from hashcart.web.error_pages import shopper_in_the_console
from hashcart.web.security import CSRFError, SecurityHeaders

STATIC = Path(__file__).parent / "static"
OPENAPI_URL = "/api/openapi.json"
# Swagger UI's files, served by the app: the wheel of fastapi-offline (pinned in pyproject)
# carries swagger-ui-dist 5.32.6, so the docs page loads nothing from elsewhere and runs
# under the same CSP as every page. https://fastapi.tiangolo.com/how-to/custom-docs-ui-assets/
API_DOCS_ASSETS = "/api/docs/assets"


def _document_registered_networks(app: FastAPI) -> None:
    """The API document's `Network` enum (the `/api/posts?network=` filter, a post's
    `network`) lists the networks registered when the app is made, in registration order:
    x, mastodon, bluesky and any other. The type itself accepts every registered name
    (domain.posts.Network); only its listing in the document is fixed at import."""
    names = [str(name) for name in registry.names()]
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            network = schema.get("components", {}).get("schemas", {}).get("Network")
            if network is not None:
                network["enum"] = names
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    hashcart: App, *, demo: bool = False, store_changes: StoreChangeSink | None = None
) -> FastAPI:
    """The app on `hashcart`. `demo` (only `hashcart demo --serve` sets it) adds the
    demo's mail page, /demo/mail: a demo has no mail server to read reset links from.
    `store_changes` takes what the store's webhooks say changed (/webhooks/shopify); by
    default it is kept in the database for the next sync."""
    app = FastAPI(
        title="hashcart",
        summary="Social replies become shopping carts: the shop's JSON API.",
        docs_url=None,  # /api/docs below: FastAPI's page starts Swagger UI inline, from a CDN
        redoc_url=None,
        # The API takes bearer tokens, not an OAuth flow: no redirect page to serve.
        swagger_ui_oauth2_redirect_url=None,
        openapi_url=OPENAPI_URL,
    )
    app.state.hashcart = hashcart
    app.state.demo = demo
    app.state.store_changes = (
        store_changes or StoredStoreChanges(hashcart.engine, hashcart.clock).record
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(
        API_DOCS_ASSETS,
        StaticFiles(packages=[("fastapi_offline", "static")]),
        name="api-docs-assets",
    )

    @app.get("/api/docs", include_in_schema=False)
    def _api_docs(request: Request) -> Response:
        context = {"title": app.title, "assets": API_DOCS_ASSETS, "openapi_url": OPENAPI_URL}
        return templates.TemplateResponse(request, "api_docs.html", context)

    for router in routes.all_routers():
        app.include_router(router)
    if demo:
        from hashcart.web.routes import demo_mail

        app.include_router(demo_mail.router)
    _document_registered_networks(app)

    @app.exception_handler(SignInRequired)
    async def _sign_in_first(request: Request, error: SignInRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return Response(status_code=401)
        return RedirectResponse(sign_in_redirect_target(error.kind, error.next_path), 303)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _error: NotAllowed) -> Response:
        return shopper_in_the_console(request)

    # Pages for people, JSON (and the plain-text 500) for programs: web/error_pages.py.
    app.add_exception_handler(StarletteHTTPException, error_pages.http_error)
    app.add_exception_handler(Exception, error_pages.server_error)

    @app.exception_handler(CSRFError)
    async def _csrf(request: Request, error: CSRFError) -> Response:
        return render(
            request,
            "error.html",
            403,
            title="Please try again",
            message=f"Nothing was changed: {error}. Go back, reload and send it again.",
        )

    return app
