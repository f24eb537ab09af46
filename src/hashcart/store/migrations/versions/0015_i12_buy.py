"""buy with a post: buy requests (quote, held stock, one-time code, what became of it)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buy_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=300), nullable=False),
        sa.Column("account_handle", sa.String(length=300), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("open_code", sa.String(length=8), nullable=True),
        sa.Column("buy_key", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("method_id", sa.String(length=255), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_post_id", sa.String(length=300), nullable=False),
        sa.Column("trigger_post_id", sa.String(length=300), nullable=False),
        sa.Column("confirm_post_id", sa.String(length=300), nullable=True),
        sa.Column("settle_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_buy_requests_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_buy_requests_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buy_requests")),
        sa.UniqueConstraint("network", "trigger_post_id", name="uq_buy_requests_trigger"),
        sa.UniqueConstraint("open_code", name=op.f("uq_buy_requests_open_code")),
        sa.UniqueConstraint("buy_key", name=op.f("uq_buy_requests_buy_key")),
    )
    op.create_index("ix_buy_requests_code", "buy_requests", ["code"])
    op.create_index("ix_buy_requests_customer", "buy_requests", ["customer_id", "created_at"])
    op.create_index("ix_buy_requests_status", "buy_requests", ["status", "settle_after"])


def downgrade() -> None:
    op.drop_table("buy_requests")
