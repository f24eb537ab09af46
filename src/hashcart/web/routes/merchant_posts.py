"""Merchant: shoppable posts with their funnel, per network, sortable, as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup, escape
from starlette.responses import Response

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.networks import registry
from hashcart.networks.post_urls import post_url
from hashcart.views.csv_cells import csv_cell
from hashcart.views.funnel import (
    BIG_SHOP_POSTS,
    SORT_KEYS,
    Funnel,
    FunnelPage,
    FunnelRow,
    SortKey,
    funnel,
    is_big_shop,
)
from hashcart.views.funnel_keeping import kept_snapshot
from hashcart.views.funnel_kept import funnel_page
from hashcart.views.keyset import MAX_CURSOR, BadCursor
from hashcart.web.context import SignedInMerchant, csrf_protected, hashcart_of, read_only, render
from hashcart.web.formatting import money, network_name, networks_in_words

router = APIRouter(
    prefix="/merchant", dependencies=[Depends(csrf_protected)], include_in_schema=False
)


def networks() -> tuple[str, ...]:
    """The networks the page filters by: every registered one."""
    return tuple(str(name) for name in registry.names())


# Columns that read best from the largest down; the others (names) from A to Z.
_ASCENDING_FIRST = frozenset({"network", "author", "text", "products"})


@dataclass(frozen=True)
class FunnelQuery:
    """What the page was asked for: ?network=&sort=&dir= (unknown values mean the default)."""

    network: str | None
    sort: SortKey
    descending: bool

    @classmethod
    def of(cls, network: str | None, sort: str | None, direction: str | None) -> FunnelQuery:
        chosen: SortKey = next((key for key in SORT_KEYS if key == sort), "posted")
        descending = (direction or "desc") != "asc"
        return cls(network or None, chosen, descending)

    @property
    def network_error(self) -> str | None:
        if self.network is None or self.network in networks():
            return None
        return f"Unknown network: choose {networks_in_words('or')}."

    def url(self, path: str, **changes: str | None) -> str:
        values: dict[str, str | None] = {
            "network": self.network,
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
            **changes,
        }
        query = urlencode({key: value for key, value in values.items() if value})
        return f"{path}?{query}" if query else path

    def sort_url(self, key: SortKey) -> str:
        """The header link: the same column flips direction; a new one starts its natural way."""
        if key == self.sort:
            direction = "asc" if self.descending else "desc"
        else:
            direction = "asc" if key in _ASCENDING_FIRST else "desc"
        return self.url("/merchant/posts", sort=key, dir=direction)


def revenue_text(revenue: dict[str, Decimal]) -> str:
    """Revenue as shown: one currency as money, several side by side (never added up)."""
    if not revenue:
        return "–"
    return " + ".join(money(amount, currency) for currency, amount in sorted(revenue.items()))


def _load(request: Request, query: FunnelQuery) -> Funnel:
    """Every post of the funnel at once (the CSV export: a download, not a page)."""
    app = hashcart_of(request)
    with read_only(request) as connection:
        return funnel(
            connection,
            app.clock.now(),
            network=query.network,
            accounts=_shop_accounts(request),
            sort=query.sort,
            descending=query.descending,
        )


def _shop_accounts(request: Request) -> tuple[ShopAccount, ...]:
    """Only the shop's own posts count when the merchant named its accounts (shop_accounts)."""
    return hashcart_of(request).effective_settings().parsed_shop_accounts()


@router.get("/posts")
def posts_page(
    request: Request,
    viewer: SignedInMerchant,
    network: str | None = None,
    sort: str | None = None,
    dir: str | None = None,
    after: str = "",
    before: str = "",
    totals: str = "",
) -> Response:
    query = FunnelQuery.of(network, sort, dir)
    error = query.network_error
    if error is not None:
        query = FunnelQuery(None, query.sort, query.descending)
    accounts = _shop_accounts(request)
    app = hashcart_of(request)
    now = app.clock.now()
    with kept_snapshot(app.engine, now) as (connection, fresh):
        # Kept totals are a few rows; worked out, a big shop's read all its replies, lines
        # and buys: then only when asked for. (Asked in this order, a shop with fresh kept
        # figures is not counted up to BIG_SHOP_POSTS on every page.)
        with_totals = totals == "1" or (not accounts and fresh) or not is_big_shop(connection)

        def load(after: str, before: str) -> FunnelPage:
            return funnel_page(
                connection,
                now,
                network=query.network,
                accounts=accounts,
                sort=query.sort,
                descending=query.descending,
                after=after[:MAX_CURSOR],
                before=before[:MAX_CURSOR],
                with_totals=with_totals,
                fresh=fresh,
            )

        try:
            found = load(after, before)
        except BadCursor:  # a stale or edited link: the first page, and say so
            error = error or "That page is no longer there: showing the first page."
            found = load("", "")
    page = found.page
    return render(
        request,
        "merchant/posts.html",
        400 if error else 200,
        title="Shoppable posts",
        error=error,
        query=query,
        rows=[(row, _url(row), _live_url(row), _figure_cells(row)) for row in found.rows],
        totals=found.totals,
        big_shop_posts=BIG_SHOP_POSTS,
        totals_url=query.url("/merchant/posts", totals="1"),
        page=page,
        next_url=query.url("/merchant/posts", after=page.next_after) if page.next_after else None,
        previous_url=(
            query.url("/merchant/posts", before=page.previous_before)
            if page.previous_before
            else None
        ),
        networks=networks(),
        revenue_text=revenue_text,
        network_name=network_name,
        columns=_COLUMNS,
        shop_accounts=[str(account) for account in accounts],
    )


# (sort key, heading, numeric) of the table's sortable columns, in order.
_COLUMNS: tuple[tuple[SortKey, str, bool], ...] = (
    ("posted", "Post", False),
    ("products", "Products", False),
    ("triggers", "Replies", True),
    ("valid", "Valid", True),
    ("carted", "Carted", True),
    ("wishlisted", "Wish-listed", True),
    ("pending", "Pending", True),
    ("orders", "Orders", True),
    ("units", "Units", True),
    ("revenue", "Revenue", True),
)


def _url(row: FunnelRow) -> str | None:
    return post_url(row.network, row.post_id, row.author_id, row.author_handle)


def _figure_cells(row: FunnelRow) -> Markup:
    """A row's figure cells (Replies to Revenue), made here: eight cells a row, each an
    escape and a write in the template, were about a third of rendering a 50-row page.
    The counts are integers (nothing to escape); the revenue text is escaped."""
    counts = (row.triggers, row.valid, row.carted, row.wishlisted, row.pending, row.orders)
    cells = "".join(f'<td class="num">{int(count)}</td>' for count in (*counts, row.units))
    return Markup(f'{cells}<td class="num">{escape(revenue_text(row.revenue))}</td>')


def _live_url(row: FunnelRow) -> str:
    """The post's live view: made here, as Jinja's `urlencode` did it (quoted, `/` kept),
    which cost the page about a millisecond over 50 rows."""
    return "/merchant/live?post=" + quote(f"{row.network}/{row.post_id}", safe="/")


CSV_HEADER = (
    "network",
    "post_id",
    "url",
    "author",
    "posted_at",
    "text",
    "products",
    "triggers",
    "valid_triggers",
    "carted",
    "wishlisted",
    "pending",
    "orders",
    "units",
    "revenue",
    "currency",
    # Buy with a post (issue 12), after the columns there were.
    "buys_requested",
    "buys_confirmed",
    "buy_revenue",
    "buy_currency",
    # Offers by hashtag (issue 12): new columns go last, so existing readers keep working.
    "offer_loads",
    "offer_redemptions",
)


def _revenue_cells(revenue: dict[str, Decimal]) -> tuple[str, str]:
    """(revenue, currency): one currency as a plain amount; mixed spelled out per currency."""
    if not revenue:
        return "0.00", ""
    if len(revenue) == 1:
        [(currency, amount)] = revenue.items()
        return f"{amount:.2f}", currency
    spelled = "; ".join(f"{amount:.2f} {currency}" for currency, amount in sorted(revenue.items()))
    return spelled, "mixed"


def funnel_csv(rows: list[FunnelRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        revenue, currency = _revenue_cells(row.revenue)
        buy_revenue, buy_currency = _revenue_cells(row.buy_revenue)
        writer.writerow(
            [
                csv_cell(value)
                for value in (
                    row.network,
                    row.post_id,
                    _url(row),
                    row.author_handle or row.author_id,
                    row.created_at.isoformat(),
                    row.text,
                    "; ".join(product.title for product in row.products),
                    row.triggers,
                    row.valid,
                    row.carted,
                    row.wishlisted,
                    row.pending,
                    row.orders,
                    row.units,
                    revenue,
                    currency,
                    row.buys_requested,
                    row.buys_confirmed,
                    buy_revenue,
                    buy_currency,
                    row.offer_loads,
                    row.offer_redemptions,
                )
            ]
        )
    return out.getvalue()


@router.get("/posts.csv")
def posts_csv(
    request: Request,
    viewer: SignedInMerchant,
    network: str | None = None,
    sort: str | None = None,
    dir: str | None = None,
) -> Response:
    query = FunnelQuery.of(network, sort, dir)
    if query.network_error is not None:
        return Response(query.network_error + "\n", 400, media_type="text/plain")
    found = _load(request, query)
    name = f"shoppable-posts-{query.network}.csv" if query.network else "shoppable-posts.csv"
    return Response(
        funnel_csv(found.rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
