"""the merchant's own store: catalog syncs and handoffs (issue 16)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_syncs",
        sa.Column("store", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("full_sync", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("seen", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("changed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("withdrawn", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_full_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("orders_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("store", name=op.f("pk_store_syncs")),
    )
    op.create_table(
        "store_handoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("store", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("store_reference", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("checkout_url", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("store_state", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_store_handoffs_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_store_handoffs_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_handoffs")),
        sa.UniqueConstraint("reference", name=op.f("uq_store_handoffs_reference")),
        sa.UniqueConstraint("store", "store_reference", name="uq_store_handoffs_store_reference"),
    )
    op.create_table(
        "store_handoff_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(16), nullable=True),
        sa.Column("post_id", sa.String(300), nullable=True),
        sa.Column("trigger_post_id", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["store_handoffs.id"],
            name=op.f("fk_store_handoff_lines_handoff_id_store_handoffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_handoff_lines")),
    )
    op.create_index("ix_store_handoff_lines_handoff", "store_handoff_lines", ["handoff_id"])


def downgrade() -> None:
    op.drop_index("ix_store_handoff_lines_handoff", table_name="store_handoff_lines")
    op.drop_table("store_handoff_lines")
    op.drop_table("store_handoffs")
    op.drop_table("store_syncs")
