"""Buy requests (ports.BuyRecords), inside the caller's transaction.

Every change of a request's status is one conditional UPDATE naming the status it leaves,
and its answer (a row or none) says whether this transaction made the change: two confirms
of one code at once, or two settling processes, cannot both win. PostgreSQL's READ
COMMITTED re-checks the WHERE of an UPDATE against the row a concurrent writer committed;
SQLite lets one writer in at a time.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hashcart.domain.buying import OPEN_STATUSES
from hashcart.ports import (
    Address,
    BuyingCustomer,
    BuyRequest,
    NewBuyRequest,
    PricedProduct,
    SavedPaymentMethod,
)
from hashcart.store import schema as t
from hashcart.store.gateway_records import StoredGatewayRecords
from hashcart.store.saved_addresses import save_address, shipping_address
from hashcart.store.stock import release, reserve

b = t.buy_requests
HOLD_REASON = "buy"


class StoredBuys:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def priced(self, product_id: str) -> PricedProduct | None:
        p = t.products.c
        row = self.connection.execute(
            select(p.product_id, p.title, p.price_amount, p.currency).where(
                p.product_id == product_id
            )
        ).first()
        if row is None:
            return None
        return PricedProduct(row.product_id, row.title, row.price_amount, row.currency)

    def parent_of(self, network: str, post_id: str) -> str | None:
        c = t.posts.c
        found: str | None = self.connection.scalar(
            select(c.parent_id).where(c.network == network, c.post_id == post_id)
        )
        return found

    def saved_method(self, customer_id: int) -> SavedPaymentMethod | None:
        return StoredGatewayRecords(self.connection).saved_method(customer_id)

    def customer(self, customer_id: int) -> BuyingCustomer | None:
        c = t.customers.c
        row = self.connection.execute(
            select(c.id, c.email, c.name).where(c.id == customer_id)
        ).first()
        return None if row is None else BuyingCustomer(row.id, row.email, row.name)

    def shipping_address(self, customer_id: int) -> Address | None:
        return shipping_address(self.connection, customer_id)

    def save_address(self, customer_id: int, address: Address, at: datetime) -> None:
        save_address(self.connection, customer_id, address, at)

    def spent(self, customer_id: int, currency: str, since: datetime, until: datetime) -> Decimal:
        total = self.connection.scalar(
            select(func.coalesce(func.sum(b.c.total), 0)).where(
                b.c.customer_id == customer_id,
                b.c.currency == currency,
                b.c.created_at >= since,
                b.c.created_at < until,
                b.c.status.in_(("open", "confirmed", "bought")),
            )
        )
        return Decimal(str(total or 0))

    def codes_in_use(self, codes: Collection[str]) -> set[str]:
        if not codes:
            return set()
        return set(
            self.connection.scalars(select(b.c.open_code).where(b.c.open_code.in_(list(codes))))
        )

    def add(self, request: NewBuyRequest) -> BuyRequest | None:
        values = {
            "network": request.network,
            "account_id": request.account_id,
            "account_handle": request.account_handle,
            "customer_id": request.customer_id,
            "product_id": request.product_id,
            "title": request.title,
            "quantity": request.quantity,
            "unit_price": request.unit_price,
            "currency": request.currency,
            "total": request.total,
            "code": request.code,
            "open_code": request.code,
            "buy_key": request.buy_key,
            "gateway": request.gateway,
            "method_id": request.method_id,
            "card_last4": request.card_last4,
            "status": "open",
            "created_at": request.created_at,
            "expires_at": request.expires_at,
            "source_post_id": request.source_post_id,
            "trigger_post_id": request.trigger_post_id,
            "updated_at": request.created_at,
            "offer_id": request.offer_id,
            "offer_load_id": request.offer_load_id,
            "discount_amount": request.discount_amount,
            "offer_label": request.offer_label,
        }
        if self.with_trigger(request.network, request.trigger_post_id) is not None:
            return None
        # A savepoint: a code taken meanwhile (the unique open_code) fails this insert only.
        try:
            with self.connection.begin_nested():
                new_id = self.connection.execute(
                    insert(b).values(values).returning(b.c.id)
                ).scalar_one()
        except IntegrityError:
            return None
        return self.find(new_id)

    def hold(
        self, holder: str, product_id: str, quantity: int, now: datetime, until: datetime
    ) -> None:
        # A savepoint: a line that cannot be held leaves nothing of itself behind (reserve's
        # hold row goes with it), and the batch's transaction goes on.
        with self.connection.begin_nested():
            reserve(
                self.connection,
                holder,
                {product_id: quantity},
                reason=HOLD_REASON,
                now=now,
                until=until,
            )

    def release(self, holder: str, now: datetime) -> int:
        return release(self.connection, holder, now)

    def with_code(self, code: str) -> list[BuyRequest]:
        rows = self.connection.execute(
            select(b).where(b.c.code == code).order_by(b.c.created_at.desc(), b.c.id.desc())
        ).all()
        return [_request(row) for row in rows]

    def claim_confirm(
        self, request_id: int, network: str, account_id: str, confirm_post_id: str, now: datetime
    ) -> bool:
        claimed = self.connection.execute(
            update(b)
            .where(
                b.c.id == request_id,
                b.c.status == "open",
                b.c.network == network,
                b.c.account_id == account_id,
                b.c.expires_at > now,
            )
            .values(
                status="confirmed",
                confirm_post_id=confirm_post_id,
                settle_after=now,
                updated_at=now,
            )
            .returning(b.c.id)
        ).first()
        return claimed is not None

    def expire(self, request_id: int, now: datetime) -> bool:
        ended = self.connection.execute(
            update(b)
            .where(b.c.id == request_id, b.c.status == "open")
            .values(status="expired", open_code=None, updated_at=now)
            .returning(b.c.id)
        ).first()
        return ended is not None

    def expire_due(self, now: datetime) -> list[BuyRequest]:
        rows = self.connection.execute(
            update(b)
            .where(b.c.status == "open", b.c.expires_at <= now)
            .values(status="expired", open_code=None, updated_at=now)
            .returning(*b.c)
        ).all()
        return [_request(row) for row in rows]

    def due_to_settle(self, now: datetime, limit: int) -> list[BuyRequest]:
        rows = self.connection.execute(
            select(b)
            .where(b.c.status == "confirmed", b.c.settle_after <= now)
            .order_by(b.c.settle_after, b.c.id)
            .limit(limit)
        ).all()
        return [_request(row) for row in rows]

    def claim_settle(self, request_id: int, now: datetime, until: datetime) -> bool:
        claimed = self.connection.execute(
            update(b)
            .where(b.c.id == request_id, b.c.status == "confirmed", b.c.settle_after <= now)
            .values(settle_after=until, updated_at=now)
            .returning(b.c.id)
        ).first()
        return claimed is not None

    def finish(
        self,
        request_id: int,
        status: str,
        now: datetime,
        *,
        order_id: int | None = None,
        message: str | None = None,
    ) -> bool:
        done = self.connection.execute(
            update(b)
            .where(b.c.id == request_id, b.c.status == "confirmed")
            .values(
                status=status,
                open_code=None,
                settle_after=None,
                order_id=order_id,
                message=message,
                updated_at=now,
            )
            .returning(b.c.id)
        ).first()
        return done is not None

    def find(self, request_id: int) -> BuyRequest | None:
        row = self.connection.execute(select(b).where(b.c.id == request_id)).first()
        return None if row is None else _request(row)

    def with_trigger(self, network: str, trigger_post_id: str) -> BuyRequest | None:
        row = self.connection.execute(
            select(b).where(b.c.network == network, b.c.trigger_post_id == trigger_post_id)
        ).first()
        return None if row is None else _request(row)


def _request(row: Any) -> BuyRequest:
    return BuyRequest(
        network=row.network,
        account_id=row.account_id,
        account_handle=row.account_handle,
        customer_id=row.customer_id,
        product_id=row.product_id,
        title=row.title,
        quantity=row.quantity,
        unit_price=Decimal(row.unit_price),
        currency=row.currency,
        code=row.code,
        buy_key=row.buy_key,
        gateway=row.gateway,
        method_id=row.method_id,
        card_last4=row.card_last4,
        created_at=row.created_at,
        expires_at=row.expires_at,
        source_post_id=row.source_post_id,
        trigger_post_id=row.trigger_post_id,
        id=row.id,
        status=row.status,
        confirm_post_id=row.confirm_post_id,
        order_id=row.order_id,
        message=row.message,
        offer_id=row.offer_id,
        offer_load_id=row.offer_load_id,
        discount_amount=None if row.discount_amount is None else Decimal(row.discount_amount),
        offer_label=row.offer_label,
    )


__all__ = ["OPEN_STATUSES", "StoredBuys"]
