"""The merchant's own store, as hashcart keeps it (issue 16): the last catalog sync with it,
the carts handed to it, and the built-in shop as a store too (BuiltinStore: the catalog
tables are the store), so the use cases never ask which store is behind them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from hashcart.ports import (
    Handoff,
    HandoffLine,
    HandoffSource,
    StoredHandoff,
    StoreOrder,
    StorePage,
    StoreRefused,
    StoreVariant,
    SyncRecord,
    store_product_id,
)
from hashcart.store import schema as t
from hashcart.store.database import read_only_transaction
from hashcart.store.statements import upsert

WITHDRAWN = "discontinued"  # the catalog's word for a product no longer sold


class StoredStoreRecords:
    """ports.StoreRecords on one transaction's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def sync_record(self, store: str) -> SyncRecord | None:
        s = t.store_syncs
        row = self.connection.execute(select(s).where(s.c.store == store)).first()
        if row is None:
            return None
        return SyncRecord(
            store=row.store,
            started_at=row.started_at,
            finished_at=row.finished_at,
            full=bool(row.full_sync),
            seen=int(row.seen),
            changed=int(row.changed),
            withdrawn=int(row.withdrawn),
            error=row.error,
            errors=int(row.errors),
            last_success_at=row.last_success_at,
            last_full_at=row.last_full_at,
            orders_polled_at=row.orders_polled_at,
        )

    def save_sync(self, record: SyncRecord) -> None:
        values: dict[str, Any] = {
            "store": record.store,
            "started_at": record.started_at,
            "finished_at": record.finished_at,
            "full_sync": record.full,
            "seen": record.seen,
            "changed": record.changed,
            "withdrawn": record.withdrawn,
            "error": record.error,
            "errors": record.errors,
            "last_success_at": record.last_success_at,
            "last_full_at": record.last_full_at,
            "orders_polled_at": record.orders_polled_at,
        }
        statement: Any = upsert(self.connection.dialect.name, t.store_syncs, ["store"])
        self.connection.execute(statement, values)

    def store_product_ids(self, store: str) -> set[str]:
        p = t.products
        prefix = store_product_id(store, "")
        rows = self.connection.execute(
            select(p.c.product_id).where(
                p.c.product_id.startswith(prefix, autoescape=True), p.c.availability != WITHDRAWN
            )
        )
        return {row.product_id for row in rows}

    def withdraw(self, product_ids: Sequence[str], at: datetime) -> int:
        if not product_ids:
            return 0
        p = t.products
        changed = self.connection.execute(
            update(p)
            .where(p.c.product_id.in_(sorted(product_ids)), p.c.availability != WITHDRAWN)
            .values(availability=WITHDRAWN, updated_at=at)
        )
        return int(changed.rowcount)

    def add_handoff(
        self,
        store: str,
        reference: str,
        handoff: Handoff,
        customer_id: int | None,
        lines: Sequence[HandoffSource],
        at: datetime,
    ) -> int:
        h = t.store_handoffs
        same = self.connection.execute(
            select(h.c.id).where(h.c.store == store, h.c.store_reference == handoff.reference)
        ).scalar()
        if same is not None:
            # A linked customer's own active order at the store, handed to again: one order
            # there, one handoff here, holding every line handed over to it.
            self.connection.execute(
                update(h).where(h.c.id == same).values(checkout_url=handoff.checkout_url)
            )
            self._add_lines(int(same), lines)
            return int(same)
        result = self.connection.execute(
            insert(t.store_handoffs).values(
                store=store,
                reference=reference,
                store_reference=handoff.reference,
                customer_id=customer_id,
                checkout_url=handoff.checkout_url,
                created_at=at,
            )
        )
        handoff_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        self._add_lines(handoff_id, lines)
        return handoff_id

    def _add_lines(self, handoff_id: int, lines: Sequence[HandoffSource]) -> None:
        if lines:
            self.connection.execute(
                insert(t.store_handoff_lines),
                [
                    {
                        "handoff_id": handoff_id,
                        "product_id": line.product_id,
                        "quantity": line.quantity,
                        "network": line.network,
                        "post_id": line.post_id,
                        "trigger_post_id": line.trigger_post_id,
                    }
                    for line in lines
                ],
            )

    def handoff(self, store: str, store_reference: str) -> StoredHandoff | None:
        h, hl = t.store_handoffs, t.store_handoff_lines
        row = self.connection.execute(
            select(h).where(h.c.store == store, h.c.store_reference == store_reference)
        ).first()
        if row is None:
            return None
        lines = self.connection.execute(
            select(hl).where(hl.c.handoff_id == row.id).order_by(hl.c.id)
        ).all()
        return StoredHandoff(
            id=int(row.id),
            store=row.store,
            reference=row.reference,
            store_reference=row.store_reference,
            customer_id=row.customer_id,
            checkout_url=row.checkout_url,
            order_id=row.order_id,
            lines=tuple(
                HandoffSource(
                    line.product_id,
                    int(line.quantity),
                    line.network,
                    line.post_id,
                    line.trigger_post_id,
                )
                for line in lines
            ),
        )

    def set_handoff_order(self, handoff_id: int, order_id: int, state: str) -> None:
        h = t.store_handoffs
        self.connection.execute(
            update(h).where(h.c.id == handoff_id).values(order_id=order_id, store_state=state)
        )

    def product_titles(self, product_ids: Sequence[str]) -> dict[str, str]:
        p = t.products
        rows = self.connection.execute(
            select(p.c.product_id, p.c.title).where(p.c.product_id.in_(list(product_ids)))
        )
        return {row.product_id: row.title for row in rows}

    def invoice_lines(self, customer_id: int, invoice_id: int) -> list[HandoffSource]:
        inv, sc, sp = t.sale_invoices, t.sale_claims, t.sale_posts
        sale_post = (
            select(func.min(sp.c.post_id))
            .where(sp.c.sale_id == sc.c.sale_id, sp.c.network == sc.c.network)
            .scalar_subquery()
        )
        rows = self.connection.execute(
            select(sc.c.product_id, sc.c.quantity, sc.c.network, sc.c.post_id, sale_post)
            .join(inv, inv.c.id == sc.c.invoice_id)
            .where(
                inv.c.id == invoice_id,
                inv.c.customer_id == customer_id,
                inv.c.status == "open",
                sc.c.status == "held",
                sc.c.product_id.is_not(None),
            )
            .order_by(sc.c.posted_at, sc.c.id)
        ).all()
        return [HandoffSource(row[0], int(row[1]), row[2], row[4], row[3]) for row in rows]


class BuiltinStore:
    """hashcart's own shop as a CommerceStore: its catalog tables are the store's catalog,
    and a handoff is its own checkout page (the lines are already in the shopper's cart)."""

    name = "builtin"
    PAGE_SIZE = 200

    def __init__(self, engine: Engine, checkout_url: str, label: str) -> None:
        self.engine = engine
        self.checkout_url = checkout_url
        self.label = label

    def list_variants(self, cursor: str | None, changed_since: datetime | None) -> StorePage:
        p = t.products
        query = select(p).order_by(p.c.product_id).limit(self.PAGE_SIZE + 1)
        if cursor is not None:
            query = query.where(p.c.product_id > cursor)
        if changed_since is not None:
            query = query.where(p.c.updated_at >= changed_since)
        with read_only_transaction(self.engine) as connection:
            rows = connection.execute(query).all()
        more = len(rows) > self.PAGE_SIZE
        rows = rows[: self.PAGE_SIZE]
        return StorePage(
            tuple(_variant(row) for row in rows), rows[-1].product_id if more and rows else None
        )

    def read_variant(self, variant_id: str) -> StoreVariant | None:
        p = t.products
        with read_only_transaction(self.engine) as connection:
            row = connection.execute(select(p).where(p.c.product_id == variant_id)).first()
        return None if row is None else _variant(row)

    def hand_off(
        self, lines: Sequence[HandoffLine], shopper_email: str | None, reference: str
    ) -> Handoff:
        """The lines are the shopper's own cart here: they finish at the shop's checkout."""
        if not lines:
            raise StoreRefused("there is nothing to hand over")
        return Handoff(self.checkout_url, reference)

    def orders_since(self, since: datetime | None) -> Sequence[StoreOrder]:
        o, ol = t.orders, t.order_lines
        query = select(o).order_by(o.c.id)
        if since is not None:
            query = query.where(o.c.created_at >= since)
        with read_only_transaction(self.engine) as connection:
            orders = connection.execute(query).all()
            lines = connection.execute(
                select(ol).where(ol.c.order_id.in_([order.id for order in orders]))
            ).all()
        by_order: dict[int, list[HandoffLine]] = {}
        for line in lines:
            by_order.setdefault(int(line.order_id), []).append(
                HandoffLine(line.product_id, int(line.quantity), Decimal(line.unit_price))
            )
        return [
            StoreOrder(
                reference=str(order.id),
                handoff_reference=order.checkout_key,
                state=order.status,
                total=Decimal(order.total_amount),
                currency=order.currency,
                placed_at=order.created_at,
                lines=tuple(by_order.get(int(order.id), ())),
                email=order.email,
            )
            for order in orders
        ]


def _variant(row: Any) -> StoreVariant:
    options = {name: row._mapping[name] for name in ("color", "size") if row._mapping[name]}
    return StoreVariant(
        variant_id=row.product_id,
        product_id=row.item_group_id or row.product_id,
        title=row.title,
        price=Decimal(row.price_amount) if row.price_amount is not None else Decimal(0),
        currency=row.currency or "",
        stock=None if row.stock is None else max(int(row.stock) - int(row.reserved), 0),
        url=row.link,
        options=options,
        updated_at=row.updated_at,
        enabled=row.availability != WITHDRAWN,
    )
