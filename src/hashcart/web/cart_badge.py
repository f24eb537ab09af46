"""The shop header's cart count and the confirmation after "Add to cart" (issue 14).

"Add to cart" on the shop front sends the shopper back to the page they were on; a short-lived
cookie carries which product was added to that next page, which confirms it once. The cookie
holds only a product id: the words shown are the catalog's title for it, so a cookie set by
anyone else can only ever name a real product, and it is shown escaped like every title."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Connection
from starlette.responses import Response

from hashcart.store.cart_summary import cart_quantity
from hashcart.store.shopping import product_now
from hashcart.web.security import cookie_is_secure

ADDED_COOKIE = "hc_added"
ADDED_SECONDS = 60
MAX_PRODUCT_ID = 200


@dataclass(frozen=True)
class CartBadge:
    count: int
    added: str | None  # the title of the product just added, to confirm once


def remember_added(request: Request, response: Response, product_id: str) -> None:
    response.set_cookie(
        ADDED_COOKIE,
        product_id[:MAX_PRODUCT_ID],
        max_age=ADDED_SECONDS,
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request),
        path="/",
    )


def cart_badge(request: Request, connection: Connection, customer_id: int) -> CartBadge:
    """The count for the header, and the title to confirm when a product was just added."""
    added = None
    product_id = request.cookies.get(ADDED_COOKIE, "")
    if 0 < len(product_id) <= MAX_PRODUCT_ID and "\x00" not in product_id:
        product = product_now(connection, product_id)
        added = product.title if product is not None else None
    return CartBadge(cart_quantity(connection, customer_id), added)


def forget_added(request: Request, response: Response) -> None:
    """The confirmation is shown once: the page that showed it drops the cookie."""
    if ADDED_COOKIE in request.cookies:
        response.delete_cookie(ADDED_COOKIE, path="/")
