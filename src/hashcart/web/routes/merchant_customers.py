"""Merchant: customers (issue 14): the list paged by key with a search by email or handle,
and a customer's page with their linked accounts, cart, wish list, orders and messages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hashcart.views import console_customers
from hashcart.web.context import SignedInMerchant, csrf_protected, read_only, render

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


@router.get("/customers")
def customers(
    request: Request,
    viewer: SignedInMerchant,
    email: str = "",
    after: str = "",
    page: int = 1,  # numbered pages before issue 14; old links still answer (page one)
    before: str = "",
) -> Response:
    email = " ".join(email.split())[: console_customers.MAX_SEARCH]
    with read_only(request) as connection:
        found = console_customers.customer_page(connection, email, after, before=before)
        total = None if email else console_customers.customer_count(connection)
    return render(
        request,
        "merchant/customers.html",
        title="Customers",
        customers=found,
        total=total,
        email=email,
        query={"email": email} if email else {},
    )


@router.get("/customers/{customer_id}")
def customer(request: Request, viewer: SignedInMerchant, customer_id: str) -> Response:
    detail = None
    if customer_id.isdigit() and len(customer_id) <= 12:
        with read_only(request) as connection:
            detail = console_customers.customer_detail(connection, int(customer_id))
    if detail is None:
        return render(
            request, "error.html", 404, title="Not found", message="There is no such customer."
        )
    return render(
        request,
        "merchant/customer.html",
        title=f"Customer {detail.customer.email}",
        detail=detail,
        customer=detail.customer,
    )
