"""Live sales (ports.SaleRecords), in one open transaction.

Exactly-once is the tables': one claim per (network, post id), one invoice per (sale,
customer), one sale per post. The settle step's turn-taking is `lock_item`: a row lock on the
sale item (PostgreSQL `SELECT ... FOR NO KEY UPDATE`) before its claims are read, so two
settlers never hand out the same unit; on SQLite the transaction holds the writer lock
already (BEGIN IMMEDIATE). `try_lock_item` is the same lock with SKIP LOCKED: the settle
passes that several processes run on a beat (workers, serve) leave an item another is
settling to it. The settle step takes all its items at once (`lock_items`, in id order),
and writes its claims, holds and board lines in a few statements a step (PostgreSQL takes
the many ids and rows as arrays: `unnest`, `= ANY`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Connection,
    Integer,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect

from hashcart.domain.sales import SaleInputError
from hashcart.domain.stock import order_holder
from hashcart.ports import (
    ListItem,
    NewClaim,
    NewSaleItem,
    Origin,
    OutOfStock,
    Sale,
    SaleExists,
    SaleInvoice,
    SaleItem,
    StoredClaim,
)
from hashcart.store import schema as t
from hashcart.store.driver_rows import select_rows
from hashcart.store.statements import dialect_insert, json_records, records_of
from hashcart.store.stock import add_holds, convert, open_for_holds, release, reserve

__all__ = ["HOLD_REASON", "StoredSales", "board_event_kind", "sale_holder"]

s, sp, si, sc, inv = t.sales, t.sale_posts, t.sale_items, t.sale_claims, t.sale_invoices
# The reservations' reason for a won claim's hold.
HOLD_REASON = "sale"
# Built once: a bus worker reads it in every batch's transaction (live_worker.same_sales),
# and a statement built afresh has its SQLAlchemy cache key derived again at each call. On
# PostgreSQL it runs on the driver's cursor (store/driver_rows).
_POST_SALES = select(sp.c.network, sp.c.post_id, sp.c.sale_id)
# Rows a statement when claims are recorded or updated together (SQLite allows 32,766
# parameters a statement: 500 claims of 13 columns stay well under).
_INSERT_CHUNK = 500


def board_event_kind(values: dict[str, Any]) -> str | None:
    """What a claim's update means on the claim board, read from the status it sets: a claim
    held as it settles (its `settled_at` set with it) was won, one held afterwards (from the
    waitlist) promoted; None: the board's stream does not show it (a reminder, a link)."""
    status = values.get("status")
    if status == "held":
        return "won" if "settled_at" in values else "promoted"
    return {
        "waitlisted": "waitlisted",
        "released": "released",
        "refused": "refused",
        "done": "passed",
    }.get(status or "")


def sale_holder(claim_id: int) -> str:
    """Who holds a won claim's units in the stock reservations."""
    return f"sale:{claim_id}"


class StoredSales:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._dialect = connection.dialect.name
        # `open_holds`: the products made ready and what each has free (None: not counted);
        # the holds decided since and not written yet: (claim id, product, quantity, until).
        self._free: dict[str, int | None] = {}
        self._pending: list[tuple[int, str, int, datetime]] = []
        self._holds_at: datetime | None = None

    # --- the merchant's sales ---

    def open(
        self,
        name: str,
        hold_hours: float,
        posts: Sequence[tuple[str, str]],
        items: Sequence[NewSaleItem],
        at: datetime,
    ) -> Sale:
        c = self.connection
        if c.execute(select(s.c.id).where(s.c.name == name)).first() is not None:
            raise SaleExists(f"a sale named {name!r} exists already")
        for network, post_id in posts:
            taken = c.execute(
                select(s.c.name)
                .join(sp, sp.c.sale_id == s.c.id)
                .where(sp.c.network == network, sp.c.post_id == post_id)
            ).first()
            if taken is not None:
                raise SaleExists(f"post {network}:{post_id} runs the sale {taken.name!r} already")
        stocks = [self._stock_of(item) for item in items]
        sale_id = c.execute(
            insert(s)
            .values(name=name, status="open", hold_hours=Decimal(str(hold_hours)), created_at=at)
            .returning(s.c.id)
        ).scalar_one()
        c.execute(insert(sp), [{"sale_id": sale_id, "network": n, "post_id": p} for n, p in posts])
        c.execute(
            insert(si),
            [
                {
                    "sale_id": sale_id,
                    "item_number": item.number,
                    "product_id": item.product_id,
                    "stock": stock,
                    "per_shopper_limit": item.limit,
                }
                for item, stock in zip(items, stocks, strict=True)
            ],
        )
        found = self.of_id(sale_id)
        assert found is not None
        return found

    def _stock_of(self, item: NewSaleItem) -> int:
        p = t.products
        row = self.connection.execute(
            select(p.c.stock, p.c.reserved).where(p.c.product_id == item.product_id)
        ).first()
        if row is None:
            raise SaleInputError(
                f"item {item.number}: the catalog has no product {item.product_id!r}"
            )
        if item.stock is not None:
            return item.stock
        if row.stock is None:
            raise SaleInputError(
                f"item {item.number}: {item.product_id!r} has no stock count; "
                f"give the sale's units ({item.number}={item.product_id}:5)"
            )
        return max(0, int(row.stock) - int(row.reserved))

    def close(self, name: str, at: datetime) -> Sale | None:
        self.connection.execute(
            update(s)
            .where(s.c.name == name, s.c.status == "open")
            .values(status="closed", closed_at=at)
        )
        return self.named(name)

    def named(self, name: str) -> Sale | None:
        row = self.connection.execute(select(s.c.id).where(s.c.name == name)).first()
        return None if row is None else self.of_id(row.id)

    def of_id(self, sale_id: int) -> Sale | None:
        row = self.connection.execute(select(s).where(s.c.id == sale_id)).first()
        if row is None:
            return None
        posts = self.connection.execute(
            select(sp.c.network, sp.c.post_id).where(sp.c.sale_id == sale_id).order_by(sp.c.id)
        ).all()
        items = self.connection.execute(
            select(si).where(si.c.sale_id == sale_id).order_by(si.c.id)
        ).all()
        return Sale(
            id=row.id,
            name=row.name,
            status=row.status,
            hold_hours=float(row.hold_hours),
            created_at=row.created_at,
            closed_at=row.closed_at,
            posts=tuple((p.network, p.post_id) for p in posts),
            items=tuple(_item(item) for item in items),
        )

    def every(self) -> list[Sale]:
        ids = self.connection.scalars(select(s.c.id).order_by(s.c.id)).all()
        return [sale for sale_id in ids if (sale := self.of_id(sale_id)) is not None]

    def post_sales(self) -> dict[tuple[str, str], int]:
        rows = select_rows(self.connection, _POST_SALES)
        return {(network, post_id): sale_id for network, post_id, sale_id in rows}

    def open_posts(self) -> tuple[tuple[str, str], ...]:
        rows = self.connection.execute(
            select(sp.c.network, sp.c.post_id)
            .join(s, s.c.id == sp.c.sale_id)
            .where(s.c.status == "open")
            .order_by(sp.c.id)
        ).all()
        return tuple((row.network, row.post_id) for row in rows)

    # --- claims ---

    def add_claims(self, claims: Sequence[NewClaim], at: datetime) -> int:
        if not claims:
            return 0
        sale_ids = sorted({claim.sale_id for claim in claims})
        items = {
            (row.sale_id, row.item_number): row.id
            for row in self.connection.execute(
                select(si.c.id, si.c.sale_id, si.c.item_number).where(si.c.sale_id.in_(sale_ids))
            )
        }
        rows = [
            {
                "sale_id": claim.sale_id,
                "item_id": items.get((claim.sale_id, claim.item_number)),
                "network": claim.network,
                "post_id": claim.post_id,
                "account_id": claim.account_id,
                "handle": claim.handle,
                "action": claim.action,
                "item_number": claim.item_number,
                "words": " ".join(claim.words) or None,
                "quantity": claim.quantity,
                "posted_at": claim.posted_at,
                "arrived_at": at,
                "status": "provisional",
            }
            for claim in claims
        ]
        if self._dialect == "postgresql":
            return self._add_claims_unnested(rows)
        added = 0
        # Many rows a statement (RETURNING names the ones that were new): one round trip per
        # chunk instead of one per claim, which a burst of thousands a second needs.
        for start in range(0, len(rows), _INSERT_CHUNK):
            statement = (
                dialect_insert(self._dialect, sc)
                .values(rows[start : start + _INSERT_CHUNK])
                .on_conflict_do_nothing()
                .returning(sc.c.id)
            )
            added += len(self.connection.execute(statement).all())
        return added

    def _add_claims_unnested(self, rows: list[dict[str, Any]]) -> int:
        """PostgreSQL: the whole batch in one statement, its rows one JSON parameter
        (statements.json_records). A short statement text, compiled once and prepared by
        the driver: the many-row VALUES form cost about 0.7 ms a claim in SQLAlchemy's
        compiler and psycopg's placeholder parser (`hashcart bench --shape live-sale`'s
        profile), more than the database took to insert them; one array a column cost
        about 20 µs a claim in psycopg's array dumper."""
        dialect = self.connection.dialect
        for row in rows:
            row["posted_at"] = _utc(row["posted_at"], dialect)
            row["arrived_at"] = _utc(row["arrived_at"], dialect)
        added = self.connection.execute(_INSERT_CLAIMS, {"rows": records_of(rows)}).all()
        return len(added)

    def due(self, cutoff: datetime) -> list[StoredClaim]:
        rows = self.connection.execute(
            select(sc).where(_status_is("provisional"), sc.c.posted_at <= cutoff)
        ).all()
        return [_claim(row) for row in rows]

    def due_items(self, cutoff: datetime) -> set[int]:
        rows = self.connection.execute(
            select(sc.c.item_id)
            .where(
                _status_is("provisional"),
                sc.c.posted_at <= cutoff,
                sc.c.item_id.is_not(None),
            )
            .distinct()
        )
        return {int(row.item_id) for row in rows}

    def first_provisional_at(self) -> datetime | None:
        # One step down ix_sale_claims_status (status, posted_at), partial on PostgreSQL
        # with the status a literal (`_status_is`).
        found = self.connection.execute(
            select(func.min(sc.c.posted_at)).where(_status_is("provisional"))
        ).scalar()
        # min() takes the column's type: read back as an aware UTC datetime.
        return cast(datetime | None, found)

    def due_without_item(self, cutoff: datetime) -> list[StoredClaim]:
        rows = self.connection.execute(
            select(sc).where(
                _status_is("provisional"), sc.c.posted_at <= cutoff, sc.c.item_id.is_(None)
            )
        ).all()
        return [_claim(row) for row in rows]

    def claims_to_settle(self, item_id: int, cutoff: datetime) -> list[StoredClaim]:
        rows = self.connection.execute(
            select(sc).where(
                sc.c.item_id == item_id,
                or_(
                    sc.c.status.in_(("held", "paid")),
                    and_(_status_is("provisional"), sc.c.posted_at <= cutoff),
                ),
            )
        ).all()
        return [_claim(row) for row in rows]

    def claims_to_settle_of(
        self, item_ids: Collection[int], cutoff: datetime
    ) -> dict[int, list[StoredClaim]]:
        found: dict[int, list[StoredClaim]] = {item_id: [] for item_id in item_ids}
        if not found:
            return found
        rows = self.connection.execute(
            select(sc).where(
                _item_in(self._dialect, found),
                or_(
                    sc.c.status.in_(("held", "paid")),
                    and_(_status_is("provisional"), sc.c.posted_at <= cutoff),
                ),
            )
        ).all()
        for row in rows:
            found[row.item_id].append(_claim(row))
        return found

    def claims_to_settle_summing(
        self, item_ids: Collection[int], cutoff: datetime, now: datetime, summed: Collection[int]
    ) -> tuple[dict[int, list[StoredClaim]], dict[int, int]]:
        found: dict[int, list[StoredClaim]] = {item_id: [] for item_id in item_ids}
        units = dict.fromkeys(summed, 0)
        if not found:
            return found, units
        read = [or_(sc.c.status == "held", sc.c.status == "paid")]
        if summed:
            # A burst's step reads its due claims; its items' thousands of quiet holds,
            # read again every step, were most of the rows it read.
            read.append(or_(~_item_in(self._dialect, summed), ~_quiet(now)))
            counted = self.connection.execute(
                select(sc.c.item_id, func.sum(sc.c.quantity))
                .where(_item_in(self._dialect, summed), _quiet(now))
                .group_by(sc.c.item_id)
            )
            units.update({int(item_id): int(total) for item_id, total in counted})
        rows = self.connection.execute(
            select(sc).where(
                _item_in(self._dialect, found),
                or_(
                    and_(*read),
                    and_(_status_is("provisional"), sc.c.posted_at <= cutoff),
                ),
            )
        ).all()
        for row in rows:
            found[row.item_id].append(_claim(row))
        return found, units

    def quiet_holds_of(self, item_ids: Collection[int], now: datetime) -> list[StoredClaim]:
        if not item_ids:
            return []
        rows = self.connection.execute(
            select(sc).where(_item_in(self._dialect, item_ids), _quiet(now))
        ).all()
        return [_claim(row) for row in rows]

    def waitlist_places(
        self, item_ids: Collection[int], moments: Sequence[tuple[int, datetime]]
    ) -> tuple[dict[int, int], list[tuple[int, list[tuple[str, str]]]]]:
        items = sorted({*item_ids, *(item_id for item_id, _ in moments)})
        totals = dict.fromkeys(items, 0)
        if not items:
            return totals, []
        # Kept by the database's triggers (store/waitlist_counts): counting the waitlists
        # read every waitlisted claim of the step's items, every step.
        counted = self.connection.execute(
            select(si.c.id, si.c.waitlisted).where(_in(self._dialect, si.c.id, items))
        ).all()
        totals.update({int(item_id): int(count) for item_id, count in counted})
        if self._dialect == "postgresql":
            # A moment after an item's last waitlisted claim has none made after it or at
            # it: in a burst nearly every due claim was made after the claims settled before
            # it, and only the late ones are counted, on the index (item, status, time), in
            # one statement, instead of reading the waitlist back here. Each item's last is
            # one step down that index (the items' whole waitlists, grouped, were not).
            ends = sorted({item_id for item_id, _ in moments if totals.get(item_id)})
            last = {
                int(item_id): latest
                for item_id, latest in self.connection.execute(_WAITLIST_LAST, {"items": ends})
                if latest is not None
            }
            asked = [
                (index, item_id, at)
                for index, (item_id, at) in enumerate(moments)
                if item_id in last and at <= last[item_id]
            ]
            placed: list[tuple[int, list[tuple[str, str]]]] = [(0, []) for _ in moments]
            if asked:
                rows = self.connection.execute(
                    _WAITLIST_AFTER,
                    {
                        "rows": records_of(
                            {"item": item_id, "at": _utc(at, self.connection.dialect)}
                            for _, item_id, at in asked
                        )
                    },
                ).all()
                for (index, _, _), (later, ties) in zip(asked, rows, strict=True):
                    placed[index] = (int(later), [_split_tie(tie) for tie in ties])
            return totals, placed
        found: list[tuple[int, list[tuple[str, str]]]] = []
        for item_id, at in moments:
            mine = and_(sc.c.item_id == item_id, sc.c.status == "waitlisted")
            later = self.connection.execute(
                select(func.count()).select_from(sc).where(mine, sc.c.posted_at > at)
            ).scalar_one()
            ties = self.connection.execute(
                select(sc.c.network, sc.c.post_id).where(mine, sc.c.posted_at == at)
            ).all()
            found.append((int(later), [(tie.network, tie.post_id) for tie in ties]))
        return totals, found

    def waitlist(
        self, item_id: int, since: datetime | None = None, before: datetime | None = None
    ) -> list[StoredClaim]:
        where = [sc.c.item_id == item_id, sc.c.status == "waitlisted"]
        if since is not None:
            where.append(sc.c.posted_at >= since)
        if before is not None:
            where.append(sc.c.posted_at < before)
        rows = self.connection.execute(select(sc).where(*where)).all()
        return [_claim(row) for row in rows]

    def holds_to_review(self, now: datetime) -> list[StoredClaim]:
        rows = self.connection.execute(
            select(sc).where(
                _status_is("held"),
                or_(sc.c.hold_until <= now, sc.c.customer_id.is_(None), sc.c.remind_at <= now),
            )
        ).all()
        return [_claim(row) for row in rows]

    def lock_item(self, item_id: int) -> SaleItem:
        # FOR NO KEY UPDATE, not FOR UPDATE: settlers still take turns, but a claim recorded
        # meanwhile (its foreign key takes FOR KEY SHARE on the item) neither waits for a
        # settler nor makes one wait. With FOR UPDATE, an ingest batch that had recorded a
        # claim on item 2 and then one on item 1, while serve's settle step held item 1 and
        # wanted item 2, deadlocked (found by `hashcart bench --shape live-sale`).
        statement = select(si).where(si.c.id == item_id).with_for_update(key_share=True)
        return _item(self.connection.execute(statement).one())

    def lock_items(self, item_ids: Sequence[int], *, skip_locked: bool = False) -> list[SaleItem]:
        wanted = sorted(item_ids)
        if not wanted:
            return []
        # In id order (the rows are locked as the sort hands them out), as `lock_item` one
        # by one would: two settlers never deadlock.
        statement = (
            select(si)
            .where(_in(self._dialect, si.c.id, wanted))
            .order_by(si.c.id)
            .with_for_update(key_share=True, skip_locked=skip_locked)
        )
        if not skip_locked:
            return [_item(row) for row in self.connection.execute(statement)]
        while True:
            # Only the items before the first busy one: a settler holding a later item while
            # another holds an earlier one could deadlock on their products' stock rows. The
            # savepoint lets go of what was locked past a busy item.
            with self.connection.begin_nested() as savepoint:
                items = [_item(row) for row in self.connection.execute(statement)]
                prefix = 0
                while prefix < len(items) and items[prefix].id == wanted[prefix]:
                    prefix += 1
                if prefix == len(items):
                    return items
                savepoint.rollback()
            if prefix == 0:
                return []
            wanted = wanted[:prefix]
            statement = statement.where(si.c.id <= wanted[-1])

    def try_lock_item(self, item_id: int) -> SaleItem | None:
        row = self.connection.execute(
            select(si).where(si.c.id == item_id).with_for_update(skip_locked=True, key_share=True)
        ).first()
        return None if row is None else _item(row)

    def take_claim(self, claim_id: int, *, skip_locked: bool = False) -> bool:
        # FOR UPDATE re-reads the row once a holder commits: a claim it settled meanwhile
        # is no longer provisional, and is not taken again.
        found = self.connection.execute(
            select(sc.c.id)
            .where(sc.c.id == claim_id, sc.c.status == "provisional")
            .with_for_update(skip_locked=skip_locked)
        ).first()
        return found is not None

    def claims_of_item(self, item_id: int, statuses: Collection[str]) -> list[StoredClaim]:
        rows = self.connection.execute(
            select(sc).where(sc.c.item_id == item_id, sc.c.status.in_(list(statuses)))
        ).all()
        return [_claim(row) for row in rows]

    def update_claim(self, claim_id: int, **values: Any) -> None:
        self.connection.execute(update(sc).where(sc.c.id == claim_id).values(**values))
        kind = board_event_kind(values)
        if kind is not None:
            self._log([claim_id], kind)

    def _log(self, claim_ids: Sequence[int], kind: str) -> None:
        """The claim board's lines for this change of these claims, by platform time (in the
        same transaction)."""
        self.connection.execute(
            insert(t.sale_claim_events).from_select(
                ["sale_id", "claim_id", "kind"],
                select(sc.c.sale_id, sc.c.id, literal(kind))
                .where(_in(self._dialect, sc.c.id, claim_ids))
                .order_by(sc.c.posted_at, sc.c.id),
            )
        )

    def update_claims(self, claim_ids: Sequence[int], **values: Any) -> None:
        kind = board_event_kind(values)
        size = self._chunk(claim_ids)
        for start in range(0, len(claim_ids), size):
            chunk = list(claim_ids[start : start + size])
            self.connection.execute(
                update(sc).where(_in(self._dialect, sc.c.id, chunk)).values(**values)
            )
            if kind is not None:
                self._log(chunk, kind)

    def update_each_claim(self, updates: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        # One statement for every claim given the same columns (the driver sends its rows
        # together), then the board's lines of each kind together.
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        kinds: dict[str, list[int]] = {}
        for claim_id, values in updates:
            shapes.setdefault(tuple(sorted(values)), []).append({**values, "_claim": claim_id})
            kind = board_event_kind(dict(values))
            if kind is not None:
                kinds.setdefault(kind, []).append(claim_id)
        for columns, rows in shapes.items():
            statement = (
                update(sc)
                .where(sc.c.id == bindparam("_claim"))
                .values({name: bindparam(name) for name in columns})
            )
            self.connection.execute(statement, rows)
        for kind, ids in kinds.items():
            for start in range(0, len(ids), self._chunk(ids)):
                self._log(ids[start : start + self._chunk(ids)], kind)

    def _chunk(self, ids: Sequence[int]) -> int:
        """How many ids a statement takes: all on PostgreSQL (one array), chunks on SQLite."""
        return max(1, len(ids)) if self._dialect == "postgresql" else _INSERT_CHUNK

    def provisional_among(self, claim_ids: Collection[int]) -> set[int]:
        found: set[int] = set()
        ids = list(claim_ids)
        for start in range(0, len(ids), self._chunk(ids)):
            chunk = ids[start : start + self._chunk(ids)]
            found.update(
                self.connection.scalars(
                    select(sc.c.id).where(
                        _in(self._dialect, sc.c.id, chunk), sc.c.status == "provisional"
                    )
                )
            )
        return found

    def waitlist_claims(self, products: Mapping[int, str], at: datetime) -> None:
        if not products:
            return
        if self._dialect != "postgresql":
            by_product: dict[str, list[int]] = {}
            for claim_id, product in products.items():
                by_product.setdefault(product, []).append(claim_id)
            for product, ids in by_product.items():
                self.update_claims(ids, status="waitlisted", product_id=product, settled_at=at)
            return
        ids = list(products)
        self.connection.execute(
            _WAITLIST_CLAIMS,
            {
                "rows": records_of({"id": i, "product": p} for i, p in products.items()),
                "at": _utc(at, self.connection.dialect),
            },
        )
        self._log(ids, "waitlisted")

    def invoice_for(self, sale_id: int, customer_id: int, at: datetime) -> int:
        # Made first (one statement for a shopper's first win, the common case in a burst),
        # read when it was there already.
        statement = dialect_insert(self._dialect, inv).on_conflict_do_nothing().returning(inv.c.id)
        made = self.connection.execute(
            statement,
            {"sale_id": sale_id, "customer_id": customer_id, "status": "open", "created_at": at},
        ).scalar()
        if made is not None:
            return int(made)
        where = and_(inv.c.sale_id == sale_id, inv.c.customer_id == customer_id)
        found = self.connection.execute(select(inv.c.id, inv.c.status).where(where)).one()
        if found.status == "paid":
            # One invoice per shopper per sale: an item won after it was paid opens it again
            # for what is still owed (its paid items stay paid, their order kept); left paid,
            # the new item could never be paid and its hold would run out.
            self.connection.execute(
                update(inv).where(inv.c.id == found.id).values(status="open", paid_at=None)
            )
        return int(found.id)

    def invoices_for(
        self, sale_id: int, customer_ids: Sequence[int], at: datetime
    ) -> dict[int, int]:
        found: dict[int, int] = {}
        for start in range(0, len(customer_ids), _INSERT_CHUNK):
            chunk = customer_ids[start : start + _INSERT_CHUNK]
            # Made first (a burst's winners are mostly each shopper's first), then the rest
            # read, a paid one opened again (`invoice_for`).
            made = self.connection.execute(
                dialect_insert(self._dialect, inv)
                .values(
                    [
                        {"sale_id": sale_id, "customer_id": c, "status": "open", "created_at": at}
                        for c in chunk
                    ]
                )
                .on_conflict_do_nothing()
                .returning(inv.c.id, inv.c.customer_id)
            ).all()
            found.update({row.customer_id: int(row.id) for row in made})
            rest = [customer for customer in chunk if customer not in found]
            if not rest:
                continue
            rows = self.connection.execute(
                select(inv.c.id, inv.c.customer_id, inv.c.status).where(
                    inv.c.sale_id == sale_id, inv.c.customer_id.in_(rest)
                )
            ).all()
            found.update({row.customer_id: int(row.id) for row in rows})
            paid = [row.id for row in rows if row.status == "paid"]
            if paid:
                self.connection.execute(
                    update(inv).where(inv.c.id.in_(paid)).values(status="open", paid_at=None)
                )
        return found

    # --- stock holds (store/stock's reservations) ---

    def open_holds(self, product_ids: Collection[str], now: datetime) -> None:
        self._free.update(open_for_holds(self.connection, product_ids, now))

    def write_holds(self) -> None:
        holds, self._pending = self._pending, []
        self._free = {}  # what comes next is held one by one again
        if holds and self._holds_at is not None:
            add_holds(
                self.connection,
                [
                    (sale_holder(claim), product, quantity, until)
                    for claim, product, quantity, until in holds
                ],
                reason=HOLD_REASON,
                now=self._holds_at,
            )

    def hold_stock(
        self, claim_id: int, product_id: str, quantity: int, now: datetime, until: datetime
    ) -> bool:
        if product_id in self._free:
            # Made ready (`open_holds`): decided on the count read under the product's lock,
            # written with the others (`write_holds`).
            free = self._free[product_id]
            if free is not None:
                if quantity > free:
                    return False
                self._free[product_id] = free - quantity
            self._holds_at = now
            self._pending.append((claim_id, product_id, quantity, until))
            return True
        # A savepoint: a hold that cannot be made leaves no hold row behind.
        try:
            with self.connection.begin_nested():
                reserve(
                    self.connection,
                    sale_holder(claim_id),
                    {product_id: quantity},
                    reason=HOLD_REASON,
                    now=now,
                    until=until,
                )
        except OutOfStock:
            return False
        return True

    def release_stock(self, claim_id: int, now: datetime) -> int:
        # Units freed change what the products have free: the holds decided so far are
        # written, and the next ones are made one by one again.
        self.write_holds()
        return release(self.connection, sale_holder(claim_id), now)

    # --- invoices ---

    def invoice(self, invoice_id: int, at: datetime, *, lock: bool = False) -> SaleInvoice | None:
        c = self.connection
        if lock:
            item_ids = c.scalars(
                select(sc.c.item_id)
                .where(sc.c.invoice_id == invoice_id, sc.c.item_id.is_not(None))
                .distinct()
            ).all()
            for item_id in sorted(item_ids):  # id order, as the settle step takes them
                self.lock_item(item_id)
        row = c.execute(
            select(inv, s.c.name).join(s, s.c.id == inv.c.sale_id).where(inv.c.id == invoice_id)
        ).first()
        if row is None:
            return None
        sale_posts = {
            post.network: post.post_id
            for post in reversed(
                c.execute(
                    select(sp.c.network, sp.c.post_id)
                    .where(sp.c.sale_id == row.sale_id)
                    .order_by(sp.c.id)
                ).all()
            )
        }
        p = t.products
        claims = c.execute(
            select(sc, p.c.title, p.c.link, p.c.price_amount, p.c.currency)
            .join(p, p.c.product_id == sc.c.product_id, isouter=True)
            .where(*_payable(invoice_id, at))
            .order_by(sc.c.posted_at, sc.c.id)
        ).all()
        lines = tuple(
            ListItem(
                id=claim.id,
                product_id=claim.product_id,
                title=claim.title or claim.product_id,
                link=claim.link or "",
                price=None if claim.price_amount is None else Decimal(claim.price_amount),
                currency=claim.currency,
                # The units are this shopper's already (held): the catalog's count of what
                # is left for others does not stop them.
                availability="in_stock",
                quantity=claim.quantity,
                origin=Origin(
                    "reply",
                    network=claim.network,
                    post_id=sale_posts.get(claim.network),
                    trigger_post_id=claim.post_id,
                ),
                added_at=claim.settled_at or claim.posted_at,
            )
            for claim in claims
        )
        return SaleInvoice(
            id=row.id,
            sale_id=row.sale_id,
            sale_name=row.name,
            customer_id=row.customer_id,
            status=row.status,
            order_id=row.order_id,
            lines=lines,
        )

    def mark_invoice_paid(
        self,
        invoice_id: int,
        at: datetime,
        order_id: int | None,
        claims: Collection[int] | None = None,
    ) -> bool:
        self.write_holds()
        paid = self.connection.execute(
            update(inv)
            .where(inv.c.id == invoice_id, inv.c.status == "open")
            .values(status="paid", paid_at=at, order_id=order_id)
            .returning(inv.c.id)
        ).first()
        if paid is None:
            return False
        which = _payable(invoice_id, at)
        if claims is not None:
            which.append(sc.c.id.in_(list(claims)))
        won = self.connection.execute(
            update(sc)
            .where(*which)
            .values(status="paid", remind_at=None)
            .returning(sc.c.id, sc.c.product_id, sc.c.quantity, sc.c.network, sc.c.post_id)
        ).all()
        # The claims' holds become sold units, held by the order (or the invoice).
        sold_to = order_holder(order_id) if order_id is not None else f"invoice:{invoice_id}"
        for claim in won:
            self._log([claim.id], "paid")
            convert(
                self.connection,
                sale_holder(claim.id),
                sold_to,
                {claim.product_id: claim.quantity},
                reason=HOLD_REASON,
                now=at,
            )
        self._withdraw_reminders([(claim.network, claim.post_id) for claim in won])
        return True

    def _withdraw_reminders(self, claims: list[tuple[str, str]]) -> None:
        """Drop the `invoice_due` reminders of these paid claims that no sender has taken yet
        (queued; one being sent goes), so a shopper who just paid is not asked to pay. Their
        keys are the reply's and the email's (services/notify: network:post:reason)."""
        keys = [f"{network}:{post_id}:invoice_due" for network, post_id in claims]
        if not keys:
            return
        ob = t.outbox
        for start in range(0, len(keys), _INSERT_CHUNK):
            chunk = keys[start : start + _INSERT_CHUNK]
            self.connection.execute(
                delete(ob).where(
                    ob.c.status == "queued",
                    ob.c.reason == "invoice_due",
                    ob.c.dedupe_key.in_([*chunk, *(f"email:{key}" for key in chunk)]),
                )
            )


def _utc(moment: datetime, dialect: Dialect) -> datetime | None:
    # What the columns' type does on the way in (an array parameter bypasses it).
    return t.UTCDateTime().process_bind_param(moment, dialect)


# The claim's columns as add_claims writes them, with PostgreSQL's type of each.
_CLAIM_COLUMNS = {
    "sale_id": "integer",
    "item_id": "integer",
    "network": "varchar",
    "post_id": "varchar",
    "account_id": "varchar",
    "handle": "varchar",
    "action": "varchar",
    "item_number": "varchar",
    "words": "text",
    "quantity": "integer",
    "posted_at": "timestamptz",
    "arrived_at": "timestamptz",
    "status": "varchar",
}
_INSERT_CLAIMS = text(
    f"INSERT INTO {sc.name} ({', '.join(_CLAIM_COLUMNS)}) "
    f"SELECT {', '.join(f'r.{name}' for name in _CLAIM_COLUMNS)} "
    f"FROM {json_records(_CLAIM_COLUMNS)} ON CONFLICT DO NOTHING RETURNING id"
)


# Per (item, time): how many of the item's waitlisted claims were made after it, and
# "network:post id" of those made at it (a network's name has no colon).
_WAITLIST_AFTER = text(
    "SELECT (SELECT count(*) FROM sale_claims c WHERE c.item_id = d.item "
    "AND c.status = 'waitlisted' AND c.posted_at > d.at), "
    "ARRAY(SELECT c.network || ':' || c.post_id FROM sale_claims c WHERE c.item_id = d.item "
    "AND c.status = 'waitlisted' AND c.posted_at = d.at) "
    "FROM ROWS FROM (json_to_recordset(CAST(:rows AS json)) AS (item integer, at timestamptz)) "
    "WITH ORDINALITY AS d(item, at, n) ORDER BY d.n"
)


# Each item's latest waitlisted claim's time (a subquery an item: PostgreSQL reads it as the
# last entry of the item's waitlisted ones on ix_sale_claims_item).
_WAITLIST_LAST = text(
    "SELECT d.item, (SELECT max(c.posted_at) FROM sale_claims c WHERE c.item_id = d.item "
    "AND c.status = 'waitlisted') FROM unnest(:items) AS d(item)"
).bindparams(bindparam("items", type_=ARRAY(Integer)))


def _split_tie(tie: str) -> tuple[str, str]:
    network, _, post_id = tie.partition(":")
    return network, post_id


_WAITLIST_CLAIMS = text(
    f"UPDATE {sc.name} SET status = 'waitlisted', product_id = r.product, settled_at = :at "
    f"FROM {json_records({'id': 'integer', 'product': 'varchar'})} WHERE {sc.name}.id = r.id"
)


def _in(dialect: str, column: Any, values: Collection[int]) -> Any:
    """`column IN values`: on PostgreSQL one array parameter (`= ANY`), so the statement's
    text is the same whatever the number of values (compiled once, prepared by the driver);
    SQLite gets the expanded list."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(Integer)))
    return column.in_(list(values))


def _status_is(status: str) -> Any:
    """`status = 'provisional'` with the status as a literal: PostgreSQL's index of statuses
    is partial (schema.claim_partial_indexes), and a prepared statement's generic plan, with
    the status a parameter, could not use it."""
    assert status in t.CLAIM_STATUS_INDEXED
    return sc.c.status == literal_column(f"'{status}'")


def _item_in(dialect: str, item_ids: Collection[int]) -> Any:
    return _in(dialect, sc.c.item_id, item_ids)


def _quiet(now: datetime) -> Any:
    """A hold a settle step leaves as it is (services/sales `_review`): paid, or held by a
    linked shopper, not run out and owed no reminder. Never NULL: `~_quiet` is exactly the
    other holds (and the claims that hold nothing)."""
    return or_(
        sc.c.status == "paid",
        and_(
            sc.c.status == "held",
            sc.c.customer_id.is_not(None),
            sc.c.hold_until.is_not(None),
            sc.c.hold_until > now,
            or_(sc.c.remind_at.is_(None), sc.c.remind_at > now),
        ),
    )


def _payable(invoice_id: int, at: datetime) -> list[Any]:
    """An invoice's claims it pays for at `at`: held, and the hold not run out (one that ran
    out is released by the next settle step, never charged)."""
    return [sc.c.invoice_id == invoice_id, sc.c.status == "held", sc.c.hold_until > at]


def _item(row: Any) -> SaleItem:
    return SaleItem(
        number=row.item_number,
        product_id=row.product_id,
        stock=row.stock,
        limit=row.per_shopper_limit,
        id=row.id,
        sale_id=row.sale_id,
    )


def _claim(row: Any) -> StoredClaim:
    return StoredClaim(
        sale_id=row.sale_id,
        network=row.network,
        post_id=row.post_id,
        account_id=row.account_id,
        handle=row.handle,
        action=row.action,
        item_number=row.item_number,
        words=tuple(row.words.split()) if row.words else (),
        quantity=row.quantity,
        posted_at=row.posted_at,
        id=row.id,
        item_id=row.item_id,
        status=row.status,
        customer_id=row.customer_id,
        product_id=row.product_id,
        hold_until=row.hold_until,
        remind_at=row.remind_at,
        invoice_id=row.invoice_id,
    )
