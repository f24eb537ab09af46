"""Stock holds (reservations), inside the caller's transaction, never below zero.

The guard is one conditional statement: `products.reserved` goes up only
`WHERE stock IS NULL OR reserved + :quantity <= stock`, and the row it returns (or not) is
the answer. On PostgreSQL a second writer waits for the first's row lock and then checks
the condition again against the committed row (READ COMMITTED re-evaluates an UPDATE's WHERE
on the newest version), so concurrent writers can never take more than there is; SQLite lets
one writer in at a time (BEGIN IMMEDIATE). A count of rows read earlier is never trusted.

Every operation first locks the products it touches, in product id order: holds of one
product then change only under its lock (an expired hold is swept, a hold released or
converted, exactly once), and two transactions over the same products never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, case, insert, select, update

from hashcart.domain.stock import Shortage
from hashcart.ports import LiveStockReader, OutOfStock, StockLevel
from hashcart.store import schema as t
from hashcart.store.statements import insert_ignoring
from hashcart.store.stock_counts import set_stock, set_stocks

r, p = t.reservations, t.products
# Where a unit of work puts the store's live stock reader for reserve() (store/unit_of_work).
LIVE_STOCK_KEY = "hashcart.live_stock"


def reserve(
    connection: Connection,
    holder: str,
    wanted: Mapping[str, int],
    *,
    reason: str,
    now: datetime,
    until: datetime,
) -> None:
    """Hold `wanted` (product id -> quantity) for `holder` until `until`, all or nothing:
    raises OutOfStock naming every line there is not enough of. A holder that holds a
    product already keeps that hold (a retried checkout does not hold twice)."""
    products = sorted(wanted)
    _read_live_counts(connection, products)
    _lock(connection, products)
    shortages = []
    for product_id in products:
        if not _hold(connection, holder, product_id, wanted[product_id], reason, now, until):
            level = stock_level(connection, product_id)
            left = 0 if level is None or level.free is None else level.free
            shortages.append(Shortage(product_id, wanted[product_id], left))
    if shortages:
        raise OutOfStock(shortages)


def open_for_holds(
    connection: Connection, product_ids: Iterable[str], now: datetime
) -> dict[str, int | None]:
    """Make ready to hold many units of these products in one go (a live sale's settle
    step: a burst's winners): their live counts read, their rows locked (id order), their
    expired holds swept, as `reserve` does for each hold. What each has free now (None: not
    counted); products the catalog lacks are left out. `add_holds` then writes the holds
    decided against these counts, under the same locks."""
    products = sorted(set(product_ids))
    if not products:
        return {}
    _read_live_counts(connection, products)
    _lock(connection, products)
    ended = connection.execute(
        update(r)
        .where(r.c.product_id.in_(products), r.c.status == "held", r.c.reserved_until <= now)
        .values(status="expired", live=None, released_at=now)
        .returning(r.c.product_id, r.c.quantity)
    ).all()
    _give_back(connection, ((row.product_id, row.quantity) for row in ended), sold=False)
    rows = connection.execute(
        select(p.c.product_id, p.c.stock, p.c.reserved).where(p.c.product_id.in_(products))
    ).all()
    return {
        row.product_id: None if row.stock is None else int(row.stock) - int(row.reserved)
        for row in rows
    }


def add_holds(
    connection: Connection,
    holds: Sequence[tuple[str, str, int, datetime]],
    *,
    reason: str,
    now: datetime,
) -> None:
    """Write holds (holder, product id, quantity, until) of products `open_for_holds` made
    ready in this transaction, each already counted against what it had free: the hold
    rows in one statement, each product's `reserved` in one. A holder holding the product
    already is an error here (the unique live hold), never a second hold."""
    if not holds:
        return
    connection.execute(
        insert(r),
        [
            _hold_row(holder, product_id, quantity, reason, now, until)
            for holder, product_id, quantity, until in holds
        ],
    )
    totals: dict[str, int] = {}
    for _, product_id, quantity, _ in holds:
        totals[product_id] = totals.get(product_id, 0) + quantity
    for product_id in sorted(totals):
        connection.execute(
            update(p)
            .where(p.c.product_id == product_id)
            .values(reserved=p.c.reserved + totals[product_id])
        )


def _read_live_counts(connection: Connection, product_ids: Sequence[str]) -> None:
    """Stock truth with the merchant's own store (issue 16): the products' counts become
    the store's live sellable counts (its reader, ports.LiveStockReader, is the unit of
    work's: a short cache in front of the store), so the guarded UPDATE below never holds
    more than the store reports. Holds above a lowered count are honoured, as always."""
    reader: LiveStockReader | None = connection.info.get(LIVE_STOCK_KEY)
    if reader is None:
        return
    counts = {pid: count for pid in product_ids if (count := reader(pid)) is not None}
    if counts:
        set_stocks(connection, counts)


def _hold(
    connection: Connection,
    holder: str,
    product_id: str,
    quantity: int,
    reason: str,
    now: datetime,
    until: datetime,
) -> bool:
    """One line: sweep the product's expired holds, then the hold row (ignored when the
    holder holds the product already), then the guarded counter. False: not enough."""
    _sweep(connection, product_id, now)
    hold = _hold_row(holder, product_id, quantity, reason, now, until)
    inserted = connection.execute(insert_ignoring(connection.dialect.name, "reservations"), hold)
    if inserted.first() is None:
        return True  # this holder's live hold (one per holder and product) stands
    raised = connection.execute(
        update(p)
        .where(
            p.c.product_id == product_id,
            (p.c.stock.is_(None)) | (p.c.reserved + quantity <= p.c.stock),
        )
        .values(reserved=p.c.reserved + quantity)
        .returning(p.c.product_id)
    ).first()
    return raised is not None


def _hold_row(
    holder: str, product_id: str, quantity: int, reason: str, now: datetime, until: datetime
) -> dict[str, object]:
    return {
        "product_id": product_id,
        "quantity": quantity,
        "holder": holder,
        "reason": reason,
        "status": "held",
        "live": True,
        "reserved_until": until,
        "created_at": now,
    }


def release(connection: Connection, holder: str, now: datetime) -> int:
    """End `holder`'s live holds (a checkout that will not become an order); units freed."""
    products = connection.scalars(
        select(r.c.product_id).where(r.c.holder == holder, r.c.status == "held")
    ).all()
    if not products:
        return 0
    _lock(connection, products)
    ended = connection.execute(
        update(r)
        .where(r.c.holder == holder, r.c.status == "held")
        .values(status="released", live=None, released_at=now)
        .returning(r.c.product_id, r.c.quantity)
    ).all()
    _give_back(connection, ((row.product_id, row.quantity) for row in ended), sold=False)
    return sum(row.quantity for row in ended)


def convert(
    connection: Connection,
    holder: str,
    new_holder: str,
    wanted: Mapping[str, int],
    *,
    reason: str,
    now: datetime,
) -> None:
    """Turn `holder`'s holds on `wanted` into a sale held by `new_holder` (the order): the
    units leave stock and the hold. A hold that is missing (its time ran out and it was
    swept) or that holds another quantity is taken again now, if there is stock; otherwise
    OutOfStock, and the caller's transaction rolls back."""
    products = sorted(wanted)
    _lock(connection, products)
    held = {
        row.product_id: row.quantity
        for row in connection.execute(
            select(r.c.product_id, r.c.quantity).where(
                r.c.holder == holder, r.c.status == "held", r.c.product_id.in_(products)
            )
        )
    }
    stale = [pid for pid in products if pid in held and held[pid] != wanted[pid]]
    if stale:
        ended = connection.execute(
            update(r)
            .where(r.c.holder == holder, r.c.status == "held", r.c.product_id.in_(stale))
            .values(status="released", live=None, released_at=now)
            .returning(r.c.product_id, r.c.quantity)
        ).all()
        _give_back(connection, ((row.product_id, row.quantity) for row in ended), sold=False)
    missing = {pid: wanted[pid] for pid in products if held.get(pid) != wanted[pid]}
    if missing:
        # Held only until the commit a few statements on: the order takes it at once.
        reserve(connection, holder, missing, reason=reason, now=now, until=now)
    sold = connection.execute(
        update(r)
        .where(r.c.holder == holder, r.c.status == "held", r.c.product_id.in_(products))
        .values(status="converted", live=None, holder=new_holder, released_at=now)
        .returning(r.c.product_id, r.c.quantity)
    ).all()
    _give_back(connection, ((row.product_id, row.quantity) for row in sold), sold=True)


def stock_level(connection: Connection, product_id: str) -> StockLevel | None:
    row = connection.execute(
        select(p.c.stock, p.c.reserved).where(p.c.product_id == product_id)
    ).first()
    return None if row is None else StockLevel(product_id, row.stock, row.reserved)


def holds_of(connection: Connection, holder: str) -> dict[str, int]:
    """`holder`'s live holds: product id -> quantity."""
    rows = connection.execute(
        select(r.c.product_id, r.c.quantity).where(r.c.holder == holder, r.c.status == "held")
    )
    return {row.product_id: row.quantity for row in rows}


def restock(connection: Connection, holder: str, now: datetime) -> int:
    """Give back to stock what `holder` (an order) bought: its converted holds become
    `returned` and their units go back on the counted products, once (a second call finds
    nothing converted). Products not counted (stock NULL) stay so."""
    products = connection.scalars(
        select(r.c.product_id).where(r.c.holder == holder, r.c.status == "converted")
    ).all()
    if not products:
        return 0
    _lock(connection, products)
    returned = connection.execute(
        update(r)
        .where(r.c.holder == holder, r.c.status == "converted")
        .values(status="returned", released_at=now)
        .returning(r.c.product_id, r.c.quantity)
    ).all()
    totals: dict[str, int] = {}
    for row in returned:
        totals[row.product_id] = totals.get(row.product_id, 0) + row.quantity
    for product_id in sorted(totals):
        connection.execute(
            update(p)
            .where(p.c.product_id == product_id, p.c.stock.is_not(None))
            .values(stock=p.c.stock + totals[product_id])
        )
    return sum(totals.values())


def _lock(connection: Connection, product_ids: Iterable[str]) -> None:
    """Lock the products' rows in id order (PostgreSQL; SQLite's writer lock covers it)."""
    ids = sorted(set(product_ids))
    if ids and connection.dialect.name == "postgresql":
        connection.execute(
            select(p.c.product_id)
            .where(p.c.product_id.in_(ids))
            .order_by(p.c.product_id)
            .with_for_update()
        ).all()


def _sweep(connection: Connection, product_id: str, now: datetime) -> int:
    """Expire the product's holds whose time ran out, giving their units back; how many."""
    ended = connection.execute(
        update(r)
        .where(r.c.product_id == product_id, r.c.status == "held", r.c.reserved_until <= now)
        .values(status="expired", live=None, released_at=now)
        .returning(r.c.product_id, r.c.quantity)
    ).all()
    _give_back(connection, ((row.product_id, row.quantity) for row in ended), sold=False)
    return sum(row.quantity for row in ended)


def _give_back(connection: Connection, ended: Iterable[tuple[str, int]], *, sold: bool) -> None:
    """Take ended holds out of `reserved`; sold units leave `stock` too (never below 0:
    a merchant may have lowered the count under a hold, and a hold is honoured)."""
    totals: dict[str, int] = {}
    for product_id, quantity in ended:
        totals[product_id] = totals.get(product_id, 0) + quantity
    for product_id in sorted(totals):
        quantity = totals[product_id]
        values: dict[str, object] = {"reserved": p.c.reserved - quantity}
        if sold:
            values["stock"] = case(
                (p.c.stock.is_(None), None),
                (p.c.stock > quantity, p.c.stock - quantity),
                else_=0,
            )
        connection.execute(update(p).where(p.c.product_id == product_id).values(**values))


class StoredStock:
    """Stock and holds of one open transaction (ports.StockHolds)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def reserve(
        self,
        holder: str,
        wanted: Mapping[str, int],
        *,
        reason: str,
        now: datetime,
        until: datetime,
    ) -> None:
        reserve(self.connection, holder, wanted, reason=reason, now=now, until=until)

    def release(self, holder: str, now: datetime) -> int:
        return release(self.connection, holder, now)

    def restock(self, holder: str, now: datetime) -> int:
        return restock(self.connection, holder, now)

    def convert(
        self,
        holder: str,
        new_holder: str,
        wanted: Mapping[str, int],
        *,
        reason: str,
        now: datetime,
    ) -> None:
        convert(self.connection, holder, new_holder, wanted, reason=reason, now=now)

    def level(self, product_id: str) -> StockLevel | None:
        return stock_level(self.connection, product_id)

    def sweep(self, product_ids: Sequence[str], now: datetime) -> int:
        ids = sorted(set(product_ids))
        _lock(self.connection, ids)
        return sum(_sweep(self.connection, product_id, now) for product_id in ids)


__all__ = [
    "OutOfStock",
    "StockLevel",
    "StoredStock",
    "convert",
    "holds_of",
    "release",
    "reserve",
    "restock",
    "set_stock",
    "set_stocks",
    "stock_level",
]
