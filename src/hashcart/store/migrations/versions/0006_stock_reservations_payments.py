"""stock on products, reservations (holds on stock), and hashcart's record of payments

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Products already there are not counted (stock NULL): they sell as before.
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("stock", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reserved_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("live", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.product_id"],
            name=op.f("fk_reservations_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.UniqueConstraint("holder", "product_id", "live", name="uq_reservations_live_hold"),
    )
    op.create_index(
        "ix_reservations_product_status", "reservations", ["product_id", "status"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checkout_key", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_payments_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("checkout_key", name=op.f("uq_payments_checkout_key")),
    )


def downgrade() -> None:
    op.drop_table("payments")
    op.drop_index("ix_reservations_product_status", table_name="reservations")
    op.drop_table("reservations")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("reserved")
        batch.drop_column("stock")
