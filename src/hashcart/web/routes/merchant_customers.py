"""Merchant: customers with their linked social accounts, cart lines and orders."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hashcart.views import console
from hashcart.web.context import SignedInMerchant, csrf_protected, read_only, render

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


@router.get("/customers")
def customers(
    request: Request, viewer: SignedInMerchant, email: str = "", page: int = 1
) -> Response:
    email = email.strip()[:320]
    with read_only(request) as connection:
        found = console.customers(connection, email, page)
    return render(
        request,
        "merchant/customers.html",
        title="Customers",
        customers=found,
        email=email,
        page=found,
        query={"email": email} if email else {},
    )
