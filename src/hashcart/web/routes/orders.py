"""The shopper's order history and order pages; another shopper's order is simply not found."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.ports import PaymentGateway, SavedPaymentMethod
from hashcart.services import checkout, invoice_payment, payments
from hashcart.services.checkout import CHECKOUT_KEY
from hashcart.store import orders, saved_addresses
from hashcart.store.gateway_records import StoredGatewayRecords
from hashcart.store.repository import Repository
from hashcart.web.context import (
    SignedInShopper,
    Viewer,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
)
from hashcart.web.payment_form import PaymentForm, form_problems, payment_form
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


def _invoice_id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 12 else None


def _not_found(request: Request) -> Response:
    return render(
        request, "error.html", 404, title="Not found", message="There is no such invoice."
    )


def _invoice_page(
    request: Request,
    viewer: Viewer,
    invoice_id: int,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    *,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    store_error: str | None = None,
) -> Response:
    """The invoice, and while it is open its payment form with a fresh pay key: a form sent
    again after a problem is a new attempt (a declined card paid nothing under the old key)."""
    from hashcart.views.sales import invoice_of

    app = hashcart_of(request)
    now = app.clock.now()
    with read_only(request) as connection:
        invoice = invoice_of(connection, viewer.id, invoice_id)
        paying = invoice_payment.invoice_basket(Repository(connection), invoice_id, viewer.id, now)
        card = StoredGatewayRecords(connection).saved_method(viewer.id)
        address = saved_addresses.shipping_address(connection, viewer.id)
    if invoice is None or paying is None:
        return _not_found(request)
    gateways = _gateways(request, card)
    if form is None:
        form = asdict(address) if address else {"name": viewer.person.name or ""}
        form["payment_method"] = SAVED if SAVED in gateways else DEFAULT_GATEWAY
    # Issue 16: with `checkout_at_store`, the won items can be paid at the merchant's store.
    pay_at_store = None
    if app.settings.checkout_at_store and invoice["status"] == "open" and invoice["lines"]:
        pay_at_store = store_label_of(request)
    page = render(
        request,
        "shop/invoice.html",
        status_code,
        title=f"Invoice #{invoice['id']}",
        invoice=invoice,
        pay_at_store=pay_at_store,
        store_error=store_error,
        paying=paying,
        basket=paying.basket,
        summary=checkout.summary_of(paying.basket),
        offer_summary=checkout.offer_summary(paying.basket),
        pay_key=secrets.token_urlsafe(24),
        card=card,
        gateways=list(gateways.values()),
        form=form,
        error=error,
        field_errors=field_errors or {},
    )
    if pay_at_store is not None:
        allow_store_checkout(request, page)
    return page


@dataclass(frozen=True)
class _SavedCard:
    """The shopper's saved card as one of the page's ways to pay."""

    label: str
    gateway: PaymentGateway
    method_id: str
    name: str = "saved"
    fields: tuple[str, ...] = ()


SAVED = _SavedCard.name
DEFAULT_GATEWAY = "test_card"


def _gateways(
    request: Request, card: SavedPaymentMethod | None
) -> dict[str, PaymentGateway | _SavedCard]:
    """The ways to pay an invoice: the saved card first (through its own gateway), then the
    checkout's gateways (a field-less one that only charges the saved card stands once)."""
    known = hashcart_of(request).payment_gateways()
    ways: dict[str, PaymentGateway | _SavedCard] = {}
    saved = known.get(card.gateway) if card is not None else None
    if card is not None and saved is not None:
        label = f"Saved card: {card.brand} ending in {card.last4}"
        ways[SAVED] = _SavedCard(label, saved, card.method_id)
    for name, gateway in known.items():
        if not (saved is not None and gateway is saved and not gateway.fields):
            ways[name] = gateway
    return ways


@router.get("/orders/invoice/{invoice_id}")
def invoice_page(request: Request, viewer: SignedInShopper, invoice_id: str) -> Response:
    """A live sale's invoice (issue 13): the items the shopper won, the total, pay-by, and
    the form that pays it (or, once paid, its order)."""
    number = _invoice_id(invoice_id)
    if number is None:
        return _not_found(request)
    return _invoice_page(request, viewer, number)


@router.post("/orders/invoice/{invoice_id}/pay")
def invoice_pay(
    request: Request,
    viewer: SignedInShopper,
    invoice_id: str,
    sent: Annotated[PaymentForm, Depends(payment_form)],
    pay_key: Annotated[str, Form()] = "",
) -> Response:
    """Pay the invoice through the checkout's money path (services/invoice_payment)."""
    number = _invoice_id(invoice_id)
    if number is None:
        return _not_found(request)
    app = hashcart_of(request)
    form = sent.typed()
    if not CHECKOUT_KEY.fullmatch(pay_key):
        return _invoice_page(
            request, viewer, number, form, 400, error="The form was incomplete: pay again."
        )
    with read_only(request) as connection:
        card = StoredGatewayRecords(connection).saved_method(viewer.id)
    way = _gateways(request, card).get(sent.payment_method)
    fields = sent.card_fields()
    gateway: PaymentGateway | None = None
    if isinstance(way, _SavedCard):
        gateway, fields = way.gateway, {"saved_method": way.method_id}
    elif way is not None:
        gateway = way
    address, _first = checkout.read_address(form)
    if address is not None:
        outcome = invoice_payment.pay_invoice(
            app.unit_of_work,
            app.clock,
            invoice_payment.InvoicePayment(
                customer=viewer.person,
                invoice_id=number,
                pay_key=pay_key,
                shown=sent.shown,
                shown_offer=sent.shown_offer[:100],
                address=address,
                shop_name=app.settings.shop_name,
                public_url=app.settings.public_url,
            ),
            gateway,
            fields,
        )
        if isinstance(outcome, invoice_payment.InvoicePaid):
            return RedirectResponse(f"/orders/invoice/{number}?paid=1", 303)
        if outcome.why == "not_found":
            return _not_found(request)
        if outcome.why != "declined" or gateway is not None:
            status = _STATUS_CODES[outcome.why]
            return _invoice_page(request, viewer, number, form, status, error=outcome.message)
    # The form's own problems, each beside its field (issue 14): the address, and no way to
    # pay chosen (when something is owed: a declined answer with no gateway says so).
    summary, problems = form_problems(form, way_to_pay=gateway is not None)
    return _invoice_page(request, viewer, number, form, 400, error=summary, field_errors=problems)


# Why an invoice was not paid -> the page's status: a declined card is 402 Payment Required.
_STATUS_CODES = {
    "changed": 409,
    "cannot_pay": 409,
    "declined": 402,
    "unreachable": 503,
    "not_placed": 409,
}


@router.post("/orders/invoice/{invoice_id}/store")
def pay_invoice_at_store(request: Request, viewer: SignedInShopper, invoice_id: str) -> Response:
    """Hand the invoice's unpaid won items to the merchant's store and send the shopper to
    its checkout (303); the invoice again, with the store's words, when it cannot."""
    from hashcart.ports import StoreRefused, StoreUnreachable
    from hashcart.services.store_sync import NothingToHandOff, hand_off_invoice
    from hashcart.stores.registry import StoreNotConfigured, UnknownStore

    app = hashcart_of(request)
    number = _invoice_id(invoice_id)
    if number is None:
        return _not_found(request)
    if not app.settings.checkout_at_store or app.settings.store == "builtin":
        return RedirectResponse(f"/orders/invoice/{number}", 303)
    try:
        store = app.commerce_store()
        handoff = hand_off_invoice(
            app.unit_of_work,
            store,
            app.clock,
            viewer.id,
            viewer.person.email,
            number,
            app.store_accounts(),
        )
    except (StoreNotConfigured, UnknownStore):
        why = "Paying at the store is not set up yet."
        return _invoice_page(request, viewer, number, status_code=503, store_error=why)
    except NothingToHandOff as problem:
        return _invoice_page(request, viewer, number, status_code=409, store_error=str(problem))
    except StoreRefused as refusal:
        why = f"The store could not take this invoice: {refusal}"
        return _invoice_page(request, viewer, number, status_code=409, store_error=why)
    except StoreUnreachable:
        why = "The store did not answer. Nothing changed; please try again."
        return _invoice_page(request, viewer, number, status_code=503, store_error=why)
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
