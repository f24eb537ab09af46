"""The shopper's cart and wish list."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hashcart.web.context import SignedInShopper, csrf_protected, render

router = APIRouter(dependencies=[Depends(csrf_protected)], include_in_schema=False)


@router.get("/cart")
def cart_page(request: Request, viewer: SignedInShopper) -> Response:
    return render(request, "shop/cart.html", title="Your cart", lines=[])
