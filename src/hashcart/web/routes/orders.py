"""The shopper's order history and order pages; another shopper's order is simply not found."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.services import payments
from hashcart.store import orders
from hashcart.web.context import (
    SignedInShopper,
    Viewer,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
)
from hashcart.web.store_checkout import allow_store_checkout, store_label_of

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
    return _invoice_page(request, viewer, invoice_id)


def _invoice_page(
    request: Request,
    viewer: Viewer,
    invoice_id: str,
    status_code: int = 200,
    store_error: str | None = None,
) -> Response:
    from hashcart.views.sales import invoice_of

    invoice = None
    if invoice_id.isdigit() and len(invoice_id) <= 12:
        with read_only(request) as connection:
            invoice = invoice_of(connection, viewer.id, int(invoice_id))
    if invoice is None:
        return render(
            request, "error.html", 404, title="Not found", message="There is no such invoice."
        )
    # Issue 16: with `checkout_at_store`, the won items can be paid at the merchant's store.
    pay_at_store = None
    if hashcart_of(request).settings.checkout_at_store and invoice["status"] == "open":
        pay_at_store = store_label_of(request) if invoice["lines"] else None
    page = render(
        request,
        "shop/invoice.html",
        status_code,
        title=f"Invoice #{invoice['id']}",
        invoice=invoice,
        pay_at_store=pay_at_store,
        store_error=store_error,
    )
    if pay_at_store is not None:
        allow_store_checkout(request, page)
    return page


@router.post("/orders/invoice/{invoice_id}/store")
def pay_invoice_at_store(request: Request, viewer: SignedInShopper, invoice_id: str) -> Response:
    """Hand the invoice's unpaid won items to the merchant's store and send the shopper to
    its checkout (303); the invoice again, with the store's words, when it cannot."""
    from hashcart.ports import StoreRefused, StoreUnreachable
    from hashcart.services.store_sync import NothingToHandOff, hand_off_invoice
    from hashcart.stores.registry import StoreNotConfigured, UnknownStore

    app = hashcart_of(request)
    if not invoice_id.isdigit() or len(invoice_id) > 12:
        return _invoice_page(request, viewer, invoice_id)
    if not app.settings.checkout_at_store or app.settings.store == "builtin":
        return RedirectResponse(f"/orders/invoice/{invoice_id}", 303)
    try:
        store = app.commerce_store()
        handoff = hand_off_invoice(
            app.unit_of_work,
            store,
            app.clock,
            viewer.id,
            viewer.person.email,
            int(invoice_id),
            app.store_accounts(),
        )
    except (StoreNotConfigured, UnknownStore):
        why = "Paying at the store is not set up yet."
        return _invoice_page(request, viewer, invoice_id, 503, why)
    except NothingToHandOff as problem:
        return _invoice_page(request, viewer, invoice_id, 409, str(problem))
    except StoreRefused as refusal:
        why = f"The store could not take this invoice: {refusal}"
        return _invoice_page(request, viewer, invoice_id, 409, why)
    except StoreUnreachable:
        why = "The store did not answer. Nothing changed; please try again."
        return _invoice_page(request, viewer, invoice_id, 503, why)
    return RedirectResponse(handoff.checkout_url, 303)


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
