"""The funnel read from its kept figures (views/funnel_keeping keeps them): one page sorted
by any column from an index at its key, and the whole shop's totals from a few rows. A page
reads them only when they are fresh in its own snapshot, and works its figures out from the
rows otherwise (views/funnel.funnel_page), so what it shows is always exact."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, and_, func, literal_column, select

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.store import schema as t
from hashcart.store.shoppable import posted_by, shoppable_conditions
from hashcart.store.shopping import WEB_NETWORK, parse_web_source
from hashcart.views.console import PER_PAGE
from hashcart.views.funnel import (
    SQL_SORTS,
    FunnelPage,
    FunnelRow,
    FunnelTotals,
    ProductRef,
    SortKey,
    _key_order,
    _keys_in,
)
from hashcart.views.funnel import funnel_page as counted_funnel_page
from hashcart.views.funnel_keeping import INT_FIGURES, SUMMED, chunks, is_fresh, money_of
from hashcart.views.keyset import KeyOrder, KeysetStatements, Paged, keyset_page_of


def _kept_order(sort: SortKey, descending: bool) -> KeyOrder:
    if sort in SQL_SORTS:
        return _key_order(sort, descending)
    pf = t.post_funnel
    column = {
        "revenue": pf.c.revenue_cents,
        "buy_revenue": pf.c.buy_revenue_cents,
        "products": pf.c.products_key,
    }.get(sort, pf.c.get(sort))
    if column is None:
        raise ValueError(f"no kept figure to sort by: {sort}")
    # Ties the way the column goes, so one index read in one direction serves the order.
    return [
        (column, descending),
        (pf.c.created_at, descending),
        (pf.c.network, descending),
        (pf.c.post_id, descending),
    ]


@lru_cache(maxsize=4096)
def _products_of(text: str) -> tuple[ProductRef, ...]:
    """A kept row's products: a page's posts name the same few products again and again,
    so each list is parsed once."""
    return tuple(ProductRef(product_id, title) for product_id, title in json.loads(text))


def _row_of(row: Any) -> FunnelRow:
    values = row._mapping
    return FunnelRow(
        network=row.network,
        post_id=row.post_id,
        author_id=row.author_id,
        author_handle=row.author_handle,
        text=row.text,
        created_at=row.created_at,
        products=list(_products_of(row.products)),
        revenue=money_of(row.revenue),
        buy_revenue=money_of(row.buy_revenue),
        **{name: int(values[name]) for name in INT_FIGURES},
    )


def _shown_columns() -> list[Any]:
    """What a kept page's row shows (`_row_of`), not the whole kept row: each column read
    is converted for each of the page's rows. Its key's columns follow them."""
    p = t.posts
    pf = t.post_funnel
    return [
        p.c.author_id,
        p.c.author_handle,
        p.c.text,
        pf.c.network,
        pf.c.post_id,
        pf.c.created_at,
        pf.c.products,
        pf.c.revenue,
        pf.c.buy_revenue,
        *(pf.c[name] for name in INT_FIGURES),
    ]


_SHOWN = len(_shown_columns())


def _key_of(row: Any) -> list[Any]:
    return list(row[_SHOWN:])


@lru_cache(maxsize=256)
def _kept_statements(
    network: str | None,
    accounts: tuple[ShopAccount, ...],
    sort: SortKey,
    descending: bool,
    limit: int,
) -> KeysetStatements:
    """The statements of a kept page, built once per list (network, accounts, sort,
    direction, size) with the page's key bound: building them and deriving their cache key
    cost about 0.7 ms of CPU a page, a third of reading it. (A bounded cache: the networks
    are the registered ones, the accounts the shop's setting.)"""
    p = t.posts
    pf = t.post_funnel
    order = _kept_order(sort, descending)
    if sort in SQL_SORTS or network is None:
        conditions = shoppable_conditions(p, network=network, accounts=accounts)
    else:
        # One network sorted by a figure: read the figure's index and skip the other
        # networks' rows (`|| ''` keeps the planner off the network's whole list, which it
        # would then sort).
        conditions = shoppable_conditions(p, accounts=accounts)
        conditions.append(pf.c.network + literal_column("''") == network)
    query = (
        select(
            *_shown_columns(),
            *(column.label(f"key_{index}") for index, (column, _) in enumerate(order)),
        )
        .select_from(pf.join(p, and_(p.c.network == pf.c.network, p.c.post_id == pf.c.post_id)))
        .where(*conditions)
    )
    return KeysetStatements(query, order, limit=limit)


def kept_page(
    connection: Connection,
    *,
    network: str | None,
    accounts: tuple[ShopAccount, ...],
    sort: SortKey,
    descending: bool,
    after: str,
    before: str,
    limit: int,
) -> Paged[FunnelRow]:
    """One page of the funnel read from the kept figures (fresh: see `is_fresh`)."""
    statements = _kept_statements(network, accounts, sort, descending, limit)
    rows, next_after, previous = keyset_page_of(
        connection, statements, _key_of, after=after, before=before
    )
    return Paged([_row_of(row) for row in rows], next_after, previous)


def kept_totals(
    connection: Connection, *, network: str | None, accounts: tuple[ShopAccount, ...]
) -> FunnelTotals:
    """The whole shop's figures (of `network`, of `accounts`) from the kept ones: the
    totals' rows when no accounts single posts out, else the sums of the posts' rows."""
    found = FunnelTotals()
    if not accounts:
        rows_of, orders = _totals_statements(network)
        for row in connection.execute(rows_of):
            found.posts += int(row.posts)
            for name in SUMMED:
                setattr(found, name, getattr(found, name) + int(getattr(row, name)))
            for column in ("revenue", "buy_revenue"):
                into: dict[str, Decimal] = getattr(found, column)
                for currency, (amount, _) in json.loads(getattr(row, column)).items():
                    into[currency] = into.get(currency, Decimal(0)) + Decimal(amount)
        found.orders = int(connection.scalar(orders) or 0)
    else:
        _sum_rows(connection, found, network, accounts)
        found.orders = _distinct_orders(connection, network, accounts)
    return found


@lru_cache(maxsize=16)
def _totals_statements(network: str | None) -> tuple[Select[Any], Select[Any]]:
    """The whole shop's kept rows (of `network`) and its distinct orders: built once per
    network, as a kept page's statements are (`_kept_statements`)."""
    totals = t.post_funnel_totals
    rows_of = select(totals)
    if network is not None:
        rows_of = rows_of.where(totals.c.network == network)
    kept = t.post_funnel_orders
    # Counted over a DISTINCT subquery: SQLite then walks the (order_id, network) index
    # in order, where count(DISTINCT ...) built a temporary B-tree of every id (10,000
    # orders: 1.9 -> 0.5 ms); PostgreSQL may hash instead of sorting.
    order_ids = select(kept.c.order_id).distinct()
    if network is not None:
        order_ids = order_ids.where(kept.c.network == network)
    return rows_of, select(func.count()).select_from(order_ids.subquery())


def kept_shoppable_posts(
    connection: Connection,
    now: datetime,
    accounts: Iterable[ShopAccount],
    *,
    fresh: bool | None = None,
) -> int | None:
    """How many shoppable posts the shop has, from the kept totals (None when they cannot
    say: stale in this snapshot, or the shop's accounts single posts out). `fresh`:
    `is_fresh` of this snapshot, when the caller asked it already (`kept_snapshot`)."""
    if tuple(accounts) or not (is_fresh(connection, now) if fresh is None else fresh):
        return None
    totals = t.post_funnel_totals
    return int(connection.scalar(select(func.coalesce(func.sum(totals.c.posts), 0))) or 0)


def _sum_rows(
    connection: Connection,
    found: FunnelTotals,
    network: str | None,
    accounts: tuple[ShopAccount, ...],
) -> None:
    p = t.posts
    pf = t.post_funnel
    joined = pf.join(p, and_(p.c.network == pf.c.network, p.c.post_id == pf.c.post_id))
    conditions = shoppable_conditions(p, network=network, accounts=accounts)
    sums = connection.execute(
        select(
            func.count().label("posts"),
            *(func.coalesce(func.sum(pf.c[name]), 0).label(name) for name in SUMMED),
        )
        .select_from(joined)
        .where(*conditions)
    ).one()
    found.posts = int(sums.posts)
    for name in SUMMED:
        setattr(found, name, int(getattr(sums, name)))
    money = select(pf.c.revenue, pf.c.buy_revenue).select_from(joined).where(*conditions)
    for row in connection.execute(money.where((pf.c.revenue != "{}") | (pf.c.buy_revenue != "{}"))):
        for column in ("revenue", "buy_revenue"):
            into: dict[str, Decimal] = getattr(found, column)
            for currency, amount in money_of(getattr(row, column)).items():
                into[currency] = into.get(currency, Decimal(0)) + amount


def _distinct_orders(
    connection: Connection, network: str | None, accounts: tuple[ShopAccount, ...]
) -> int:
    """Orders with a line from a shown post, each once (as views/funnel._add_orders): counted
    in SQL for the lines naming a post, the few web-form lines (`x/1`) checked here. A kept
    row is a shoppable post (views/funnel_keeping), so only the network and the accounts
    filter further."""
    p = t.posts
    pf = t.post_funnel
    lines = t.order_lines
    shown = pf.join(p, and_(p.c.network == pf.c.network, p.c.post_id == pf.c.post_id))
    conditions = []
    if network is not None:
        conditions.append(pf.c.network == network)
    by_account = posted_by(p, accounts)
    if by_account is not None:
        conditions.append(by_account)
    named = and_(pf.c.network == lines.c.network, pf.c.post_id == lines.c.post_id)
    direct = lines.join(pf, named)
    if by_account is not None:
        direct = direct.join(p, and_(p.c.network == pf.c.network, p.c.post_id == pf.c.post_id))
    count = connection.scalar(
        select(func.count(func.distinct(lines.c.order_id))).select_from(direct).where(*conditions)
    )
    web = connection.execute(
        select(lines.c.order_id, lines.c.post_id).where(lines.c.network == WEB_NETWORK)
    ).all()
    wanted: dict[tuple[str, str], set[int]] = defaultdict(set)
    for row in web:
        key = parse_web_source(row.post_id)
        if key:
            wanted[key].add(int(row.order_id))
    web_orders: set[int] = set()
    for chunk in chunks(sorted(wanted)):
        query = select(pf.c.network, pf.c.post_id).select_from(shown)
        query = query.where(_keys_in(pf.c.network, pf.c.post_id, chunk), *conditions)
        for row in connection.execute(query):
            web_orders.update(wanted[(row.network, row.post_id)])
    # Web-form orders not counted already through a line naming a shown post.
    for ids in chunks(sorted(web_orders)):
        counted = select(lines.c.order_id).select_from(direct)
        counted = counted.where(lines.c.order_id.in_(ids), *conditions).distinct()
        web_orders.difference_update(int(order_id) for order_id in connection.scalars(counted))
    return int(count or 0) + len(web_orders)


def funnel_page(
    connection: Connection,
    now: datetime,
    *,
    network: str | None = None,
    accounts: Iterable[ShopAccount] = (),
    sort: SortKey = "posted",
    descending: bool = True,
    after: str = "",
    before: str = "",
    limit: int = PER_PAGE,
    with_totals: bool = True,
    fresh: bool | None = None,
) -> FunnelPage:
    """views/funnel.funnel_page, read from the kept figures when they are fresh in this
    snapshot (call `refresh_kept` before opening it), worked out from the rows otherwise.
    `fresh`: `is_fresh` of this snapshot, when the caller asked it already."""
    shop_accounts = tuple(accounts)
    if not (is_fresh(connection, now) if fresh is None else fresh):
        return counted_funnel_page(
            connection,
            now,
            network=network,
            accounts=shop_accounts,
            sort=sort,
            descending=descending,
            after=after,
            before=before,
            limit=limit,
            with_totals=with_totals,
        )
    page = kept_page(
        connection,
        network=network,
        accounts=shop_accounts,
        sort=sort,
        descending=descending,
        after=after,
        before=before,
        limit=limit,
    )
    if not with_totals:
        return FunnelPage(page, None)
    totals = kept_totals(connection, network=network, accounts=shop_accounts)
    return FunnelPage(
        Paged(page.items, page.next_after, page.previous_before, totals.posts), totals
    )
