"""What the payment gateways keep in hashcart (ports.GatewayRecords): each shopper's
provider customer and saved payment method, key -> provider object, provider events seen.

Every "keep" is an insert that ignores a conflict and then reads what is there, so two
requests racing over one shopper or one key agree on one row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from hashcart.ports import CleanupAction, OwedCleanup, PaymentRecord, SavedPaymentMethod
from hashcart.store import gateway_cleanups
from hashcart.store import schema as t
from hashcart.store.payments import find as find_payment
from hashcart.store.statements import insert_ignoring, upsert


class StoredGatewayRecords:
    """The gateways' records of one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._dialect = connection.dialect.name

    def customer_with_email(self, email: str) -> int | None:
        found: int | None = self.connection.scalar(
            select(t.customers.c.id).where(func.lower(t.customers.c.email) == email.lower())
        )
        return found

    def provider_customer(self, customer_id: int, gateway: str) -> str | None:
        c = t.provider_customers.c
        found: str | None = self.connection.scalar(
            select(c.provider_id).where(c.customer_id == customer_id, c.gateway == gateway)
        )
        return found

    def keep_provider_customer(
        self, customer_id: int, gateway: str, provider_id: str, now: datetime
    ) -> str:
        self.connection.execute(
            insert_ignoring(self._dialect, "provider_customers"),
            {
                "customer_id": customer_id,
                "gateway": gateway,
                "provider_id": provider_id,
                "created_at": now,
            },
        )
        kept = self.provider_customer(customer_id, gateway)
        assert kept is not None
        return kept

    def customer_of_provider(self, gateway: str, provider_id: str) -> int | None:
        c = t.provider_customers.c
        found: int | None = self.connection.scalar(
            select(c.customer_id).where(c.gateway == gateway, c.provider_id == provider_id)
        )
        return found

    def save_method(self, method: SavedPaymentMethod) -> None:
        self.connection.execute(
            upsert(self._dialect, t.saved_payment_methods, ["customer_id"]),
            {
                "customer_id": method.customer_id,
                "gateway": method.gateway,
                "method_id": method.method_id,
                "brand": method.brand,
                "last4": method.last4,
                "saved_at": method.saved_at,
            },
        )

    def saved_method(self, customer_id: int) -> SavedPaymentMethod | None:
        row = self.connection.execute(
            select(t.saved_payment_methods).where(
                t.saved_payment_methods.c.customer_id == customer_id
            )
        ).first()
        return None if row is None else saved_method_of(row)

    def intent_of(self, idempotency_key: str) -> str | None:
        c = t.gateway_intents.c
        found: str | None = self.connection.scalar(
            select(c.intent_id).where(c.idempotency_key == idempotency_key)
        )
        return found

    def keep_intent(self, idempotency_key: str, gateway: str, intent_id: str, now: datetime) -> str:
        self.connection.execute(
            insert_ignoring(self._dialect, "gateway_intents"),
            {
                "idempotency_key": idempotency_key,
                "gateway": gateway,
                "intent_id": intent_id,
                "created_at": now,
            },
        )
        kept = self.intent_of(idempotency_key)
        assert kept is not None
        return kept

    def payment_with_reference(self, gateway: str, reference: str) -> PaymentRecord | None:
        """The payment record whose gateway reference this is; a PaymentIntent recorded for
        a key whose answer is not written yet is found through the key's intent."""
        p, g = t.payments.c, t.gateway_intents.c
        key = self.connection.scalar(
            select(p.checkout_key).where(p.gateway == gateway, p.reference == reference)
        ) or self.connection.scalar(
            select(g.idempotency_key).where(g.gateway == gateway, g.intent_id == reference)
        )
        return None if key is None else find_payment(self.connection, key)

    def first_sight_of_event(self, source: str, event_id: str, now: datetime) -> bool:
        inserted = self.connection.execute(
            insert_ignoring(self._dialect, "webhook_deliveries"),
            {"source": source, "event_id": event_id, "received_at": now},
        ).first()
        return inserted is not None

    # -- removing a card, deleting a shopper (i12-cards) ------------------------------------

    def forget_method(self, customer_id: int) -> SavedPaymentMethod | None:
        m = t.saved_payment_methods
        row = self.connection.execute(
            delete(m).where(m.c.customer_id == customer_id).returning(*m.c)
        ).first()
        return None if row is None else saved_method_of(row)

    def owe_cleanup(
        self, gateway: str, action: CleanupAction, object_id: str, now: datetime
    ) -> int:
        return gateway_cleanups.owe(self.connection, gateway, action, object_id, now)

    def cleanups_due(
        self, now: datetime, limit: int, ids: Sequence[int] | None = None
    ) -> list[OwedCleanup]:
        return gateway_cleanups.due(self.connection, now, limit, ids)

    def claim_cleanup(self, cleanup_id: int, now: datetime, until: datetime) -> bool:
        return gateway_cleanups.claim(self.connection, cleanup_id, now, until)

    def cleanup_done(self, cleanup_id: int, now: datetime) -> None:
        gateway_cleanups.done(self.connection, cleanup_id, now)

    def restart_stopped_cleanups(self, now: datetime) -> int:
        return gateway_cleanups.restart_stopped(self.connection, now)

    def cleanup_known(self, gateway: str, action: CleanupAction, object_id: str) -> bool:
        return gateway_cleanups.known(self.connection, gateway, action, object_id)

    def cleanup_failed(
        self, cleanup_id: int, message: str, now: datetime, retry_at: datetime | None
    ) -> OwedCleanup:
        return gateway_cleanups.failed(self.connection, cleanup_id, message, retry_at)


def saved_method_of(row: Any) -> SavedPaymentMethod:
    return SavedPaymentMethod(
        customer_id=row.customer_id,
        gateway=row.gateway,
        method_id=row.method_id,
        brand=row.brand,
        last4=row.last4,
        saved_at=row.saved_at,
    )
