"""The funnel's figures kept per post (issue 14, pages that stay fast on a big shop).

`post_funnel` holds each shoppable post's figures and `post_funnel_totals` their sums per
network, so a page sorted by a count is read from an index at its key, and the whole shop's
totals are a few rows, however many posts the shop has.

Exact, not approximate:

- Every write that can change a post's figures names the post in `post_funnel_changes`, in
  its own transaction, by a database trigger (store/funnel_marks): no write path can forget.
- `refresh` recounts the posts those rows name with the very grouped queries a page uses
  (views/funnel, a page's scope) and replaces their kept rows, moving the totals by the
  difference, then deletes the change rows it read (only those: a write that commits
  meanwhile is recounted by the next refresh). `pending` depends on the clock (an intent
  expires without a write): each row keeps when its first waiting intent expires, and a
  refresh recounts the rows whose moment has passed.
- A page reads the kept figures only when, in its own snapshot, no change row waits and no
  pending moment has passed (`is_fresh`); otherwise it works the figures out as before
  (views/funnel.funnel_page). Routes call `refresh_kept` first, so a page of a quiet shop
  always finds them fresh.

tests/integration/test_post_funnel.py holds the kept figures equal to the recounted ones
after each write path and after random sequences of writes, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.outbox.fallback import FALLBACK_KEY_PREFIX, PRIVATE_FALLBACK_KEY_PREFIX
from hashcart.store import schema as t
from hashcart.store.database import read_only_transaction, write_transaction
from hashcart.store.shoppable import shoppable_conditions
from hashcart.store.shopping import WEB_NETWORK, parse_web_source
from hashcart.views.console import PER_PAGE
from hashcart.views.funnel import (
    CENTS,
    SQL_SORTS,
    FunnelPage,
    FunnelRow,
    FunnelTotals,
    ProductRef,
    SortKey,
    _add_counts,
    _key_order,
    _keys_in,
    _Scope,
)
from hashcart.views.funnel import funnel_page as counted_funnel_page
from hashcart.views.keyset import KeyOrder, Paged, keyset_page

# Posts recounted per round of grouped queries (their keys go into IN lists).
CHUNK = 500
# Change rows read per round.
CHANGES = 5000
# PostgreSQL: one refresh at a time (a transaction-level advisory lock), so two refreshes
# never move the totals by the same difference twice. SQLite: the write lock does it.
_REFRESH_LOCK = 1_401_431_314

_INT_FIGURES = (
    "triggers",
    "valid",
    "carted",
    "wishlisted",
    "pending",
    "orders",
    "units",
    "confirmed_elsewhere",
    "buys_requested",
    "buys_confirmed",
    "offer_loads",
    "offer_redemptions",
)
# The figures the totals add up (orders are distinct orders there: counted when read).
_SUMMED = tuple(name for name in _INT_FIGURES if name != "orders")
_SEPARATOR = "\x01"


# --- keeping ---------------------------------------------------------------------------


def is_fresh(connection: Connection, now: datetime) -> bool:
    """Whether the kept figures equal the rows in this snapshot: no change waits to be
    recounted and no kept pending count has outlived an intent."""
    changes = t.post_funnel_changes
    if connection.scalar(select(changes.c.id).limit(1)) is not None:
        return False
    pf = t.post_funnel
    due = select(pf.c.network).where(pf.c.pending_until <= now).limit(1)
    return connection.scalar(due) is None


def refresh_kept(engine: Engine, now: datetime) -> None:
    """Recount what waits, if anything does (a read first: a quiet shop takes no write lock)."""
    with read_only_transaction(engine) as connection:
        if is_fresh(connection, now):
            return
    with write_transaction(engine) as connection:
        refresh(connection, now)


def refresh(connection: Connection, now: datetime) -> int:
    """Recount every post a change row names or whose pending moment has passed; how many
    posts were recounted. Runs inside the caller's write transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_REFRESH_LOCK)))
    changes = t.post_funnel_changes
    pf = t.post_funnel
    recounted = 0
    while True:
        found = connection.execute(
            select(changes.c.id, changes.c.source, changes.c.network, changes.c.ref)
            .order_by(changes.c.id)
            .limit(CHANGES)
        ).all()
        due = connection.execute(
            select(pf.c.network, pf.c.post_id).where(pf.c.pending_until <= now).limit(CHANGES)
        ).all()
        if not found and not due:
            return recounted
        keys = _posts_named(connection, found) | {(row.network, row.post_id) for row in due}
        ordered = sorted(keys)
        for start in range(0, len(ordered), CHUNK):
            recount(connection, ordered[start : start + CHUNK], now)
        ids = [row.id for row in found]
        for start in range(0, len(ids), CHUNK):
            connection.execute(delete(changes).where(changes.c.id.in_(ids[start : start + CHUNK])))
        recounted += len(keys)


def _posts_named(connection: Connection, changes: Sequence[Any]) -> set[tuple[str, str]]:
    """The posts (network, post id) whose figures the change rows may have moved."""
    posts: set[tuple[str, str]] = set()
    triggers: set[tuple[str, str]] = set()
    replies: set[int] = set()
    products: set[str] = set()
    for row in changes:
        if row.source == "post":
            key = (
                parse_web_source(row.ref) if row.network == WEB_NETWORK else (row.network, row.ref)
            )
            if key:
                posts.add(key)
        elif row.source == "trigger":
            triggers.add((row.network, row.ref))
        elif row.source == "fallback":
            for prefix in (FALLBACK_KEY_PREFIX, PRIVATE_FALLBACK_KEY_PREFIX):
                if row.ref.startswith(prefix) and row.ref[len(prefix) :].isdigit():
                    replies.add(int(row.ref[len(prefix) :]))
        elif row.source == "product":
            products.add(row.ref)
    outbox = t.outbox
    for chunk in _chunks(sorted(replies)):
        query = select(outbox.c.network, outbox.c.in_reply_to).where(outbox.c.id.in_(chunk))
        triggers.update((row.network, row.in_reply_to) for row in connection.execute(query))
    p = t.posts
    for keys in _chunks(sorted(triggers)):
        query = select(p.c.network, p.c.parent_id).where(
            _keys_in(p.c.network, p.c.post_id, keys), p.c.parent_id.is_not(None)
        )
        posts.update((row.network, row.parent_id) for row in connection.execute(query))
    pp = t.post_products
    for ids in _chunks(sorted(products)):
        query = select(pp.c.network, pp.c.post_id).where(pp.c.product_id.in_(ids)).distinct()
        posts.update((row.network, row.post_id) for row in connection.execute(query))
    return posts


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def recount(connection: Connection, keys: list[tuple[str, str]], now: datetime) -> None:
    """Replace the kept rows of `keys` by their figures worked out from the rows (a post that
    is not shoppable keeps none), and move the totals by the difference."""
    p = t.posts
    pf = t.post_funnel
    shown = connection.execute(
        select(
            p.c.network, p.c.post_id, p.c.author_id, p.c.author_handle, p.c.text, p.c.created_at
        ).where(_keys_in(p.c.network, p.c.post_id, keys), *shoppable_conditions(p))
    ).all()
    rows = {
        (row.network, row.post_id): FunnelRow(
            row.network, row.post_id, row.author_id, row.author_handle, row.text, row.created_at
        )
        for row in shown
    }
    if rows:
        _add_counts(connection, _Scope(rows, only=list(rows)), None, (), now)
    until = _pending_until(connection, list(rows), now)
    which = _keys_in(pf.c.network, pf.c.post_id, keys)
    old = [_kept_figures(row) for row in connection.execute(select(pf).where(which))]
    connection.execute(delete(pf).where(which))
    new = [_kept_row(row, until.get(key)) for key, row in sorted(rows.items())]
    if new:
        connection.execute(insert(pf), new)
    _move_totals(connection, old, [_kept_figures_of(row) for row in new])


def _pending_until(
    connection: Connection, keys: list[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], datetime]:
    """When the first intent still counted as pending expires, per post (views/funnel's
    `pending`: a waiting intent of a trigger reply, not expired)."""
    if not keys:
        return {}
    trigger = t.posts.alias("trigger")
    intent = t.pending_intents
    query = (
        select(trigger.c.network, trigger.c.parent_id, func.min(intent.c.expires_at).label("until"))
        .select_from(
            intent.join(
                trigger,
                and_(
                    trigger.c.network == intent.c.network,
                    trigger.c.post_id == intent.c.trigger_post_id,
                ),
            )
        )
        .where(
            trigger.c.list_kind.is_not(None),
            intent.c.status == "waiting",
            intent.c.expires_at > now,
            _keys_in(trigger.c.network, trigger.c.parent_id, keys),
        )
        .group_by(trigger.c.network, trigger.c.parent_id)
    )
    return {(row.network, row.parent_id): row.until for row in connection.execute(query)}


def _money_text(amounts: dict[str, Decimal]) -> str:
    return json.dumps({currency: str(amount) for currency, amount in sorted(amounts.items())})


def _money(text: str) -> dict[str, Decimal]:
    return {currency: Decimal(amount) for currency, amount in json.loads(text).items()}


def _cents(amounts: dict[str, Decimal]) -> int:
    return int(sum(amounts.values(), Decimal(0)).quantize(CENTS) * 100)


def _kept_row(row: FunnelRow, pending_until: datetime | None) -> dict[str, Any]:
    return {
        "network": row.network,
        "post_id": row.post_id,
        "created_at": row.created_at,
        **{name: getattr(row, name) for name in _INT_FIGURES},
        "pending_until": pending_until,
        "revenue": _money_text(row.revenue),
        "revenue_cents": _cents(row.revenue),
        "buy_revenue": _money_text(row.buy_revenue),
        "buy_revenue_cents": _cents(row.buy_revenue),
        "products": json.dumps([[ref.product_id, ref.title] for ref in row.products]),
        "products_key": _SEPARATOR.join(ref.title.casefold() for ref in row.products)[:400],
    }


def _kept_figures(row: Any) -> dict[str, Any]:
    """What the totals add of a kept row."""
    return {
        "network": row.network,
        **{name: getattr(row, name) for name in _SUMMED},
        "revenue": _money(row.revenue),
        "buy_revenue": _money(row.buy_revenue),
    }


def _kept_figures_of(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "network": values["network"],
        **{name: values[name] for name in _SUMMED},
        "revenue": _money(values["revenue"]),
        "buy_revenue": _money(values["buy_revenue"]),
    }


# The totals' money per currency: [amount, how many posts have the currency] (a currency
# leaves the totals when its last post does, even at 0.00, as views/funnel._totals adds).
_Money = dict[str, list[Any]]


def _move_totals(
    connection: Connection, old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> None:
    moves: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    money: dict[str, dict[str, _Money]] = defaultdict(lambda: {"revenue": {}, "buy_revenue": {}})
    for sign, rows in ((-1, old), (1, new)):
        for row in rows:
            move = moves[row["network"]]
            move["posts"] += sign
            for name in _SUMMED:
                move[name] += sign * int(row[name])
            for column in ("revenue", "buy_revenue"):
                moved = money[row["network"]][column]
                for currency, amount in row[column].items():
                    entry = moved.setdefault(currency, [Decimal(0), 0])
                    entry[0] += sign * amount
                    entry[1] += sign
    totals = t.post_funnel_totals
    for network, move in sorted(moves.items()):
        current = connection.execute(
            select(totals).where(totals.c.network == network)
        ).one_or_none()
        if current is None:
            connection.execute(
                insert(totals).values(
                    network=network,
                    posts=0,
                    revenue="{}",
                    buy_revenue="{}",
                    **{name: 0 for name in _SUMMED},
                )
            )
            current = connection.execute(select(totals).where(totals.c.network == network)).one()
        values: dict[str, Any] = {
            name: int(getattr(current, name)) + move[name] for name in ("posts", *_SUMMED)
        }
        for column in ("revenue", "buy_revenue"):
            kept: _Money = json.loads(getattr(current, column))
            for currency, (amount, posts) in money[network][column].items():
                before = kept.get(currency, ["0", 0])
                after = [Decimal(before[0]) + amount, int(before[1]) + posts]
                if after[1]:
                    kept[currency] = [str(after[0]), after[1]]
                else:
                    kept.pop(currency, None)
            values[column] = json.dumps(dict(sorted(kept.items())))
        connection.execute(update(totals).where(totals.c.network == network).values(**values))


# --- reading ---------------------------------------------------------------------------


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


def _row_of(row: Any) -> FunnelRow:
    return FunnelRow(
        network=row.network,
        post_id=row.post_id,
        author_id=row.author_id,
        author_handle=row.author_handle,
        text=row.text,
        created_at=row.created_at,
        products=[ProductRef(product_id, title) for product_id, title in json.loads(row.products)],
        revenue=_money(row.revenue),
        buy_revenue=_money(row.buy_revenue),
        **{name: int(getattr(row, name)) for name in _INT_FIGURES},
    )


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
            p.c.author_id,
            p.c.author_handle,
            p.c.text,
            pf,
            *(column.label(f"key_{index}") for index, (column, _) in enumerate(order)),
        )
        .select_from(pf.join(p, and_(p.c.network == pf.c.network, p.c.post_id == pf.c.post_id)))
        .where(*conditions)
    )
    rows, next_after, previous = keyset_page(
        connection,
        query,
        order,
        lambda row: [getattr(row, f"key_{index}") for index in range(len(order))],
        after=after,
        before=before,
        limit=limit,
    )
    return Paged([_row_of(row) for row in rows], next_after, previous)


def kept_totals(
    connection: Connection, *, network: str | None, accounts: tuple[ShopAccount, ...]
) -> FunnelTotals:
    """The whole shop's figures (of `network`, of `accounts`) from the kept ones: the
    totals' rows when no accounts single posts out, else the sums of the posts' rows."""
    found = FunnelTotals()
    if not accounts:
        totals = t.post_funnel_totals
        query = select(totals)
        if network is not None:
            query = query.where(totals.c.network == network)
        for row in connection.execute(query):
            found.posts += int(row.posts)
            for name in _SUMMED:
                setattr(found, name, getattr(found, name) + int(getattr(row, name)))
            for column in ("revenue", "buy_revenue"):
                into: dict[str, Decimal] = getattr(found, column)
                for currency, (amount, _) in json.loads(getattr(row, column)).items():
                    into[currency] = into.get(currency, Decimal(0)) + Decimal(amount)
    else:
        _sum_rows(connection, found, network, accounts)
    found.orders = _distinct_orders(connection, network, accounts)
    return found


def kept_shoppable_posts(
    connection: Connection, now: datetime, accounts: Iterable[ShopAccount]
) -> int | None:
    """How many shoppable posts the shop has, from the kept totals (None when they cannot
    say: stale in this snapshot, or the shop's accounts single posts out)."""
    if tuple(accounts) or not is_fresh(connection, now):
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
            *(func.coalesce(func.sum(pf.c[name]), 0).label(name) for name in _SUMMED),
        )
        .select_from(joined)
        .where(*conditions)
    ).one()
    found.posts = int(sums.posts)
    for name in _SUMMED:
        setattr(found, name, int(getattr(sums, name)))
    money = select(pf.c.revenue, pf.c.buy_revenue).select_from(joined).where(*conditions)
    for row in connection.execute(money.where((pf.c.revenue != "{}") | (pf.c.buy_revenue != "{}"))):
        for column in ("revenue", "buy_revenue"):
            into: dict[str, Decimal] = getattr(found, column)
            for currency, amount in _money(getattr(row, column)).items():
                into[currency] = into.get(currency, Decimal(0)) + amount


def _distinct_orders(
    connection: Connection, network: str | None, accounts: tuple[ShopAccount, ...]
) -> int:
    """Orders with a line from a shown post, each once (as views/funnel._add_orders)."""
    p = t.posts
    pf = t.post_funnel
    lines = t.order_lines
    shown = and_(
        *shoppable_conditions(p, network=network, accounts=accounts),
    )
    direct = (
        select(lines.c.order_id)
        .select_from(
            lines.join(
                pf, and_(pf.c.network == lines.c.network, pf.c.post_id == lines.c.post_id)
            ).join(p, and_(p.c.network == pf.c.network, p.c.post_id == pf.c.post_id))
        )
        .where(shown)
        .distinct()
    )
    orders = {int(order_id) for order_id in connection.scalars(direct)}
    web = connection.execute(
        select(lines.c.order_id, lines.c.post_id).where(lines.c.network == WEB_NETWORK)
    ).all()
    wanted: dict[tuple[str, str], set[int]] = defaultdict(set)
    for row in web:
        key = parse_web_source(row.post_id)
        if key:
            wanted[key].add(int(row.order_id))
    keys = sorted(wanted)
    for chunk in _chunks(keys):
        query = select(pf.c.network, pf.c.post_id).select_from(
            pf.join(p, and_(p.c.network == pf.c.network, p.c.post_id == pf.c.post_id))
        )
        query = query.where(_keys_in(pf.c.network, pf.c.post_id, chunk), shown)
        for row in connection.execute(query):
            orders.update(wanted[(row.network, row.post_id)])
    return len(orders)


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
) -> FunnelPage:
    """views/funnel.funnel_page, read from the kept figures when they are fresh in this
    snapshot (call `refresh_kept` before opening it), worked out from the rows otherwise."""
    shop_accounts = tuple(accounts)
    if not is_fresh(connection, now):
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
