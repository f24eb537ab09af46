"""The shopper's order history and order pages; another shopper's order is simply not found."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hashcart.services import payments
from hashcart.store import orders
from hashcart.web.context import SignedInShopper, csrf_protected, hashcart_of, read_only, render

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)

STATUS_WORDS = {
    "placed": "Placed · pay on invoice",
    "paid": "Paid",
    "refunded": "Refunded",
    "cancelled": "Cancelled by the shop",
}


@router.get("/orders")
def order_history(request: Request, viewer: SignedInShopper) -> Response:
    with read_only(request) as connection:
        found = orders.orders_of(connection, viewer.id)
    return render(
        request, "shop/orders.html", title="Your orders", orders=found, status_words=STATUS_WORDS
    )


@router.get("/orders/invoice/{invoice_id}")
def invoice_page(request: Request, viewer: SignedInShopper, invoice_id: str) -> Response:
    """A live sale's invoice (issue 13): the items the shopper won, the total, pay-by."""
    from hashcart.views.sales import invoice_of

    invoice = None
    if invoice_id.isdigit() and len(invoice_id) <= 12:
        with read_only(request) as connection:
            invoice = invoice_of(connection, viewer.id, int(invoice_id))
    if invoice is None:
        return render(
            request, "error.html", 404, title="Not found", message="There is no such invoice."
        )
    return render(request, "shop/invoice.html", title=f"Invoice #{invoice['id']}", invoice=invoice)


@router.get("/orders/{order_id}")
def order_page(
    request: Request, viewer: SignedInShopper, order_id: str, placed: str = ""
) -> Response:
    order = None
    if order_id.isdigit() and len(order_id) <= 12:
        with read_only(request) as connection:
            order = orders.order_of(connection, viewer.id, int(order_id))
    if order is None:
        return render(
            request, "error.html", 404, title="Not found", message="There is no such order."
        )
    return render(
        request,
        "shop/order.html",
        title=f"Order #{order.id}",
        order=order,
        just_placed=placed == "1",
        status_words=STATUS_WORDS,
        payment_label=payments.payment_label(
            order.payment_gateway, hashcart_of(request).payment_gateways()
        ),
    )
