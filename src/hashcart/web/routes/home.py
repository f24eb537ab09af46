"""The front door: where a visitor lands, and the health check operators poll."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    slug = request.app.state.hashcart.settings.shop_slug
    return RedirectResponse(f"/s/{slug}", 303)


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
