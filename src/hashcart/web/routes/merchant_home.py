"""The merchant console's first page: how the shop stands, with a way into each page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hashcart.views import console
from hashcart.views.unsettled_cleanups import unsettled_cleanups
from hashcart.views.unsettled_payments import unsettled_payments
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, read_only, render
from hashcart.web.no_sender import waiting_without_sender

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


@router.get("")
def dashboard(request: Request, viewer: SignedInMerchant) -> Response:
    app = hashcart_of(request)
    accounts = app.effective_settings().parsed_shop_accounts()
    with read_only(request) as connection:
        counts = console.dashboard(connection, accounts)
        unsettled = unsettled_payments(connection)
        cleanups = unsettled_cleanups(connection)
    return render(
        request,
        "merchant/home.html",
        title="Console",
        counts=counts,
        unsettled=unsettled,
        cleanups=cleanups,
        no_sender=waiting_without_sender(app),
    )
