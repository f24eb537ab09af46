"""Webhook deliveries already taken, by network and event id: networks deliver at least once,
so a repeat is recognised here and dropped. Marked only after the sink committed the delivery,
so one that failed half-way is taken whole when it comes again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from hashcart.ports import Clock
from hashcart.store import schema as t
from hashcart.store.database import write_transaction
from hashcart.store.repository import insert_ignoring


def was_delivered(engine: Engine, source: str, event_id: str) -> bool:
    with engine.connect() as connection:
        found = connection.scalar(
            select(t.webhook_deliveries.c.event_id).where(
                t.webhook_deliveries.c.source == source,
                t.webhook_deliveries.c.event_id == event_id,
            )
        )
    return found is not None


def mark_delivered(engine: Engine, source: str, event_id: str, at: datetime) -> None:
    with write_transaction(engine) as connection:
        connection.execute(
            insert_ignoring(connection.dialect.name, "webhook_deliveries"),
            {"source": source, "event_id": event_id, "received_at": at},
        )


class StoredDeliveries:
    """The delivery log (hashcart.ports.DeliveryLog) in `webhook_deliveries`."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def was_delivered(self, source: str, event_id: str) -> bool:
        return was_delivered(self.engine, source, event_id)

    def mark_delivered(self, source: str, event_id: str) -> None:
        mark_delivered(self.engine, source, event_id, self.clock.now())
