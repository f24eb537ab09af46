"""Merchant: the live view of a campaign or live sale, triggers and cart adds per minute.

`/merchant/live` is the page; `/merchant/live.svg` the chart (a real picture, redrawn on
each request) and `/merchant/live.json` the numbers beside it. `static/live.js` reloads both
every few seconds. All three take `?minutes=` (the window) and `?post=<network>/<id>`.
See `store.activity` for which time each count is bucketed by.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, select
from starlette.responses import Response

from hashcart.errors import HashcartError
from hashcart.store import schema as t
from hashcart.store.shopping import parse_web_source, web_source
from hashcart.views.activity import Activity, PostKey, activity, recent_shoppable_posts
from hashcart.web.charts import Series, line_chart
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, read_only, render
from hashcart.web.formatting import network_name

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

DEFAULT_MINUTES = 60
MAX_MINUTES = 24 * 60
REFRESH_SECONDS = 5
TRIGGER_COLOUR = "#1f6f5c"
CART_COLOUR = "#d97706"
_NO_STORE = {"Cache-Control": "no-store"}


class LiveQueryError(HashcartError, ValueError):
    """?minutes= or ?post= that make no sense; the message says which."""


@dataclass(frozen=True)
class LiveQuery:
    minutes: int
    post: PostKey | None

    @classmethod
    def of(cls, minutes: str | None, post: str | None) -> LiveQuery:
        window = DEFAULT_MINUTES
        if minutes:
            if not minutes.isascii() or not minutes.isdigit():
                raise LiveQueryError("The window is a whole number of minutes.")
            window = int(minutes)
            if not 1 <= window <= MAX_MINUTES:
                raise LiveQueryError(f"The window is 1 to {MAX_MINUTES} minutes.")
        followed = None
        if post:
            parsed = parse_web_source(post)
            if parsed is None:
                raise LiveQueryError("Follow a post as <network>/<post id>, e.g. x/1234.")
            followed = PostKey(*parsed)
        return cls(window, followed)

    @property
    def params(self) -> str:
        values = {"minutes": str(self.minutes)}
        if self.post is not None:
            values["post"] = web_source(self.post.network, self.post.post_id)
        return urlencode(values)


def _post_label(connection: Connection, post: PostKey | None) -> str:
    if post is None:
        return "all posts"
    text = connection.execute(
        select(t.posts.c.text).where(
            t.posts.c.network == post.network, t.posts.c.post_id == post.post_id
        )
    ).scalar_one_or_none()
    words = " ".join((text or "").split())
    shown = words if len(words) <= 60 else words[:59] + "…"
    name = network_name(post.network)
    return f"{name} post “{shown}”" if shown else f"{name} post {post.post_id}"


def _read(request: Request, query: LiveQuery) -> tuple[Activity, str]:
    app = hashcart_of(request)
    with read_only(request) as connection:
        found = activity(connection, app.clock.now(), query.minutes, query.post)
        label = _post_label(connection, query.post)
    return found, label


def _numbers(found: Activity, query: LiveQuery, label: str) -> dict[str, Any]:
    last = found.last_minute
    return {
        "minutes": query.minutes,
        "post": web_source(query.post.network, query.post.post_id) if query.post else None,
        "label": label,
        "start": found.start.isoformat(),
        "end": found.end.isoformat(),
        "triggers": found.triggers,
        "cart_adds": found.cart_adds,
        "triggers_last_minute": last.triggers,
        "cart_adds_last_minute": last.cart_adds,
        "buckets": [
            {
                "minute": bucket.start.isoformat(),
                "triggers": bucket.triggers,
                "cart_adds": bucket.cart_adds,
            }
            for bucket in found.buckets
        ],
    }


# A phone shows the chart at its own width rather than a laptop's picture shrunk to a
# third, which made the axis labels about 5 px tall (issue 14).
PHONE_CHART = {"width": 380, "height": 300}


def chart_svg(found: Activity, query: LiveQuery, label: str, *, phone: bool = False) -> str:
    return line_chart(
        "Replies and cart adds per minute" if phone else "Trigger replies and cart adds per minute",
        [bucket.start.strftime("%H:%M") for bucket in found.buckets],
        [
            Series("Trigger replies", TRIGGER_COLOUR, [b.triggers for b in found.buckets]),
            Series("Cart adds", CART_COLOUR, [b.cart_adds for b in found.buckets]),
        ],
        subtitle=f"{label[:1].upper()}{label[1:]}, last {query.minutes} minutes (UTC)",
        y_title="per minute",
        **(PHONE_CHART if phone else {}),
    )


@router.get("/live")
def live_page(
    request: Request,
    viewer: SignedInMerchant,
    minutes: str | None = None,
    post: str | None = None,
) -> Response:
    error = None
    try:
        query = LiveQuery.of(minutes, post)
    except LiveQueryError as problem:
        error, query = str(problem), LiveQuery(DEFAULT_MINUTES, None)
    found, label = _read(request, query)
    app = hashcart_of(request)
    accounts = app.effective_settings().parsed_shop_accounts()
    with read_only(request) as connection:
        choices = recent_shoppable_posts(connection, accounts=accounts)
    chosen = web_source(query.post.network, query.post.post_id) if query.post else ""
    return render(
        request,
        "merchant/live.html",
        400 if error else 200,
        title="Live",
        error=error,
        field_errors={("minutes" if "window" in error else "post"): error} if error else {},
        query=query,
        numbers=_numbers(found, query, label),
        choices=choices,
        chosen=chosen,
        chosen_listed=any(web_source(c.network, c.post_id) == chosen for c in choices),
        web_source=web_source,
        network_name=network_name,
        refresh_seconds=REFRESH_SECONDS,
        window_choices=(15, 30, 60, 180, 720, 1440),
    )


@router.get("/live.svg")
def live_svg(
    request: Request,
    viewer: SignedInMerchant,
    minutes: str | None = None,
    post: str | None = None,
    size: str | None = None,
) -> Response:
    try:
        query = LiveQuery.of(minutes, post)
    except LiveQueryError as problem:
        return Response(f"{problem}\n", 400, media_type="text/plain", headers=_NO_STORE)
    found, label = _read(request, query)
    svg = chart_svg(found, query, label, phone=size == "phone")
    return Response(svg, media_type="image/svg+xml", headers=_NO_STORE)


@router.get("/live.json")
def live_json(
    request: Request,
    viewer: SignedInMerchant,
    minutes: str | None = None,
    post: str | None = None,
) -> Response:
    try:
        query = LiveQuery.of(minutes, post)
    except LiveQueryError as problem:
        return JSONResponse({"detail": str(problem)}, 400, headers=_NO_STORE)
    found, label = _read(request, query)
    return JSONResponse(_numbers(found, query, label), headers=_NO_STORE)
