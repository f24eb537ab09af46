"""Checkout: the cart becomes one order (address, payment, confirmation).

The page carries a random `checkout_key` and a summary of what it showed. On submit: a key
that already made an order goes to that order (a double submit); otherwise the cart is
re-read and compared with the summary, and any change stops before payment with a message.
Then services/checkout_payment holds the stock, has the payment authorised (once per key),
and the order, the sale of the held stock, the emptied cart and the confirmation email
commit in one transaction; the payment is captured after it. An order that cannot be placed
voids the authorisation and gives the stock back. The email waits in the outbox for the
dispatcher: no request waits on a mail server.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from hashcart.services import checkout, checkout_payment, payments
from hashcart.services.checkout import CHECKOUT_KEY, Basket
from hashcart.store import saved_addresses, shopping
from hashcart.store.repository import Repository
from hashcart.views.pictures import thumbnails
from hashcart.web.context import (
    SignedInShopper,
    Viewer,
    csrf_protected,
    hashcart_of,
    read_only,
    render,
    unit_of_work,
)
from hashcart.web.formatting import money
from hashcart.web.payment_form import PaymentForm, form_problems, payment_form

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)

DEFAULT_GATEWAY = "test_card"
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postcode", "country")


def _checkout_page(
    request: Request,
    basket: Basket,
    form: dict[str, str],
    status_code: int = 200,
    *,
    error: str | None = None,
    changes: list[str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    """The checkout form for `basket`, with a fresh key: a form the shopper sends again after
    a problem is a new attempt (a declined card made no order under the old key)."""
    return render(
        request,
        "shop/checkout.html",
        status_code,
        title="Checkout",
        basket=basket,
        pictures=_thumbnails(request, basket),
        summary=checkout.summary_of(basket),
        offer_summary=checkout.offer_summary(basket),
        checkout_key=secrets.token_urlsafe(24),
        form=form,
        gateways=list(hashcart_of(request).payment_gateways().values()),
        error=error,
        changes=changes or [],
        field_errors=field_errors or {},
    )


def _thumbnails(request: Request, basket: Basket) -> dict[str, int]:
    with read_only(request) as connection:
        return thumbnails(connection, [item.product_id for item in basket.lines])


def _cart_basket(request: Request, viewer: Viewer) -> Basket:
    app = hashcart_of(request)
    return checkout.basket_for(app.unit_of_work, viewer.id, app.clock.now())


@router.get("/checkout")
def checkout_page(request: Request, viewer: SignedInShopper) -> Response:
    now = hashcart_of(request).clock.now()
    with read_only(request) as connection:
        items = shopping.list_items(connection, "cart", viewer.id)
        # The saved address (the account page's, issue 12), else the latest order's.
        last = saved_addresses.shipping_address(connection, viewer.id)
        # The shopper's loaded offer (issue 12), read beside a writer like the rest.
        basket = checkout.with_offer(
            Repository(connection), viewer.id, checkout.basket_of(items), now
        )
    form = asdict(last) if last else {"name": viewer.person.name or ""}
    form["payment_method"] = DEFAULT_GATEWAY
    return _checkout_page(request, basket, form)


@router.post("/checkout")
def checkout_submit(
    request: Request,
    viewer: SignedInShopper,
    sent: Annotated[PaymentForm, Depends(payment_form)],
    checkout_key: Annotated[str, Form()] = "",
    remember_address: Annotated[str, Form()] = "",
) -> Response:
    app = hashcart_of(request)
    # What was typed comes back on a re-rendered form; the card's number and CVC never do.
    form = sent.typed() | {"remember_address": "yes" if remember_address else ""}
    if not CHECKOUT_KEY.fullmatch(checkout_key):
        return _checkout_page(
            request,
            _cart_basket(request, viewer),
            form,
            400,
            error="The form was incomplete. Check your order and place it again.",
        )

    # The cart is read BEFORE looking for the key's order: a twin submit that commits in
    # between is then either seen here, or its emptied cart was not read, and place_order
    # (under the writers' lock) finds its order. Reading the cart second would see an empty
    # cart and no order, and answer a double submit with "your cart changed".
    basket = _cart_basket(request, viewer)
    made = checkout.order_with_key(app.unit_of_work, checkout_key)
    if made is not None:  # a double submit: the first request made the order already
        return _to_order(request, made.id, made.customer_id, viewer)

    changes = checkout.changes_since(sent.shown, basket, money)
    if not changes and sent.shown_offer[:100] != checkout.offer_summary(basket):
        # The loaded offer the page took off is gone (used by another order, ended) or a
        # new one applies: the amount to pay changed.
        changes.append("The offer taken off your order changed.")
    if basket.problem and not changes:
        return _checkout_page(request, basket, form, 409, error=basket.problem)
    if changes:
        return _checkout_page(
            request,
            basket,
            form,
            409,
            error="Your cart changed since this page was shown. Nothing was charged: "
            "check your order below and place it again.",
            changes=changes,
        )
    address, _first_problem = checkout.read_address(form)
    gateway = app.payment_gateways().get(sent.payment_method)
    # An offer that covers the whole total leaves nothing to pay: no gateway is chosen.
    free = payments.nothing_to_pay(basket.to_pay)
    if address is None or (gateway is None and not free):
        # Each problem beside its field; the top says how many there are (issue 14).
        summary, fields = form_problems(form, way_to_pay=gateway is not None or free)
        return _checkout_page(request, basket, form, 400, error=summary, field_errors=fields)

    outcome = checkout_payment.pay_and_place(
        app.unit_of_work,
        app.clock,
        checkout_payment.Purchase(
            customer=viewer.person,
            checkout_key=checkout_key,
            basket=basket,
            address=address,
            shop_name=app.settings.shop_name,
            public_url=app.settings.public_url,
        ),
        gateway,
        sent.card_fields(),
    )
    if isinstance(outcome, checkout_payment.Ordered):
        if remember_address:  # "Remember this address": the account's, for buys with a post
            with unit_of_work(request) as connection:
                saved_addresses.save_address(connection, viewer.id, address, app.clock.now())
        return _to_order(request, outcome.order_id, outcome.customer_id, viewer)
    return _checkout_page(
        request,
        _cart_basket(request, viewer) if outcome.cart_changed else basket,
        form,
        _STATUS_CODES[outcome.why],
        error=outcome.message,
    )


# Why an order was not made -> the page's status: a declined card is 402 Payment Required.
_STATUS_CODES = {
    "out_of_stock": 409,
    "declined": 402,
    "cancelled": 409,
    "not_placed": 409,
    "unreachable": 503,
}


def _to_order(request: Request, order_id: int, owner: int | None, viewer: Viewer) -> Response:
    if owner != viewer.id:
        return render(
            request, "error.html", 404, title="Not found", message="There is no such order."
        )
    return RedirectResponse(f"/orders/{order_id}?placed=1", 303)
