"""Migration 0009 on a database an older build used (SQLite and PostgreSQL): what that
build left unsettled (a capture never taken, a refused void) becomes owed but stopped, so the
console lists it and nothing moves money by itself on the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select

from hashcart.store import schema as t
from hashcart.store.database import make_engine, upgrade

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _payment(key: str, status: str, order_id: int | None, error: str | None) -> dict[str, Any]:
    return {
        "checkout_key": key,
        "gateway": "test_card",
        "amount": Decimal("18.00"),
        "currency": "USD",
        "status": status,
        "reference": "CARD-4242-X",
        "message": "Paid by Visa.",
        "paid": True,
        "order_id": order_id,
        "last_error": error,
        "created_at": AT,
        "updated_at": AT,
    }


def test_what_an_older_build_left_unsettled_is_owed_and_stopped(database_url: str) -> None:
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(files("hashcart.store") / "migrations"))
    config.attributes["engine"] = engine
    command.upgrade(config, "0008")
    with engine.begin() as connection:
        order_id = connection.execute(
            insert(t.orders).values(
                checkout_key="o" * 32,
                status="paid",
                email="sam@example.com",
                ship_name="Sam",
                ship_line1="1 Harbour Street",
                ship_city="Portland",
                ship_postcode="97201",
                ship_country="US",
                payment_gateway="test_card",
                payment_reference="CARD-4242-X",
                total_amount=Decimal("18.00"),
                currency="USD",
                created_at=AT,
            )
        ).inserted_primary_key[0]
        rows = [
            _payment("o" * 32, "authorised", order_id, "capture refused: busy"),
            _payment("v" * 32, "authorised", None, "void refused: busy"),
            _payment("a" * 32, "authorised", None, None),  # a checkout that never finished
            _payment("c" * 32, "captured", None, None),
        ]
        # Only the columns 0006 has are named: the new ones have server defaults alone.
        connection.execute(insert(t.payments), rows)

    upgrade(engine)

    with engine.connect() as connection:
        found = {
            row.checkout_key[0]: (row.pending_step, row.step_attempts, row.retry_at)
            for row in connection.execute(select(t.payments))
        }
    engine.dispose()
    assert found == {
        "o": ("capture", 0, None),
        "v": ("void", 0, None),
        "a": (None, 0, None),
        "c": (None, 0, None),
    }
