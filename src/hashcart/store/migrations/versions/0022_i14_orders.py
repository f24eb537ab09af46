"""orders and fulfilment in the console (issue 14): the carrier of a shipped order, when an
order was cancelled, and the indexes the console's keyset-paged lists and counts read

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 04:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Orders shipped or placed before this name no carrier and were never cancelled (NULL).
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("carrier", sa.String(100), nullable=True))
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    # The orders list: newest first (keyset on created_at, id), by status, by shopper.
    op.create_index("ix_orders_created", "orders", ["created_at", "id"])
    op.create_index("ix_orders_status_created", "orders", ["status", "created_at", "id"])
    op.create_index("ix_orders_email", "orders", ["email"])
    # An order's lines (its page, the network and post filters' EXISTS).
    op.create_index("ix_order_lines_order", "order_lines", ["order_id"])
    # The customers list's search by handle, and a customer's linked accounts.
    op.create_index("ix_account_links_customer", "account_links", ["customer_id"])
    op.create_index("ix_account_links_handle", "account_links", ["handle"])


def downgrade() -> None:
    op.drop_index("ix_account_links_handle", table_name="account_links")
    op.drop_index("ix_account_links_customer", table_name="account_links")
    op.drop_index("ix_order_lines_order", table_name="order_lines")
    op.drop_index("ix_orders_email", table_name="orders")
    op.drop_index("ix_orders_status_created", table_name="orders")
    op.drop_index("ix_orders_created", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("cancelled_at")
        batch.drop_column("carrier")
