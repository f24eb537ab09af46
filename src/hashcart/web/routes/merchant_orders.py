"""Merchant: orders (issue 12, order care; issue 14, orders and fulfilment). The list,
filtered and paged by key, and its CSV export; an order's page with its posts, payment and
timeline; marking it shipped with a carrier and tracking link (services/order_care tells the
shopper, once), cancelling it (its payment voided or refunded, its stock given back, the
shopper told), refunding it, and its packing slip as a PDF. Every action is a POST with the
console's CSRF token."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.responses import Response

from hashcart.networks import registry
from hashcart.services.order_care import (
    CancelRefused,
    CarrierError,
    NoSuchOrder,
    ShipRefused,
    TrackingUrlError,
    cancel_order,
    mark_shipped,
)
from hashcart.views import console_orders
from hashcart.views.csv_cells import csv_cell
from hashcart.views.order_page import OrderDetail, order_detail
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, read_only, render
from hashcart.web.packing_slip import Slip, SlipLine, packing_slip, unicode_font

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

STATUS_WORDS = {
    "placed": "Placed · pay on invoice",
    "paid": "Paid",
    "refunded": "Refunded",
    "cancelled": "Cancelled",
}
# A form field longer than any tracking link we keep is refused before it is read further.
MAX_TRACKING_FIELD = 2000
MAX_CARRIER_FIELD = 400


def order_filter(
    status: str = "",
    since: str = "",
    until: str = "",
    network: str = "",
    post: str = "",
    q: str = "",
) -> console_orders.OrderFilter:
    """The list's filter from its query parameters (the list and its CSV export)."""
    return console_orders.order_filter(status, since, until, network, post, q)


Filter = Annotated[console_orders.OrderFilter, Depends(order_filter)]


@router.get("/orders")
def orders_list(
    request: Request, viewer: SignedInMerchant, wanted: Filter, after: str = "", before: str = ""
) -> Response:
    with read_only(request) as connection:
        found = console_orders.order_page(connection, wanted, after[:40], before=before[:40])
        counts = console_orders.status_counts(connection)
    return render(
        request,
        "merchant/orders.html",
        400 if wanted.problems else 200,
        title="Orders",
        orders=found,
        wanted=wanted,
        query=wanted.query(),
        any_status={name: value for name, value in wanted.query().items() if name != "status"},
        counts=counts,
        statuses=console_orders.ORDER_STATUSES,
        networks=[str(name) for name in registry.names()],
        status_words=STATUS_WORDS,
        field_errors=wanted.problems,
    )


@router.get("/orders.csv")
def orders_csv(request: Request, viewer: SignedInMerchant, wanted: Filter) -> Response:
    """The filtered list as CSV, streamed a batch at a time; every cell safe to open in a
    spreadsheet (one starting with = + - @ gets a leading ')."""
    if wanted.problems:
        said = "; ".join(f"{name}: {problem}" for name, problem in wanted.problems.items())
        return Response(said + "\n", 400, media_type="text/plain")

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(console_orders.CSV_HEADER)
        for row in console_orders.export(lambda: read_only(request), wanted):
            writer.writerow([csv_cell(value) for value in row])
            if out.tell() > 32_000:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="orders.csv"',
            "Cache-Control": "no-store",
        },
    )


def _detail(request: Request, order_id: str) -> OrderDetail | None:
    if not order_id.isdigit() or len(order_id) > 12:
        return None
    with read_only(request) as connection:
        return order_detail(connection, int(order_id))


def _order(request: Request, order_id: str) -> dict[str, Any] | None:
    detail = _detail(request, order_id)
    return None if detail is None else detail.order


def _order_page(
    request: Request,
    order: dict[str, Any],
    status_code: int = 200,
    error: str | None = None,
    tracking: str = "",
    notice: str | None = None,
    refund_error: str | None = None,
    carrier: str = "",
    field_errors: dict[str, str] | None = None,
    cancel_error: str | None = None,
) -> Response:
    detail = _detail(request, str(order["id"]))
    if detail is None:
        return _not_found(request)
    return render(
        request,
        "merchant/order.html",
        status_code,
        title=f"Order {order['id']}",
        order=detail.order,
        detail=detail,
        status_words=STATUS_WORDS,
        error=error,
        tracking=tracking,
        carrier=carrier,
        notice=notice,
        refund_error=refund_error,
        cancel_error=cancel_error,
        field_errors=field_errors or {},
    )


def _not_found(request: Request) -> Response:
    return render(request, "error.html", 404, title="Not found", message="There is no such order.")


@router.get("/orders/{order_id}")
def order_page(
    request: Request,
    viewer: SignedInMerchant,
    order_id: str,
    shipped: str = "",
    refunded: str = "",
    cancelled: str = "",
) -> Response:
    order = _order(request, order_id)
    if order is None:
        return _not_found(request)
    notice = None
    if shipped == "1":
        notice = "Marked shipped; the shopper is told."
    elif shipped == "again":
        notice = "This order was already shipped: nothing changed, nobody was told again."
    elif refunded == "1":
        notice = "Refunded: the whole amount goes back to the shopper's card."
    elif cancelled == "1":
        notice = "Cancelled: its stock is back on sale, its payment given back, the shopper told."
    elif cancelled == "again":
        notice = "This order was already cancelled: nothing changed, nobody was told again."
    return _order_page(request, order, notice=notice)


# --- refunds (issue 12: "refunds" through the payment port; the console had no button) -------


@router.post("/orders/{order_id}/refund")
def order_refund(
    request: Request,
    viewer: SignedInMerchant,
    order_id: str,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Give back the whole captured amount through the gateway that took it, once; a
    checkbox must say so, since money moves and cannot be taken back."""
    from hashcart.services.payments import refund_order

    order = _order(request, order_id)
    if order is None:
        return _not_found(request)
    if confirm != "yes":
        return _order_page(
            request,
            order,
            400,
            refund_error="Tick the box to confirm the refund; nothing was refunded.",
        )
    app = hashcart_of(request)
    refund = refund_order(
        app.unit_of_work, int(order["id"]), app.clock.now(), app.payment_gateways()
    )
    if not refund.done:
        fresh = _order(request, order_id) or order
        return _order_page(request, fresh, 409, refund_error=f"Not refunded: {refund.message}")
    return RedirectResponse(f"/merchant/orders/{order['id']}?refunded=1", 303)


@router.post("/orders/{order_id}/ship")
def order_ship(
    request: Request,
    viewer: SignedInMerchant,
    order_id: str,
    tracking: Annotated[str, Form(max_length=MAX_TRACKING_FIELD)] = "",
    carrier: Annotated[str, Form(max_length=MAX_CARRIER_FIELD)] = "",
) -> Response:
    order = _order(request, order_id)
    if order is None:
        return _not_found(request)
    app = hashcart_of(request)
    try:
        done = mark_shipped(
            app.unit_of_work, app.shop(), int(order["id"]), tracking, app.clock.now(), carrier
        )
    except (TrackingUrlError, CarrierError, ShipRefused) as problem:
        message = _sentence(str(problem))
        field = {TrackingUrlError: "tracking", CarrierError: "carrier"}.get(type(problem))
        return _order_page(
            request,
            order,
            400,
            error=None if field else message,
            tracking=tracking,
            carrier=carrier,
            field_errors={field: message} if field else None,
        )
    except NoSuchOrder:
        return _not_found(request)
    outcome = "1" if done.newly else "again"
    return RedirectResponse(f"/merchant/orders/{done.order_id}?shipped={outcome}", 303)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + "."


# --- cancelling and the packing slip (issue 14) ---------------------------------------------


@router.post("/orders/{order_id}/cancel")
def order_cancel(
    request: Request,
    viewer: SignedInMerchant,
    order_id: str,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Cancel an order not yet shipped: its payment voided (authorised) or refunded
    (captured) through the payment port, its units back in stock, the shopper told. A
    checkbox must say so; cancelling twice changes nothing the second time."""
    order = _order(request, order_id)
    if order is None:
        return _not_found(request)
    if confirm != "yes":
        return _order_page(
            request,
            order,
            400,
            field_errors={"confirm": "Tick the box to confirm; nothing was cancelled."},
        )
    app = hashcart_of(request)
    try:
        done = cancel_order(
            app.unit_of_work,
            app.shop(),
            int(order["id"]),
            app.clock.now(),
            app.payment_gateways(),
        )
    except CancelRefused as problem:
        return _order_page(request, order, 409, cancel_error=_sentence(str(problem)))
    except NoSuchOrder:
        return _not_found(request)
    if done.newly and not done.money_back:
        return _order_page(
            request,
            order,
            502,
            cancel_error=(
                "Cancelled and its stock given back, but the payment was not: "
                f"{done.money} Try the refund again later."
            ),
        )
    outcome = "1" if done.newly else "again"
    return RedirectResponse(f"/merchant/orders/{done.order_id}?cancelled={outcome}", 303)


@router.get("/orders/{order_id}/packing-slip.pdf")
def order_packing_slip(request: Request, viewer: SignedInMerchant, order_id: str) -> Response:
    detail = _detail(request, order_id)
    if detail is None:
        return _not_found(request)
    order = detail.order
    shipping = order["shipping"]
    address = (
        shipping["name"],
        shipping["line1"],
        shipping["line2"] or "",
        f"{shipping['postcode']} {shipping['city']}",
        shipping["country"],
    )
    lines = tuple(
        SlipLine(line["title"], int(line["quantity"]), detail.variants.get(index, ""))
        for index, line in enumerate(order["lines"])
    )
    slip = Slip(
        hashcart_of(request).settings.shop_name,
        int(order["id"]),
        order["created_at"],
        address,
        lines,
        detail.carrier,
    )
    return Response(
        packing_slip(slip, font=unicode_font()),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="packing-slip-{order["id"]}.pdf"',
            "Cache-Control": "no-store",
        },
    )
