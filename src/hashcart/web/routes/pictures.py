"""Product pictures, served from hashcart itself: /images/<id>/<size>, where size is a
rendition's longest side (800 or 200, services/images). The bytes of one id never change
(a picture fetched again gets its row's renditions only while it had none), so browsers
may keep them a year."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hashcart.views.pictures import rendition
from hashcart.web.context import read_only, render

router = APIRouter(include_in_schema=False)

CACHE_FOREVER = "public, max-age=31536000, immutable"


@router.get("/images/{image_id}/{size}")
def picture(request: Request, image_id: str, size: str) -> Response:
    found = None
    if image_id.isdigit() and len(image_id) <= 12:
        with read_only(request) as connection:
            found = rendition(connection, int(image_id), size)
    if found is None:
        return render(request, "error.html", 404, title="Not found", message="No such picture.")
    content_type, data = found
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": CACHE_FOREVER, "X-Content-Type-Options": "nosniff"},
    )
