"""Merchant: live sales (issue 13). The list with a form to open one, each sale's board as a
plain page (per item stock, held, paid, free, waitlist; the totals), close, and the invoices
as CSV: the same use cases and reads as `hashcart sales`. The board is live: its claims'
stream and numbers follow the sale by server-sent events (`/merchant/sales/<id>/events`,
web/sale_board), and without a script it is the same page, current when loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import Response

from hashcart.domain.posts import network_names
from hashcart.domain.sales import SaleInputError, parse_item_option, parse_post_option
from hashcart.ports import NewSaleItem, SaleExists
from hashcart.services.sales import close_sale, open_sale
from hashcart.views.sale_board import recent_claim_events
from hashcart.views.sales import invoices_csv, sale_report, sales_list
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, read_only, render
from hashcart.web.form_problems import problems_summary
from hashcart.web.sale_board import BoardStream, board_fields, claim_line, event_cursor

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

MAX_FIELD = 200
MAX_LIST_FIELD = 20_000
# How many of the claims' stream's lines the board shows (the newest).
BOARD_LINES = 50
_FORM_FIELDS = ("name", "posts", "items", "limit", "hold_hours")


def _page(
    request: Request,
    status_code: int = 200,
    *,
    form: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    with read_only(request) as connection:
        found = sales_list(connection)
    field_errors = field_errors or {}
    return render(
        request,
        "merchant/sales.html",
        status_code,
        title="Live sales",
        sales=found,
        # Every field named: the template's form["items"] would read a dict's items method.
        form={
            "name": "",
            "posts": "",
            "items": "",
            "limit": "",
            "hold_hours": "24",
            **(form or {}),
        },
        field_errors=field_errors,
        error=problems_summary(field_errors) if field_errors else None,
        notice=notice,
    )


@router.get("/sales")
def sales_page(request: Request, viewer: SignedInMerchant, done: str = "") -> Response:
    notices = {
        "opened": "Sale opened: replies to its posts now claim its items.",
        "closed": "Sale closed.",
    }
    return _page(request, notice=notices.get(done))


@router.post("/sales")
def sales_open(
    request: Request,
    viewer: SignedInMerchant,
    name: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    posts: Annotated[str, Form(max_length=MAX_LIST_FIELD)] = "",
    items: Annotated[str, Form(max_length=MAX_LIST_FIELD)] = "",
    limit: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    hold_hours: Annotated[str, Form(max_length=MAX_FIELD)] = "24",
) -> Response:
    form = dict(zip(_FORM_FIELDS, (name, posts, items, limit, hold_hours), strict=True))
    problems: dict[str, str] = {}
    parsed_posts: list[tuple[str, str]] = []
    parsed_items: list[NewSaleItem] = []
    count: int | None = None
    hours = 24.0
    try:
        parsed_posts = [parse_post_option(line, network_names()) for line in _lines(posts)]
    except SaleInputError as problem:
        problems["posts"] = _sentence(problem)
    text = limit.strip()
    if text and not (text.isascii() and text.isdigit() and 0 < len(text) <= 6 and int(text) > 0):
        problems["limit"] = "A limit is a whole number of units from 1, or empty."
    elif text:
        count = int(text)
    try:
        parsed_items = [
            NewSaleItem(number, product, stock, count)
            for number, product, stock in map(parse_item_option, _lines(items))
        ]
    except SaleInputError as problem:
        problems["items"] = _sentence(problem)
    try:
        hours = float(hold_hours.strip())
    except ValueError:
        problems["hold_hours"] = "Hold hours are a number, like 24."
    if not problems:
        app = hashcart_of(request)
        try:
            open_sale(app.unit_of_work, name, parsed_posts, parsed_items, hours, app.clock.now())
        except (SaleInputError, SaleExists) as problem:
            problems[_field_of(str(problem))] = _sentence(problem)
    if problems:
        return _page(request, 400, form=form, field_errors=problems)
    return RedirectResponse("/merchant/sales?done=opened", 303)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _sentence(problem: Exception) -> str:
    message = str(problem)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _field_of(message: str) -> str:
    """Which field a use case's refusal is about."""
    for word, field in (("post", "posts"), ("item", "items"), ("hold", "hold_hours")):
        if word in message:
            return field
    return "name"


def _named(request: Request, sale_id: str) -> str | None:
    if not (sale_id.isascii() and sale_id.isdigit() and len(sale_id) <= 12):
        return None
    with read_only(request) as connection:
        found = sales_list(connection)
    return next((sale["name"] for sale in found if sale["id"] == int(sale_id)), None)


def _not_found(request: Request) -> Response:
    return render(request, "error.html", 404, title="Not found", message="There is no such sale.")


@router.get("/sales/{sale_id}")
def sale_board(request: Request, viewer: SignedInMerchant, sale_id: str) -> Response:
    name = _named(request, sale_id)
    if name is None:
        return _not_found(request)
    with read_only(request) as connection:
        report = sale_report(connection, name)
        lines = recent_claim_events(connection, int(sale_id), BOARD_LINES)
    if report is None:
        return _not_found(request)
    return render(
        request,
        "merchant/sale.html",
        title=f"Sale {name}",
        sale=report,
        sale_id=int(sale_id),
        fields=board_fields(report),
        lines=[claim_line(line) for line in lines],
        newest=lines[0]["id"] if lines else 0,
        board_lines=BOARD_LINES,
    )


@router.get("/sales/{sale_id}/events")
def sale_events(
    request: Request, viewer: SignedInMerchant, sale_id: str, after: str = ""
) -> Response:
    """The board's server-sent events: `claim` (a line of the stream, its id the cursor) and
    `board` (every number, by its field key) whenever something changed."""
    name = _named(request, sale_id)
    if name is None:
        return _not_found(request)
    cursor = event_cursor(request.headers.get("last-event-id"), after)
    stream = BoardStream(request, int(sale_id), name, cursor)
    return StreamingResponse(
        stream.events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/sales/{sale_id}/close")
def sale_close(request: Request, viewer: SignedInMerchant, sale_id: str) -> Response:
    name = _named(request, sale_id)
    if name is None:
        return _not_found(request)
    app = hashcart_of(request)
    close_sale(app.unit_of_work, name, app.clock.now())
    return RedirectResponse("/merchant/sales?done=closed", 303)


@router.get("/sales/{sale_id}/invoices.csv")
def sale_invoices(request: Request, viewer: SignedInMerchant, sale_id: str) -> Response:
    name = _named(request, sale_id)
    if name is None:
        return _not_found(request)
    app = hashcart_of(request)
    with read_only(request) as connection:
        written = invoices_csv(connection, name, app.settings.public_url)
    if written is None:
        return _not_found(request)
    return Response(
        written,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sale-{int(sale_id)}-invoices.csv"'},
    )
