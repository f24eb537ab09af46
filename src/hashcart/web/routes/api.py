"""The JSON API under /api (read-only), documented at /api/openapi.json and /api/docs.

Merchant API tokens see everything; a signed-in shopper's session reaches only their own
cart, wish list and orders (see `web.api_auth`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, Response

from hashcart.domain.posts import Network
from hashcart.networks.post_urls import post_url
from hashcart.views import api_reads, queries
from hashcart.views.api_reads import API_PAGE
from hashcart.views.funnel import FunnelRow, SortKey
from hashcart.views.funnel_keeping import kept_snapshot
from hashcart.views.funnel_kept import funnel_page
from hashcart.views.keyset import MAX_CURSOR, BadCursor
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

_PAGED: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "An `after` cursor this list did not give."}
}

router = APIRouter(prefix="/api", tags=["api"], responses=_UNAUTHORIZED)

T = TypeVar("T")

# Paging (issue 14): every list is a page; the response stays a JSON list, and the next
# page's address is in the `Link` header (RFC 8288), absent on the last page.
Limit = Annotated[
    int,
    Query(
        ge=1,
        le=5000,
        description="At most this many items (a page); the next page's "
        'address is in the `Link: <…>; rel="next"` header.',
    ),
]
After = Annotated[
    str,
    Query(
        max_length=MAX_CURSOR,
        description="The cursor from the previous page's `Link` header (opaque): the page "
        "after it.",
    ),
]


def _paged(
    request: Request, response: Response, read: Callable[[], tuple[list[T], str | None]]
) -> list[T]:
    """The page `read` returns, its next page's address set as a `Link` header; a cursor
    this list did not give is a 400 problem."""
    try:
        items, next_after = read()
    except BadCursor as error:
        raise HTTPException(400, f"Unknown `after` cursor: {error}.") from None
    if next_after is not None:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
        query.append(("after", next_after))
        response.headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return items


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


@router.get(
    "/posts",
    responses={**_MERCHANT_ONLY, **_PAGED},
    summary="Shoppable posts with their funnel (paged)",
)
def api_posts(
    request: Request,
    response: Response,
    caller: MerchantCaller,
    network: Annotated[Network | None, Query(description="Only this network's posts.")] = None,
    sort: Annotated[SortKey, Query(description="The column to sort by.")] = "posted",
    dir: Annotated[Literal["asc", "desc"], Query(description="Sort direction.")] = "desc",
    limit: Limit = API_PAGE,
    after: After = "",
) -> list[FunnelPost]:
    app = hashcart_of(request)
    accounts = app.effective_settings().parsed_shop_accounts()

    def read() -> tuple[list[FunnelPost], str | None]:
        now = app.clock.now()
        with kept_snapshot(app.engine, now) as (connection, fresh):
            found = funnel_page(
                connection,
                now,
                network=network.value if network else None,
                accounts=accounts,
                sort=sort,
                descending=dir == "desc",
                after=after,
                limit=limit,
                with_totals=False,
                fresh=fresh,
            )
        return [funnel_post(row) for row in found.rows], found.page.next_after

    return _paged(request, response, read)


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


@router.get(
    "/orders", responses=_PAGED, summary="Orders, newest first (a shopper: their own; paged)"
)
def api_orders(
    request: Request,
    response: Response,
    caller: AnyCaller,
    limit: Limit = API_PAGE,
    after: After = "",
) -> list[Order]:
    customer_id = _only_customer(caller)

    def read() -> tuple[list[Order], str | None]:
        with read_only(request) as connection:
            found, next_after = api_reads.orders_page(connection, customer_id, after, limit)
        return [Order.model_validate(order) for order in found], next_after

    return _paged(request, response, read)


@router.get(
    "/catalog", responses={**_MERCHANT_ONLY, **_PAGED}, summary="The shop's products (paged)"
)
def api_catalog(
    request: Request,
    response: Response,
    caller: MerchantCaller,
    limit: Limit = API_PAGE,
    after: After = "",
) -> list[Product]:
    def read() -> tuple[list[Product], str | None]:
        with read_only(request) as connection:
            found, next_after = api_reads.catalog(connection, after, limit)
        return [Product.model_validate(product) for product in found], next_after

    return _paged(request, response, read)


@router.get(
    "/outbox",
    responses={**_MERCHANT_ONLY, **_PAGED},
    summary="Outbound messages, newest first (paged)",
)
def api_outbox(
    request: Request,
    response: Response,
    caller: MerchantCaller,
    status: Annotated[
        Literal["queued", "sent", "failed"] | None, Query(description="Only this status.")
    ] = None,
    limit: Limit = API_PAGE,
    after: After = "",
) -> list[OutboxMessage]:
    def read() -> tuple[list[OutboxMessage], str | None]:
        with read_only(request) as connection:
            found, next_after = api_reads.outbox(connection, status, limit, after)
        return [OutboxMessage.model_validate(message) for message in found], next_after

    return _paged(request, response, read)
