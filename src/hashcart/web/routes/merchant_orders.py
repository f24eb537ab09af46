"""Merchant: orders (issue 12, order care). The list, an order's page, marking it shipped
with a tracking link (services/order_care tells the shopper, once), and refunding it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.services.order_care import (
    NoSuchOrder,
    ShipRefused,
    TrackingUrlError,
    mark_shipped,
)
from hashcart.views import api_reads, console_orders
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, read_only, render

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)

STATUS_WORDS = {"placed": "Placed · pay on invoice", "paid": "Paid", "refunded": "Refunded"}
# A form field longer than any tracking link we keep is refused before it is read further.
MAX_TRACKING_FIELD = 2000


@router.get("/orders")
def orders_list(request: Request, viewer: SignedInMerchant, page: int = 1) -> Response:
    with read_only(request) as connection:
        found = console_orders.orders(connection, page)
    return render(
        request,
        "merchant/orders.html",
        title="Orders",
        orders=found,
        page=found,
        query={},
        status_words=STATUS_WORDS,
    )


def _order(request: Request, order_id: str) -> dict[str, Any] | None:
    if not order_id.isdigit() or len(order_id) > 12:
        return None
    with read_only(request) as connection:
        found = api_reads.orders(connection, order_id=int(order_id))
    return found[0] if found else None


def _order_page(
    request: Request,
    order: dict[str, Any],
    status_code: int = 200,
    error: str | None = None,
    tracking: str = "",
    notice: str | None = None,
    refund_error: str | None = None,
) -> Response:
    return render(
        request,
        "merchant/order.html",
        status_code,
        title=f"Order {order['id']}",
        order=order,
        status_words=STATUS_WORDS,
        error=error,
        tracking=tracking,
        notice=notice,
        refund_error=refund_error,
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
) -> Response:
    order = _order(request, order_id)
    if order is None:
        return _not_found(request)
    app = hashcart_of(request)
    try:
        done = mark_shipped(
            app.unit_of_work, app.shop(), int(order["id"]), tracking, app.clock.now()
        )
    except (TrackingUrlError, ShipRefused) as problem:
        message = str(problem)
        return _order_page(
            request, order, 400, error=message[:1].upper() + message[1:] + ".", tracking=tracking
        )
    except NoSuchOrder:
        return _not_found(request)
    outcome = "1" if done.newly else "again"
    return RedirectResponse(f"/merchant/orders/{done.order_id}?shipped={outcome}", 303)
