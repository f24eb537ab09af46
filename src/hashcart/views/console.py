"""Read queries for the merchant console: the dashboard's counts, the catalog, customers,
the outbox and dead letters, a page at a time. (The funnel has its own module.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select

from hashcart.domain.shop_accounts import ShopAccount
from hashcart.store import schema as t
from hashcart.store.outbox_text import text_for_staff
from hashcart.store.shoppable import shoppable_conditions
from hashcart.views.keyset import BadCursor, KeyOrder, Paged, keyset_page

PER_PAGE = 50


def _keyset_of(
    connection: Connection,
    query: Select[Any],
    order: KeyOrder,
    key_of: Any,
    after: str,
    before: str,
    per_page: int,
    total: int | None = None,
) -> tuple[list[Any], str | None, str | None, int]:
    """A page of `query` by key (views/keyset), and how many rows it holds in all (counted
    here unless the caller knows). A cursor the page did not give (an old or edited link)
    shows the first page."""
    if total is None:
        total = int(
            connection.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        )
    try:
        rows, later, earlier = keyset_page(
            connection, query, order, key_of, after=after, before=before, limit=per_page
        )
    except BadCursor:
        rows, later, earlier = keyset_page(connection, query, order, key_of, limit=per_page)
    return rows, later, earlier, total


# dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    products: int
    customers: int
    linked_accounts: int
    shoppable_posts: int
    cart_lines: int
    pending_intents: int
    orders: int
    # Revenue per currency: a shop may sell in more than one, and they do not add up.
    revenue: list[tuple[Decimal, str]]
    # Counted up to OUTBOX_COUNT_CAP + 1, as the outbox page counts them: above the cap the
    # tile says "1,000+" (what a merchant acts on: there is a backlog), and the page reads at
    # most that many index entries per status, however many messages wait (37,500 queued
    # and 37,500 failed cost the page 2 ms at 1,000,000 posts counted exactly).
    outbox_queued: int
    outbox_failed: int
    dead_letters: int

    @property
    def shown_outbox_queued(self) -> int | str:
        return shown_count(self.outbox_queued)

    @property
    def shown_outbox_failed(self) -> int | str:
        return shown_count(self.outbox_failed)


def _count(connection: Connection, table: Any, *where: Any) -> int:
    query = select(func.count()).select_from(table)
    if where:
        query = query.where(*where)
    return int(connection.execute(query).scalar_one())


@lru_cache(maxsize=1)
def _dashboard_statements() -> tuple[Select[Any], Select[Any]]:
    """The home page's counts that never change shape (one statement, a scalar subquery
    each) and its revenue per currency: built once. Built on every page, SQLAlchemy derived
    their cache keys again each time, most of the page's CPU after its reads."""
    counts = select(
        *(
            select(func.count()).select_from(table).where(*where).scalar_subquery()
            for table, *where in (
                (t.products,),
                (t.customers,),
                (t.account_links,),
                (t.cart_lines,),
                (t.pending_intents, t.pending_intents.c.status == "waiting"),
                (t.orders,),
                (t.dead_letters,),
            )
        )
    )
    revenue = (
        select(t.orders.c.currency, func.sum(t.orders.c.total_amount))
        .group_by(t.orders.c.currency)
        .order_by(t.orders.c.currency)
    )
    return counts, revenue


def dashboard(
    connection: Connection,
    accounts: Iterable[ShopAccount] = (),
    *,
    shoppable_posts: int | None = None,
) -> Dashboard:
    """The shop's figures; shoppable posts are those of `accounts` when there are any
    (counted here unless the caller knows them: views/funnel_keeping keeps them)."""
    capped = _capped_counts(connection, _statuses_counted(("queued", "failed"), OUTBOX_COUNT_CAP))
    counts_of, revenue_of = _dashboard_statements()
    products, customers, links, lines, waiting, orders, dead = (
        int(count or 0) for count in connection.execute(counts_of).one()
    )
    revenue = connection.execute(revenue_of).all()
    return Dashboard(
        products=products,
        customers=customers,
        linked_accounts=links,
        shoppable_posts=(
            _count(connection, t.posts, *shoppable_conditions(t.posts, accounts=accounts))
            if shoppable_posts is None
            else shoppable_posts
        ),
        cart_lines=lines,
        pending_intents=waiting,
        orders=orders,
        revenue=[(Decimal(total), currency) for currency, total in revenue],
        outbox_queued=capped["queued"],
        outbox_failed=capped["failed"],
        dead_letters=dead,
    )


# catalog --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    product_id: str
    title: str
    link: str
    price_amount: Decimal | None
    currency: str | None
    availability: str
    updated_at: datetime | None
    stock: int | None = None  # None: not counted (views/stock has what checkouts hold)


def _product(row: Any) -> Product:
    return Product(
        product_id=row.product_id,
        title=row.title,
        link=row.link,
        price_amount=row.price_amount,
        currency=row.currency,
        availability=row.availability,
        updated_at=row.updated_at,
        stock=row.stock,
    )


def catalog(
    connection: Connection,
    search: str = "",
    after: str = "",
    before: str = "",
    per_page: int = PER_PAGE,
) -> Paged[Product]:
    """Products by id, a page by key; `search` matches anywhere in the title or id,
    ignoring case."""
    p = t.products
    query = select(p)
    if search:
        query = query.where(
            p.c.title.icontains(search, autoescape=True)
            | p.c.product_id.icontains(search, autoescape=True)
        )
    rows, later, earlier, total = _keyset_of(
        connection,
        query,
        ((p.c.product_id, False),),
        lambda row: (row.product_id,),
        after,
        before,
        per_page,
    )
    return Paged([_product(row) for row in rows], later, earlier, total)


def product(connection: Connection, product_id: str) -> Product | None:
    row = connection.execute(
        select(t.products).where(t.products.c.product_id == product_id)
    ).first()
    return None if row is None else _product(row)


# customers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedAccount:
    network: str
    account_id: str
    handle: str | None


@dataclass(frozen=True)
class Customer:
    id: int
    email: str
    name: str | None
    created_at: datetime | None
    can_sign_in: bool
    links: list[LinkedAccount] = field(default_factory=list)
    cart_lines: int = 0
    orders: int = 0


def _counts_by_customer(connection: Connection, table: Any, ids: Sequence[int]) -> dict[int, int]:
    rows = connection.execute(
        select(table.c.customer_id, func.count())
        .where(table.c.customer_id.in_(ids))
        .group_by(table.c.customer_id)
    )
    return {int(customer_id): int(count) for customer_id, count in rows}


# outbox ---------------------------------------------------------------------------------

OUTBOX_STATUSES = ("queued", "sent", "failed")


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    network: str
    channel: str
    recipient: str
    in_reply_to: str
    reason: str
    subject: str | None
    text: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime | None
    sent_at: datetime | None
    # A queued retry's time (the dispatcher's backoff, or a network's rate limit).
    next_attempt_at: datetime | None = None
    # A failed reply or private message whose shopper was emailed it instead.
    emailed_instead: bool = False


def outbox(
    connection: Connection,
    status: str = "",
    channel: str = "",
    after: str = "",
    before: str = "",
    per_page: int = PER_PAGE,
    status_counts: dict[str, int] | None = None,
) -> Paged[OutboxMessage]:
    """Messages, newest first, optionally of one status and one channel, a page by key.
    `status_counts` (outbox_status_counts, every status) gives the total without counting
    the messages again when no channel is asked for."""
    o = t.outbox
    query = select(o)
    if status:
        query = query.where(o.c.status == status)
    if channel:
        query = query.where(o.c.channel == channel)
    known: int | None = None
    if status_counts is not None and not channel:
        known = status_counts.get(status, 0) if status else sum(status_counts.values())
    capped = status_counts is not None and any(
        count > OUTBOX_COUNT_CAP for count in status_counts.values()
    )
    rows, later, earlier, total = _keyset_of(
        connection,
        query,
        ((o.c.id, True),),
        lambda row: (row.id,),
        after,
        before,
        per_page,
        0 if capped else known,
    )
    emailed = _emailed_instead(connection, [row.id for row in rows if row.status == "failed"])
    items = [
        OutboxMessage(
            id=row.id,
            network=row.network,
            channel=row.channel,
            recipient=row.account_id,
            in_reply_to=row.in_reply_to,
            reason=row.reason,
            subject=row.subject,
            text=text_for_staff(row.channel, row.reason, row.text),
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
            next_attempt_at=row.next_attempt_at if row.status == "queued" else None,
            emailed_instead=row.id in emailed,
        )
        for row in rows
    ]
    # Past the cap the page says no total (the pager then shows none).
    return Paged(items, later, earlier, None if capped else total)


def _emailed_instead(connection: Connection, failed_ids: list[int]) -> set[int]:
    """Which of these failed rows have the dispatcher's fallback email (outbox.fallback)."""
    if not failed_ids:
        return set()
    keys = {f"email:fallback:{outbox_id}": outbox_id for outbox_id in failed_ids}
    found = connection.execute(
        select(t.outbox.c.dedupe_key).where(t.outbox.c.dedupe_key.in_(list(keys)))
    ).scalars()
    return {keys[key] for key in found}


def outbox_channels(connection: Connection) -> list[str]:
    """The channels messages went out on, for the filter (reply, private, email, …): one
    index step per channel (the least channel after the last found), never every message."""
    channel = t.outbox.c.channel
    found: list[str] = []
    while True:
        query = select(func.min(channel))
        if found:
            query = query.where(channel > found[-1])
        step = connection.scalar(query)
        if step is None:
            return found
        found.append(str(step))


# Counting stops here: above it a status shows "1,000+" and the outbox no total, so a page
# reads at most this many index entries per status, however many messages were ever sent.
OUTBOX_COUNT_CAP = 1_000
_EVERY_STATUS = (*OUTBOX_STATUSES, "sending")


def outbox_status_counts(connection: Connection, *, every: bool = False) -> dict[str, int]:
    """Messages per status shown in the filter (`every`: `sending` too), each counted on the
    (status, id) index up to OUTBOX_COUNT_CAP + 1 (more than the cap: there are more)."""
    statuses = _EVERY_STATUS if every else OUTBOX_STATUSES
    return _capped_counts(connection, _statuses_counted(tuple(statuses), OUTBOX_COUNT_CAP))


def queued_up_to_cap(connection: Connection, networks: Iterable[str]) -> dict[str, int]:
    """Queued messages of each of `networks`, counted on the (status, network) index up to
    OUTBOX_COUNT_CAP + 1 each."""
    return _capped_counts(connection, _queued_counted(tuple(networks), OUTBOX_COUNT_CAP))


# The capped counts' statements, built once per set of statuses or networks (a few: the
# filter's, the home page's, the channels without a sender) and cap: built on every page,
# deriving their cache keys cost more CPU than the database's capped counts.
_CappedCounts = tuple[tuple[str, ...], Select[Any] | None]


@lru_cache(maxsize=64)
def _statuses_counted(statuses: tuple[str, ...], cap: int) -> _CappedCounts:
    o = t.outbox
    return statuses, _capped_statement([o.c.status == status for status in statuses], cap)


@lru_cache(maxsize=64)
def _queued_counted(networks: tuple[str, ...], cap: int) -> _CappedCounts:
    o = t.outbox
    conditions = [(o.c.status == "queued") & (o.c.network == network) for network in networks]
    return networks, _capped_statement(conditions, cap)


def _capped_counts(connection: Connection, counted: _CappedCounts) -> dict[str, int]:
    keys, statement = counted
    if statement is None:
        return {}
    found = connection.execute(statement).one()
    return {key: int(count or 0) for key, count in zip(keys, found, strict=True)}


def _capped_statement(conditions: Sequence[ColumnElement[bool]], cap: int) -> Select[Any] | None:
    """Outbox messages meeting each condition, each counted up to `cap` + 1, all
    in one statement (a scalar subquery each): a statement costs the page more of
    SQLAlchemy's and the driver's time than a capped count costs the database."""
    if not conditions:
        return None
    o = t.outbox
    return select(
        *(
            select(func.count())
            .select_from(select(o.c.id).where(condition).limit(cap + 1).subquery())
            .scalar_subquery()
            for condition in conditions
        )
    )


def shown_count(count: int) -> int | str:
    """A capped count as the page shows it: the number, or "1,000+" above the cap."""
    return f"{OUTBOX_COUNT_CAP:,}+" if count > OUTBOX_COUNT_CAP else count


# dead letters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    id: int
    source: str
    line: int
    reason: str
    excerpt: str
    created_at: datetime | None


def dead_letters(
    connection: Connection, after: str = "", before: str = "", per_page: int = PER_PAGE
) -> Paged[DeadLetter]:
    """Input we could not read, newest first, a page by key."""
    d = t.dead_letters
    rows, later, earlier, total = _keyset_of(
        connection, select(d), ((d.c.id, True),), lambda row: (row.id,), after, before, per_page
    )
    items = [
        DeadLetter(row.id, row.source, row.line, row.reason, row.excerpt, row.created_at)
        for row in rows
    ]
    return Paged(items, later, earlier, total)


# merchants ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merchant:
    email: str
    created_at: datetime | None


def merchants(connection: Connection) -> list[Merchant]:
    """Everyone who may sign in to the console (never their password hashes)."""
    rows = connection.execute(
        select(t.merchants.c.email, t.merchants.c.created_at).order_by(t.merchants.c.email)
    )
    return [Merchant(row.email, row.created_at) for row in rows]
