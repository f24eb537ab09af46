"""The JSON API under /api (read-only), documented at /api/openapi.json and /api/docs.

Merchant API tokens see everything; a signed-in shopper's session reaches only their own
cart, wish list and orders (see `web.api_auth`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from hashcart.domain.posts import Network
from hashcart.networks.post_urls import post_url
from hashcart.views import api_reads, queries
from hashcart.views.funnel import FunnelRow, SortKey, funnel
from hashcart.web.api_auth import AnyCaller, ApiCaller, MerchantCaller
from hashcart.web.api_models import (
    CustomerList,
    FunnelPost,
    Money,
    Order,
    OutboxMessage,
    Problem,
    Product,
    ProductRef,
)
from hashcart.web.context import hashcart_of, read_only

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No credentials, or an unknown or revoked token."}
}
_MERCHANT_ONLY: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORIZED,
    403: {"model": Problem, "description": "A shopper's session: this needs a merchant token."},
}

router = APIRouter(prefix="/api", tags=["api"], responses=_UNAUTHORIZED)


def _only_email(caller: ApiCaller) -> str | None:
    """None (everyone's) for a merchant; the shopper's own email, never None, for a shopper."""
    if caller.is_merchant:
        return None
    if caller.email is None:  # cannot happen; if it did, fail closed, never show everyone's
        raise HTTPException(403, "No shopper to show.")
    return caller.email


def _only_customer(caller: ApiCaller) -> int | None:
    if caller.is_merchant:
        return None
    if caller.customer_id is None:
        raise HTTPException(403, "No shopper to show.")
    return caller.customer_id


def funnel_post(row: FunnelRow) -> FunnelPost:
    return FunnelPost(
        network=row.network,
        post_id=row.post_id,
        url=post_url(row.network, row.post_id, row.author_id, row.author_handle),
        author_handle=row.author_handle,
        text=row.text,
        created_at=row.created_at,
        products=[ProductRef(product_id=p.product_id, title=p.title) for p in row.products],
        triggers=row.triggers,
        valid_triggers=row.valid,
        carted=row.carted,
        wishlisted=row.wishlisted,
        pending=row.pending,
        orders=row.orders,
        units=row.units,
        revenue=[
            Money(currency=currency, amount=amount)
            for currency, amount in sorted(row.revenue.items())
        ],
        buys_requested=row.buys_requested,
        buys_confirmed=row.buys_confirmed,
        buy_revenue=[
            Money(currency=currency, amount=amount)
            for currency, amount in sorted(row.buy_revenue.items())
        ],
        offer_loads=row.offer_loads,
        offer_redemptions=row.offer_redemptions,
    )


@router.get("/posts", responses=_MERCHANT_ONLY, summary="Shoppable posts with their funnel")
def api_posts(
    request: Request,
    caller: MerchantCaller,
    network: Annotated[Network | None, Query(description="Only this network's posts.")] = None,
    sort: Annotated[SortKey, Query(description="The column to sort by.")] = "posted",
    dir: Annotated[Literal["asc", "desc"], Query(description="Sort direction.")] = "desc",
) -> list[FunnelPost]:
    app = hashcart_of(request)
    accounts = app.effective_settings().parsed_shop_accounts()
    with read_only(request) as connection:
        found = funnel(
            connection,
            app.clock.now(),
            network=network.value if network else None,
            accounts=accounts,
            sort=sort,
            descending=dir == "desc",
        )
    return [funnel_post(row) for row in found.rows]


@router.get("/carts", summary="Carts (a shopper: their own)")
def api_carts(request: Request, caller: AnyCaller) -> list[CustomerList]:
    with read_only(request) as connection:
        found = queries.carts(connection, _only_email(caller))
    return [CustomerList.model_validate(entry) for entry in found]


@router.get("/wishlists", summary="Wish lists (a shopper: their own)")
def api_wishlists(request: Request, caller: AnyCaller) -> list[CustomerList]:
    with read_only(request) as connection:
        found = queries.wishlists(connection, _only_email(caller))
    return [CustomerList.model_validate(entry) for entry in found]


@router.get("/orders", summary="Orders, newest first (a shopper: their own)")
def api_orders(request: Request, caller: AnyCaller) -> list[Order]:
    with read_only(request) as connection:
        found = api_reads.orders(connection, _only_customer(caller))
    return [Order.model_validate(order) for order in found]


@router.get("/catalog", responses=_MERCHANT_ONLY, summary="The shop's products")
def api_catalog(request: Request, caller: MerchantCaller) -> list[Product]:
    with read_only(request) as connection:
        found = api_reads.catalog(connection)
    return [Product.model_validate(product) for product in found]


@router.get("/outbox", responses=_MERCHANT_ONLY, summary="Outbound messages, newest first")
def api_outbox(
    request: Request,
    caller: MerchantCaller,
    status: Annotated[
        Literal["queued", "sent", "failed"] | None, Query(description="Only this status.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="At most this many.")] = 500,
) -> list[OutboxMessage]:
    with read_only(request) as connection:
        found = api_reads.outbox(connection, status, limit)
    return [OutboxMessage.model_validate(message) for message in found]
