"""The funnel of every shoppable post: replies seen, what they did, and what was bought.

A handful of grouped queries for all posts at once (never one query per post), merged in
Python. Counts come from what the engine recorded:

- triggers: trigger posts (a stored `posts` row with a `list_kind`) whose parent is the post;
- valid: those whose action put something on a list or made a pending intent (see below);
- carted / wish-listed: actions that put the product in a cart / on a wish list, plus cart
  lines added on the web from the post (`network "web"`, `post_id "<network>/<post id>"`);
- pending: pending intents of those triggers still waiting for their account to link;
- orders, units, revenue: `order_lines` that name the post (checkout resolves them);
- buys requested / confirmed, revenue from buys (issue 12, buy with a post): `buy_requests`
  whose source post is the post: every request answered with a code; those whose code was
  confirmed (confirmed, bought or declined); the totals of those bought, per currency (also
  counted in orders and revenue, as their order lines name the post);
- confirmed elsewhere: confirmations of those triggers that the network would not carry (a
  reply X refused under its 2026 rule: the shopper did not mention the shop) and that went
  by email instead (outbox/fallback.py);
- offer loads, offer redemptions (issue 12, offers by hashtag): offers loaded by a reply to
  the post (`offer_loads.parent_post_id`), and how many of those loads an order redeemed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import (
    Connection,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)

from hashcart.domain.messages import Reason
from hashcart.domain.shop_accounts import ShopAccount
from hashcart.outbox.fallback import FALLBACK_KEY_PREFIX, PRIVATE_FALLBACK_KEY_PREFIX
from hashcart.store import schema as t
from hashcart.store.shoppable import shoppable_conditions
from hashcart.store.shopping import WEB_NETWORK, parse_web_source, web_source
from hashcart.views.console import PER_PAGE
from hashcart.views.keyset import (
    BadCursor,
    KeyOrder,
    Paged,
    decode_cursor,
    encode_cursor,
    keyset_page,
)

CENTS = Decimal("0.01")

# Which action outcomes count (outcomes are `Reason` values, plus "pending", "no_product" and
# "claimed" from services/actions.py):
# - on a list: "added" (cart) and "wishlisted"; "pending_applied" is how a linked account's
#   waiting request is announced; linking records the list outcome itself today, but should an
#   outcome ever read "pending_applied", the trigger's own list kind says which list it went to.
# - a pending intent: "pending" (and any trigger with a pending_intents row, even once that
#   intent was applied or expired and the outcome moved on).
# Not valid: "already_in_cart"/"already_wishlisted" (nothing changed), "unavailable",
# "which_product" (the reply did not say which product), "which_variant" (nor which colour
# or size), "no_product", "removed"/"not_in_cart" (`#cart remove` takes out, never puts
# in), "deleted" (undo_on_delete: deleted before it acted), and "claimed" (an action that
# has not finished).
_CART_OUTCOMES = (Reason.ADDED.value,)
_WISHLIST_OUTCOMES = (Reason.WISHLISTED.value,)
_PENDING_OUTCOME = "pending"
_APPLIED_OUTCOME = Reason.PENDING_APPLIED.value

SortKey = Literal[
    "posted",
    "network",
    "author",
    "text",
    "products",
    "triggers",
    "valid",
    "carted",
    "wishlisted",
    "pending",
    "orders",
    "units",
    "revenue",
    "buys_requested",
    "buys_confirmed",
    "buy_revenue",
    "offer_loads",
    "offer_redemptions",
]
SORT_KEYS: tuple[SortKey, ...] = get_args(SortKey)


@dataclass(frozen=True)
class ProductRef:
    product_id: str
    title: str


@dataclass
class FunnelRow:
    """One shoppable post and its funnel figures."""

    network: str
    post_id: str
    author_id: str
    author_handle: str
    text: str | None  # None once the author deleted the post
    created_at: datetime
    products: list[ProductRef] = field(default_factory=list)
    triggers: int = 0
    valid: int = 0
    carted: int = 0
    wishlisted: int = 0
    pending: int = 0
    orders: int = 0
    units: int = 0
    # Per currency, so mixed currencies are never added up as if they were one.
    revenue: dict[str, Decimal] = field(default_factory=dict)
    confirmed_elsewhere: int = 0
    # Buy with a post (issue 12).
    buys_requested: int = 0
    buys_confirmed: int = 0
    buy_revenue: dict[str, Decimal] = field(default_factory=dict)
    # Offers by hashtag (issue 12): offers loaded by replies to this post, and redeemed.
    offer_loads: int = 0
    offer_redemptions: int = 0


@dataclass
class FunnelTotals:
    posts: int = 0
    triggers: int = 0
    valid: int = 0
    carted: int = 0
    wishlisted: int = 0
    pending: int = 0
    # Distinct orders over all the posts shown: an order with lines from two posts counts once.
    orders: int = 0
    units: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)
    confirmed_elsewhere: int = 0
    # Buy with a post (issue 12).
    buys_requested: int = 0
    buys_confirmed: int = 0
    buy_revenue: dict[str, Decimal] = field(default_factory=dict)
    offer_loads: int = 0
    offer_redemptions: int = 0


@dataclass
class Funnel:
    rows: list[FunnelRow]
    totals: FunnelTotals


def _sort_value(key: SortKey) -> Callable[[FunnelRow], Any]:
    if key == "posted":
        return lambda row: row.created_at
    if key == "author":
        return lambda row: row.author_handle.casefold()
    if key == "text":
        return lambda row: (row.text or "").casefold()
    if key == "products":
        return lambda row: [product.title.casefold() for product in row.products]
    if key == "revenue":
        # Only an order to sort by: with mixed currencies the amounts are compared as numbers.
        return lambda row: sum(row.revenue.values(), Decimal(0))
    if key == "buy_revenue":
        return lambda row: sum(row.buy_revenue.values(), Decimal(0))
    return lambda row: getattr(row, key)


def sort_rows(rows: list[FunnelRow], key: SortKey, descending: bool) -> list[FunnelRow]:
    """Sorted by `key`; ties newest first, then by id, so the order is stable."""
    ordered = sorted(rows, key=lambda row: (row.network, row.post_id))
    ordered.sort(key=lambda row: row.created_at, reverse=True)
    ordered.sort(key=_sort_value(key), reverse=descending)
    return ordered


def funnel(
    connection: Connection,
    now: datetime,
    *,
    network: str | None = None,
    accounts: Iterable[ShopAccount] = (),
    sort: SortKey = "posted",
    descending: bool = True,
) -> Funnel:
    """Every shoppable post (of `network`, when given; of the shop's `accounts`, when there
    are any: see store/shoppable) with its funnel, sorted."""
    shop_accounts = tuple(accounts)
    rows = _shoppable_posts(connection, network, shop_accounts)
    scope = _Scope({(row.network, row.post_id): row for row in rows})
    order_ids = _add_counts(connection, scope, network, shop_accounts, now) if rows else set()
    return Funnel(sort_rows(rows, sort, descending), _totals(rows, order_ids))


def _add_counts(
    connection: Connection,
    scope: _Scope,
    network: str | None,
    accounts: tuple[ShopAccount, ...],
    now: datetime,
) -> set[int]:
    """Every figure of the scope's posts; returns the ids of the orders counted."""
    if not scope.whole_shop:
        _add_products(connection, scope, network)
    _add_trigger_counts(connection, scope, network, accounts, now)
    _add_web_cart_lines(connection, scope)
    _add_confirmed_elsewhere(connection, scope)
    order_ids = _add_orders(connection, scope)
    _add_buys(connection, scope)
    _add_offer_loads(connection, scope)
    return order_ids


def shop_totals(
    connection: Connection,
    now: datetime,
    *,
    network: str | None = None,
    accounts: Iterable[ShopAccount] = (),
) -> FunnelTotals:
    """The figures of every shoppable post added up, without loading the posts: each grouped
    query reads only the rows that count something (replies, lines, buys, loads)."""
    shop_accounts = tuple(accounts)
    scope = _Scope(None, network=network, accounts=shop_accounts)
    order_ids = _add_counts(connection, scope, network, shop_accounts, now)
    totals = _totals(scope.rows.values(), order_ids)
    p = t.posts
    totals.posts = int(
        connection.scalar(
            select(func.count()).where(
                *shoppable_conditions(p, network=network, accounts=shop_accounts)
            )
        )
        or 0
    )
    return totals


class _Scope:
    """Which posts the grouped queries count for, and where their figures go.

    - every shoppable post, loaded (`funnel`): `rows` holds them all, nothing is restricted;
    - one page of them (`funnel_page`): `rows` holds the page, each query reads only the
      page's posts through its index (`only` is the page's keys);
    - the whole shop's totals: no rows loaded; each query keeps the posts that are
      shoppable (an EXISTS on the posts' primary key) and sums into blank rows made here."""

    def __init__(
        self,
        rows: dict[tuple[str, str], FunnelRow] | None,
        *,
        only: list[tuple[str, str]] | None = None,
        network: str | None = None,
        accounts: tuple[ShopAccount, ...] = (),
    ) -> None:
        self.rows = rows if rows is not None else {}
        self.only = only
        self.whole_shop = rows is None
        self.network = network
        self.accounts = accounts

    def where(self, network: Any, post_id: Any) -> Any:
        """The condition on a query's (network, post id) columns naming the post."""
        if self.only is not None:
            return _keys_in(network, post_id, self.only)
        if self.whole_shop:
            shown = t.posts.alias("shown")
            return (
                select(shown.c.post_id)
                .where(
                    shown.c.network == network,
                    shown.c.post_id == post_id,
                    *shoppable_conditions(shown, network=self.network, accounts=self.accounts),
                )
                .exists()
            )
        return true()

    def get(self, key: tuple[str, str]) -> FunnelRow | None:
        if self.whole_shop:
            found = self.rows.get(key)
            if found is None:
                found = self.rows[key] = FunnelRow(key[0], key[1], "", "", None, _EPOCH)
            return found
        return self.rows.get(key)

    def shoppable(
        self, connection: Connection, keys: Iterable[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Which of `keys` (parsed from web lines) this scope counts."""
        wanted = sorted(set(keys))
        if not self.whole_shop:
            return {key for key in wanted if key in self.rows}
        p = t.posts
        found: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), 500):
            query = select(p.c.network, p.c.post_id).where(
                _keys_in(p.c.network, p.c.post_id, wanted[start : start + 500]),
                *shoppable_conditions(p, network=self.network, accounts=self.accounts),
            )
            found.update((row.network, row.post_id) for row in connection.execute(query))
        return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _keys_in(network: Any, post_id: Any, keys: list[tuple[str, str]]) -> Any:
    """`(network, post_id) IN keys`, written per network (`network = 'x' AND post_id IN
    (...) OR ...`): SQLite seeks an index for each such term, where a row-value IN list
    would read the whole table."""
    ids: dict[str, list[str]] = defaultdict(list)
    for key_network, key_post in keys:
        ids[key_network].append(key_post)
    if not ids:
        return false()
    return or_(*(and_(network == name, post_id.in_(found)) for name, found in sorted(ids.items())))


def _shoppable_posts(
    connection: Connection, network: str | None, accounts: tuple[ShopAccount, ...]
) -> list[FunnelRow]:
    p = t.posts
    query = select(
        p.c.network, p.c.post_id, p.c.author_id, p.c.author_handle, p.c.text, p.c.created_at
    ).where(*shoppable_conditions(p, network=network, accounts=accounts))
    return [
        FunnelRow(
            network=row.network,
            post_id=row.post_id,
            author_id=row.author_id,
            author_handle=row.author_handle,
            text=row.text,
            created_at=row.created_at,
        )
        for row in connection.execute(query)
    ]


def _add_products(connection: Connection, scope: _Scope, network: str | None) -> None:
    pp = t.post_products
    query = (
        select(pp.c.network, pp.c.post_id, pp.c.product_id, t.products.c.title)
        .join(t.products, t.products.c.product_id == pp.c.product_id)
        .order_by(pp.c.network, pp.c.post_id, pp.c.position)
    )
    if network is not None:
        query = query.where(pp.c.network == network)
    query = query.where(scope.where(pp.c.network, pp.c.post_id))
    for row in connection.execute(query):
        found = scope.get((row.network, row.post_id))
        if found is not None:
            found.products.append(ProductRef(row.product_id, row.title))


def _add_trigger_counts(
    connection: Connection,
    scope: _Scope,
    network: str | None,
    accounts: tuple[ShopAccount, ...],
    now: datetime,
) -> None:
    trigger = t.posts.alias("trigger")
    parent = t.posts.alias("parent")
    action = t.actions
    intent = t.pending_intents
    outcome = action.c.outcome
    to_cart = or_(
        outcome.in_(_CART_OUTCOMES),
        and_(outcome == _APPLIED_OUTCOME, trigger.c.list_kind == "cart"),
    )
    to_wishlist = or_(
        outcome.in_(_WISHLIST_OUTCOMES),
        and_(outcome == _APPLIED_OUTCOME, trigger.c.list_kind == "wishlist"),
    )
    valid = or_(to_cart, to_wishlist, outcome == _PENDING_OUTCOME, intent.c.id.is_not(None))
    # Waiting and not expired: an expired intent is never applied, even if nobody marked it.
    waiting = and_(intent.c.status == "waiting", intent.c.expires_at > now)
    query = (
        select(
            trigger.c.network,
            trigger.c.parent_id,
            func.count().label("triggers"),
            _count_if(valid).label("valid"),
            _count_if(to_cart).label("carted"),
            _count_if(to_wishlist).label("wishlisted"),
            _count_if(waiting).label("pending"),
        )
        .select_from(
            trigger.join(
                parent,
                and_(
                    parent.c.network == trigger.c.network, parent.c.post_id == trigger.c.parent_id
                ),
            )
            # At most one action and one intent per trigger (unique constraints): no fan-out.
            .outerjoin(
                action,
                and_(
                    action.c.network == trigger.c.network,
                    action.c.trigger_post_id == trigger.c.post_id,
                ),
            )
            .outerjoin(
                intent,
                and_(
                    intent.c.network == trigger.c.network,
                    intent.c.trigger_post_id == trigger.c.post_id,
                ),
            )
        )
        .where(
            trigger.c.list_kind.is_not(None),
            *shoppable_conditions(parent, network=network, accounts=accounts),
            # The page's posts only (their triggers by the parent index), when paged.
            true() if scope.only is None else scope.where(trigger.c.network, trigger.c.parent_id),
        )
        .group_by(trigger.c.network, trigger.c.parent_id)
    )
    for row in connection.execute(query):
        found = scope.get((row.network, row.parent_id))
        if found is not None:
            found.triggers = int(row.triggers)
            found.valid = int(row.valid)
            found.carted += int(row.carted)
            found.wishlisted = int(row.wishlisted)
            found.pending = int(row.pending)


def _add_confirmed_elsewhere(connection: Connection, scope: _Scope) -> None:
    """Per post: replies to its triggers that failed on the network and went another way: by
    email, or as a private message on another of the shopper's networks."""
    reply = t.outbox.alias("reply")
    instead = t.outbox.alias("instead")
    trigger = t.posts.alias("trigger")
    query = (
        select(trigger.c.network, trigger.c.parent_id, func.count().label("elsewhere"))
        .select_from(
            reply.join(
                trigger,
                and_(
                    trigger.c.network == reply.c.network, trigger.c.post_id == reply.c.in_reply_to
                ),
            ).join(instead, _fallback_of(reply, instead))
        )
        .where(
            reply.c.channel == "reply",
            reply.c.status == "failed",
            scope.where(trigger.c.network, trigger.c.parent_id),
        )
        .group_by(trigger.c.network, trigger.c.parent_id)
    )
    if scope.only is not None:
        _add_confirmed_elsewhere_of_page(connection, scope, reply, instead, trigger)
        return
    for row in connection.execute(query):
        found = scope.get((row.network, row.parent_id))
        if found is not None:
            found.confirmed_elsewhere = int(row.elsewhere)


def _add_confirmed_elsewhere_of_page(
    connection: Connection, scope: _Scope, reply: Any, instead: Any, trigger: Any
) -> None:
    """The same for one page: its posts' triggers first (the parent index), then per network
    the failed replies to those (the outbox's reply index), never every failed reply."""
    triggers = select(trigger.c.network, trigger.c.post_id, trigger.c.parent_id).where(
        scope.where(trigger.c.network, trigger.c.parent_id)
    )
    parent_of: dict[tuple[str, str], tuple[str, str]] = {}
    for row in connection.execute(triggers):
        parent_of[(row.network, row.post_id)] = (row.network, row.parent_id)
    ids: dict[str, list[str]] = defaultdict(list)
    for network, post_id in parent_of:
        ids[network].append(post_id)
    for network, found_ids in sorted(ids.items()):
        query = (
            select(reply.c.in_reply_to, func.count().label("elsewhere"))
            .select_from(reply.join(instead, _fallback_of(reply, instead)))
            .where(
                reply.c.network == network,
                reply.c.in_reply_to.in_(found_ids),
                reply.c.channel == "reply",
                reply.c.status == "failed",
            )
            .group_by(reply.c.in_reply_to)
        )
        for row in connection.execute(query):
            found = scope.get(parent_of[(network, row.in_reply_to)])
            if found is not None:
                found.confirmed_elsewhere += int(row.elsewhere)


def _fallback_of(reply: Any, instead: Any) -> Any:
    """`instead` is the email or private message the dispatcher sent for the failed `reply`."""
    return or_(
        instead.c.dedupe_key == literal(FALLBACK_KEY_PREFIX, String) + cast(reply.c.id, String),
        instead.c.dedupe_key
        == literal(PRIVATE_FALLBACK_KEY_PREFIX, String) + cast(reply.c.id, String),
    )


def _web_line(scope: _Scope, post_id: Any) -> Any:
    """A web order line (post_id `<network>/<post id>`) of the scope's posts."""
    if scope.only is not None:
        return post_id.in_([web_source(*key) for key in scope.only])
    return true()


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _add_web_cart_lines(connection: Connection, scope: _Scope) -> None:
    lines = t.cart_lines
    query = (
        select(lines.c.post_id, func.count().label("lines"))
        .where(
            lines.c.network == WEB_NETWORK,
            lines.c.post_id != "",
            _web_line(scope, lines.c.post_id),
        )
        .group_by(lines.c.post_id)
    )
    counted = [(parse_web_source(row.post_id), int(row.lines)) for row in connection.execute(query)]
    shown = scope.shoppable(connection, [key for key, _ in counted if key])
    for key, count in counted:
        found = scope.get(key) if key in shown and key else None
        if found is not None:
            found.carted += count


def _add_orders(connection: Connection, scope: _Scope) -> set[int]:
    """Orders, units and revenue per post; returns the ids of the orders counted."""
    lines = t.order_lines
    # Grouped by price too, so revenue is multiplied out in Decimal, not in the database
    # (SQLite would sum NUMERIC as floating point).
    query = (
        select(
            lines.c.network,
            lines.c.post_id,
            lines.c.order_id,
            lines.c.currency,
            lines.c.unit_price,
            func.sum(lines.c.quantity).label("units"),
        )
        .where(
            lines.c.network.is_not(None),
            lines.c.post_id.is_not(None),
            or_(
                scope.where(lines.c.network, lines.c.post_id),
                and_(lines.c.network == WEB_NETWORK, _web_line(scope, lines.c.post_id)),
            ),
        )
        .group_by(
            lines.c.network, lines.c.post_id, lines.c.order_id, lines.c.currency, lines.c.unit_price
        )
    )
    orders_of: dict[tuple[str, str], set[int]] = defaultdict(set)
    found_rows = connection.execute(query).all()
    web_keys = [parse_web_source(row.post_id) for row in found_rows if row.network == WEB_NETWORK]
    shown_web = scope.shoppable(connection, [key for key in web_keys if key])
    for row in found_rows:
        key = (row.network, row.post_id)
        if row.network == WEB_NETWORK:  # a line that kept the web form of its source
            key = parse_web_source(row.post_id) or key
            if key not in shown_web:
                continue
        found = scope.get(key)
        if found is None:
            continue
        units = int(row.units)
        orders_of[key].add(int(row.order_id))
        found.units += units
        amount = (Decimal(row.unit_price) * units).quantize(CENTS)
        found.revenue[row.currency] = found.revenue.get(row.currency, Decimal(0)) + amount
    for key, order_ids in orders_of.items():
        scope.rows[key].orders = len(order_ids)
    return {order_id for order_ids in orders_of.values() for order_id in order_ids}


def _add_buys(connection: Connection, scope: _Scope) -> None:
    """Buys with a post per source post: requested, confirmed, and revenue of those bought.
    Grouped by status and currency, totals summed in Decimal here (see _add_orders)."""
    b = t.buy_requests
    query = select(b.c.network, b.c.source_post_id, b.c.status, b.c.currency, b.c.total).where(
        b.c.source_post_id != "", scope.where(b.c.network, b.c.source_post_id)
    )
    for row in connection.execute(query):
        found = scope.get((row.network, row.source_post_id))
        if found is None:
            continue
        found.buys_requested += 1
        if row.status in ("confirmed", "bought", "declined"):
            found.buys_confirmed += 1
        if row.status == "bought":
            amount = Decimal(row.total).quantize(CENTS)
            found.buy_revenue[row.currency] = (
                found.buy_revenue.get(row.currency, Decimal(0)) + amount
            )


def _add_offer_loads(connection: Connection, scope: _Scope) -> None:
    """Per post: offers loaded by replies to it (pending ones not yet), and redeemed."""
    loads = t.offer_loads
    query = (
        select(
            loads.c.network,
            loads.c.parent_post_id,
            func.count().label("loaded"),
            func.count(loads.c.redeemed_order_id).label("redeemed"),
        )
        .where(
            loads.c.status == "loaded",
            loads.c.parent_post_id.is_not(None),
            scope.where(loads.c.network, loads.c.parent_post_id),
        )
        .group_by(loads.c.network, loads.c.parent_post_id)
    )
    for row in connection.execute(query):
        found = scope.get((row.network, row.parent_post_id))
        if found is not None:
            found.offer_loads = int(row.loaded)
            found.offer_redemptions = int(row.redeemed)


def _totals(rows: Iterable[FunnelRow], order_ids: set[int]) -> FunnelTotals:
    totals = FunnelTotals(orders=len(order_ids))
    for row in rows:
        totals.posts += 1
        totals.triggers += row.triggers
        totals.valid += row.valid
        totals.carted += row.carted
        totals.wishlisted += row.wishlisted
        totals.pending += row.pending
        totals.units += row.units
        totals.confirmed_elsewhere += row.confirmed_elsewhere
        totals.offer_loads += row.offer_loads
        totals.offer_redemptions += row.offer_redemptions
        for currency, amount in row.revenue.items():
            totals.revenue[currency] = totals.revenue.get(currency, Decimal(0)) + amount
        totals.buys_requested += row.buys_requested
        totals.buys_confirmed += row.buys_confirmed
        for currency, amount in row.buy_revenue.items():
            totals.buy_revenue[currency] = totals.buy_revenue.get(currency, Decimal(0)) + amount
    return totals


# --- one page -------------------------------------------------------------------------------

# The sort keys read from the posts table itself, so a page is found by key through the
# posts' indexes; the others (products, the counts) are worked out for every post first.
SQL_SORTS: frozenset[str] = frozenset({"posted", "network", "author", "text"})


def _key_order(sort: SortKey, descending: bool) -> KeyOrder:
    p = t.posts
    # Ties go the way the column goes (newest first under a descending column), so one index
    # read in one direction serves the whole order.
    tail: list[tuple[Any, bool]] = [
        (p.c.created_at, descending),
        (p.c.network, descending),
        (p.c.post_id, descending),
    ]
    if sort == "posted":
        return tail
    if sort == "network":  # the (network, created_at, post_id) index, in one direction
        return [(p.c.network, descending), (p.c.created_at, descending), (p.c.post_id, descending)]
    # The expressions of the posts' sort indexes (store/schema), exactly.
    first = {
        "author": func.lower(p.c.author_handle),
        "text": func.substr(
            func.lower(func.coalesce(p.c.text, literal_column("''"))),
            literal_column("1"),
            literal_column(str(t.TEXT_SORT_CHARACTERS)),
        ),
    }[sort]
    return [(first, descending), *tail]


# Above this many stored posts the console works out the whole shop's totals only when asked
# (they read every reply, line, buy and load; a page reads only its own posts').
BIG_SHOP_POSTS = 10_000


def is_big_shop(connection: Connection) -> bool:
    """More than BIG_SHOP_POSTS posts stored (counting stops there)."""
    some = select(t.posts.c.post_id).limit(BIG_SHOP_POSTS + 1).subquery()
    return int(connection.scalar(select(func.count()).select_from(some)) or 0) > BIG_SHOP_POSTS


@dataclass
class FunnelPage:
    """One page of the funnel, the whole shop's totals (None when not asked for), and the
    cursors of the pages beside it."""

    page: Paged[FunnelRow]
    totals: FunnelTotals | None

    @property
    def rows(self) -> list[FunnelRow]:
        return self.page.items


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
    """The `limit` shoppable posts after the cursor `after` (or before `before`) in the
    order asked for, with their figures: the grouped queries read only this page's posts.
    BadCursor when a cursor is not one this list gave."""
    shop_accounts = tuple(accounts)
    if sort in SQL_SORTS:
        page = _sql_page(connection, network, shop_accounts, sort, descending, after, before, limit)
        scope = _Scope(
            {(row.network, row.post_id): row for row in page.items},
            only=[(row.network, row.post_id) for row in page.items],
        )
        if page.items:
            _add_counts(connection, scope, network, shop_accounts, now)
    else:
        everything = funnel(
            connection,
            now,
            network=network,
            accounts=shop_accounts,
            sort=sort,
            descending=descending,
        )
        page = _slice(everything.rows, after, before, limit)
    if not with_totals:
        return FunnelPage(page, None)
    totals = shop_totals(connection, now, network=network, accounts=shop_accounts)
    return FunnelPage(
        Paged(page.items, page.next_after, page.previous_before, totals.posts), totals
    )


def _sql_page(
    connection: Connection,
    network: str | None,
    accounts: tuple[ShopAccount, ...],
    sort: SortKey,
    descending: bool,
    after: str,
    before: str,
    limit: int,
) -> Paged[FunnelRow]:
    order = _key_order(sort, descending)
    p = t.posts
    query = select(
        p.c.network,
        p.c.post_id,
        p.c.author_id,
        p.c.author_handle,
        p.c.text,
        p.c.created_at,
        *(column.label(f"key_{index}") for index, (column, _) in enumerate(order)),
    ).where(*shoppable_conditions(p, network=network, accounts=accounts))
    rows, next_after, previous = keyset_page(
        connection,
        query,
        order,
        lambda row: [getattr(row, f"key_{index}") for index in range(len(order))],
        after=after,
        before=before,
        limit=limit,
    )
    items = [
        FunnelRow(
            network=row.network,
            post_id=row.post_id,
            author_id=row.author_id,
            author_handle=row.author_handle,
            text=row.text,
            created_at=row.created_at,
        )
        for row in rows
    ]
    return Paged(items, next_after, previous)


def _slice(rows: list[FunnelRow], after: str, before: str, limit: int) -> Paged[FunnelRow]:
    """A page of rows sorted in Python (by a count): the cursor names the post at its edge."""
    keys = [(row.network, row.post_id) for row in rows]

    def position(token: str) -> int:
        network, post_id = decode_cursor(token, 2)
        try:
            return keys.index((network, post_id))
        except ValueError:
            raise BadCursor("the post the cursor names is not in this list") from None

    if before:
        end = position(before)
        start = max(0, end - limit)
    else:
        start = position(after) + 1 if after else 0
        end = start + limit
    items = rows[start:end]
    next_after = encode_cursor(keys[end - 1]) if end < len(rows) and items else None
    previous = encode_cursor(keys[start]) if start > 0 and items else None
    return Paged(items, next_after, previous)
