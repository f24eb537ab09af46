"""The console's orders (issue 12, order care; issue 14, orders and fulfilment): the list,
filtered and paged by key (newest first: a page ends at a (created_at, id) key and the next
starts after it, never at an OFFSET, so page 1000 costs what page 1 does and rows placed
meanwhile never shift a page), its counts per status from the (status, created_at, id)
index, and the rows of its CSV export. The order page reads views/order_page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Select, and_, exists, func, or_, select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.views.console import PER_PAGE

T = TypeVar("T")

# What orders.status holds, in the order the console offers them.
ORDER_STATUSES = ("placed", "paid", "refunded", "cancelled")
MAX_SEARCH = 320
MAX_POST_ID = 300


@dataclass(frozen=True)
class OrderRow:
    id: int
    created_at: datetime
    email: str
    status: str
    total_amount: Decimal
    currency: str
    shipped_at: datetime | None
    name: str = ""
    carrier: str | None = None
    cancelled_at: datetime | None = None


# --- keys -----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class OrderKey:
    """Where a page of the list ends: the last row's time and id (ids break ties in time)."""

    created_at: datetime
    id: int

    def token(self) -> str:
        """The key as the `after` parameter carries it: microseconds since 1970, a dot, the
        id (plain digits, so nothing in it needs escaping)."""
        moment = self.created_at.astimezone(UTC)
        micros = (moment - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.id}"

    @classmethod
    def parse(cls, token: str) -> OrderKey | None:
        """The key `token` names; None when it is not one (then the list starts over)."""
        found = re.fullmatch(r"(-?\d{1,18})\.(\d{1,12})", token.strip())
        if found is None:
            return None
        try:
            moment = _EPOCH + timedelta(microseconds=int(found.group(1)))
        except OverflowError:
            return None
        return cls(moment, int(found.group(2)))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    """One page of a list paged by key: its rows, the key the next page starts after (None
    on the last page), whether it is the first page, and the key the page before ends
    before."""

    items: list[T]
    next_after: str | None
    first: bool
    # The key the previous page ends before (None on the first page, or when not known).
    previous_before: str | None = None


# --- the filter -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilter:
    """What the list shows: every field empty shows every order."""

    status: str = ""
    since: date | None = None
    until: date | None = None
    network: str = ""
    post: str = ""
    search: str = ""
    # The fields the merchant got wrong: field name -> what to fix (shown beside it).
    problems: Mapping[str, str] = field(default_factory=dict)

    def query(self) -> dict[str, str]:
        """The filter as query parameters (for the next page's link and the CSV export)."""
        said = {
            "status": self.status,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "network": self.network,
            "post": self.post,
            "q": self.search,
        }
        return {name: value for name, value in said.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.query())


def _day(text: str, name: str, problems: dict[str, str]) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10]) if len(text) == 10 else date.fromisoformat(text)
    except ValueError:
        problems[name] = "Enter a date as YYYY-MM-DD."
        return None


def order_filter(
    status: str = "",
    since: str = "",
    until: str = "",
    network: str = "",
    post: str = "",
    search: str = "",
) -> OrderFilter:
    """The filter the list's form asked for; what it got wrong is in `problems` (the rest
    still filters)."""
    problems: dict[str, str] = {}
    status = status.strip().lower()
    if status and status not in ORDER_STATUSES:
        problems["status"] = "Choose one of the statuses listed."
        status = ""
    network = network.strip().lower()
    if network and network not in {str(known) for known in Network}:
        problems["network"] = "Choose one of the networks listed."
        network = ""
    post = post.strip()
    if len(post) > MAX_POST_ID:
        problems["post"] = f"A post id is at most {MAX_POST_ID} characters."
        post = ""
    search = " ".join(search.split())
    if len(search) > MAX_SEARCH:
        problems["q"] = f"Search for at most {MAX_SEARCH} characters."
        search = ""
    first, last = _day(since, "since", problems), _day(until, "until", problems)
    if first and last and last < first:
        problems["until"] = "The end date is before the start date."
        last = None
    return OrderFilter(status, first, last, network, post, search, problems)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _where(query: Select[Any], wanted: OrderFilter) -> Select[Any]:
    o, lines = t.orders, t.order_lines
    if wanted.status:
        query = query.where(o.c.status == wanted.status)
    if wanted.since:
        query = query.where(o.c.created_at >= _start_of(wanted.since))
    if wanted.until:
        query = query.where(o.c.created_at < _start_of(wanted.until + timedelta(days=1)))
    if wanted.network or wanted.post:
        line = lines.c.order_id == o.c.id
        if wanted.network:
            line = and_(line, lines.c.network == wanted.network)
        if wanted.post:
            line = and_(
                line, or_(lines.c.post_id == wanted.post, lines.c.trigger_post_id == wanted.post)
            )
        query = query.where(exists().where(line))
    if wanted.search:
        query = query.where(_search(wanted.search))
    return query


def _search(text: str) -> Any:
    """An order number (`42` or `#42`), else the start of the shopper's email or of the
    handle of an account linked to the order's customer (`@ann` or `ann`), any case."""
    o, links = t.orders, t.account_links
    number = re.fullmatch(r"#?(\d{1,12})", text)
    if number:
        return o.c.id == int(number.group(1))
    handle = text.removeprefix("@").lower()
    linked = select(links.c.customer_id).where(
        func.lower(links.c.handle).startswith(handle, autoescape=True)
    )
    return or_(
        func.lower(o.c.email).startswith(text.lower(), autoescape=True),
        o.c.customer_id.in_(linked),
    )


# --- the list -------------------------------------------------------------------------------


def _columns() -> Select[Any]:
    o = t.orders
    return select(
        o.c.id,
        o.c.created_at,
        o.c.email,
        o.c.status,
        o.c.total_amount,
        o.c.currency,
        o.c.shipped_at,
        o.c.ship_name,
        o.c.carrier,
        o.c.cancelled_at,
    )


def _row(row: Any) -> OrderRow:
    return OrderRow(
        id=row.id,
        created_at=row.created_at,
        email=row.email,
        status=row.status,
        total_amount=Decimal(row.total_amount),
        currency=row.currency,
        shipped_at=row.shipped_at,
        name=row.ship_name,
        carrier=row.carrier,
        cancelled_at=row.cancelled_at,
    )


def _after(query: Select[Any], key: OrderKey | None) -> Select[Any]:
    o = t.orders
    if key is not None:
        query = query.where(
            or_(
                o.c.created_at < key.created_at,
                and_(o.c.created_at == key.created_at, o.c.id < key.id),
            )
        )
    return query.order_by(o.c.created_at.desc(), o.c.id.desc())


def order_page(
    connection: Connection,
    wanted: OrderFilter | None = None,
    after: str = "",
    per_page: int = PER_PAGE,
    before: str = "",
) -> KeysetPage[OrderRow]:
    """The orders `wanted` picks, newest first, the `per_page` after the key `after` (or,
    going back, the `per_page` before the key `before`)."""
    back = OrderKey.parse(before) if before else None
    if back is not None:
        return _page_before(connection, wanted or OrderFilter(), back, per_page)
    key = OrderKey.parse(after) if after else None
    query = _after(_where(_columns(), wanted or OrderFilter()), key)
    rows = connection.execute(query.limit(per_page + 1)).all()
    items = [_row(row) for row in rows[:per_page]]
    more = len(rows) > per_page
    last = _token(items[-1]) if more and items else None
    earlier = _token(items[0]) if key is not None and items else None
    return KeysetPage(items, last, key is None, earlier)


def _token(row: OrderRow) -> str:
    return OrderKey(row.created_at, row.id).token()


def _page_before(
    connection: Connection, wanted: OrderFilter, key: OrderKey, per_page: int
) -> KeysetPage[OrderRow]:
    """The page that ends just before `key`: read oldest first from the key, turned round."""
    o = t.orders
    query = _where(_columns(), wanted).where(
        or_(
            o.c.created_at > key.created_at,
            and_(o.c.created_at == key.created_at, o.c.id > key.id),
        )
    )
    rows = connection.execute(
        query.order_by(o.c.created_at.asc(), o.c.id.asc()).limit(per_page + 1)
    ).all()
    more_before = len(rows) > per_page
    items = [_row(row) for row in rows[:per_page]][::-1]
    last = _token(items[-1]) if items else key.token()
    earlier = _token(items[0]) if more_before and items else None
    return KeysetPage(items, last, not more_before, earlier)


def status_counts(connection: Connection) -> dict[str, int]:
    """How many orders have each status, and `all`: one GROUP BY the index covers."""
    o = t.orders
    counts = {status: 0 for status in ORDER_STATUSES}
    for status, count in connection.execute(select(o.c.status, func.count()).group_by(o.c.status)):
        counts[str(status)] = int(count)
    counts["all"] = sum(counts.values())
    return counts


# --- the CSV export -------------------------------------------------------------------------

CSV_HEADER = (
    "order",
    "placed_at",
    "status",
    "email",
    "name",
    "total",
    "currency",
    "payment_gateway",
    "payment_reference",
    "shipped_at",
    "carrier",
    "tracking_url",
    "cancelled_at",
    "items",
    "network",
    "post_id",
)


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def export_rows(
    connection: Connection, wanted: OrderFilter, after: OrderKey | None, batch: int
) -> tuple[list[list[str]], OrderKey | None]:
    """One batch of the export's rows (newest first, after `after`) and the key the next
    batch starts after (None: this was the last). Values as they are stored: the caller
    makes them safe for a spreadsheet."""
    o, lines = t.orders, t.order_lines
    query = _after(_where(select(o), wanted), after).limit(batch + 1)
    rows = connection.execute(query).all()
    more = len(rows) > batch
    rows = rows[:batch]
    ids = [row.id for row in rows]
    items: dict[int, list[str]] = {}
    source: dict[int, tuple[str, str]] = {}
    for line in connection.execute(
        select(lines).where(lines.c.order_id.in_(ids)).order_by(lines.c.order_id, lines.c.id)
    ):
        items.setdefault(line.order_id, []).append(f"{line.quantity} x {line.title}")
        if line.network and line.post_id and line.order_id not in source:
            source[line.order_id] = (line.network, line.post_id)
    found = [
        [
            str(row.id),
            _iso(row.created_at),
            row.status,
            row.email,
            row.ship_name,
            f"{Decimal(row.total_amount):.2f}",
            row.currency,
            row.payment_gateway,
            row.payment_reference,
            _iso(row.shipped_at),
            row.carrier or "",
            row.tracking_url or "",
            _iso(row.cancelled_at),
            "; ".join(items.get(row.id, [])),
            *source.get(row.id, ("", "")),
        ]
        for row in rows
    ]
    last = OrderKey(rows[-1].created_at, rows[-1].id) if more and rows else None
    return found, last


def export(
    read: Callable[[], AbstractContextManager[Connection]], wanted: OrderFilter, batch: int = 500
) -> Iterator[list[str]]:
    """Every row of the export, a batch per short read transaction (`read()` opens one), so
    a long download holds no transaction open and keeps memory to one batch."""
    after: OrderKey | None = None
    while True:
        with read() as connection:
            rows, after = export_rows(connection, wanted, after, batch)
        yield from rows
        if after is None:
            return


__all__ = [
    "CSV_HEADER",
    "ORDER_STATUSES",
    "KeysetPage",
    "OrderFilter",
    "OrderKey",
    "OrderRow",
    "export",
    "export_rows",
    "order_filter",
    "order_page",
    "status_counts",
]
