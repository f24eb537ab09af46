"""The front door: where a visitor lands, and the health check operators poll."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.responses import Response

router = APIRouter(include_in_schema=False)

# Browsers ask for /favicon.ico on every site, whatever the page links; a day's cache.
FAVICON = Path(__file__).parent.parent / "static" / "favicon.ico"


@router.get("/")
def home(request: Request) -> Response:
    slug = request.app.state.hashcart.settings.shop_slug
    return RedirectResponse(f"/s/{slug}", 303)


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/favicon.ico")
def favicon() -> Response:
    return FileResponse(
        FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )
