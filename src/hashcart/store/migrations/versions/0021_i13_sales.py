"""live sales: sales, their posts and items, claims and invoices (issue 13)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hold_hours", sa.Numeric(8, 3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales")),
        sa.UniqueConstraint("name", name=op.f("uq_sales_name")),
    )
    op.create_table(
        "sale_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sales.id"], name=op.f("fk_sale_posts_sale_id_sales"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_posts")),
        sa.UniqueConstraint("network", "post_id", name="uq_sale_posts_post"),
    )
    op.create_index("ix_sale_posts_sale", "sale_posts", ["sale_id"])
    op.create_table(
        "sale_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("item_number", sa.String(8), nullable=False),
        sa.Column("product_id", sa.String(200), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("per_shopper_limit", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sales.id"], name=op.f("fk_sale_items_sale_id_sales"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_items")),
        sa.UniqueConstraint("sale_id", "item_number", name="uq_sale_items_number"),
    )
    op.create_table(
        "sale_invoices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["sales.id"],
            name=op.f("fk_sale_invoices_sale_id_sales"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_sale_invoices_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_sale_invoices_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_invoices")),
        sa.UniqueConstraint("sale_id", "customer_id", name="uq_sale_invoices_shopper"),
    )
    op.create_table(
        "sale_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(300), nullable=False),
        sa.Column("account_id", sa.String(300), nullable=False),
        sa.Column("handle", sa.String(300), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("item_number", sa.String(8), nullable=False),
        sa.Column("words", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("refusal", sa.String(32), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.String(200), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["sales.id"], name=op.f("fk_sale_claims_sale_id_sales"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["sale_items.id"],
            name=op.f("fk_sale_claims_item_id_sale_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_sale_claims_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["sale_invoices.id"],
            name=op.f("fk_sale_claims_invoice_id_sale_invoices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_claims")),
        sa.UniqueConstraint("network", "post_id", name="uq_sale_claims_post"),
    )
    op.create_index("ix_sale_claims_status", "sale_claims", ["status", "posted_at"])
    op.create_index("ix_sale_claims_item", "sale_claims", ["item_id", "status"])
    op.create_index("ix_sale_claims_invoice", "sale_claims", ["invoice_id"])


def downgrade() -> None:
    op.drop_table("sale_claims")
    op.drop_table("sale_invoices")
    op.drop_table("sale_items")
    op.drop_index("ix_sale_posts_sale", table_name="sale_posts")
    op.drop_table("sale_posts")
    op.drop_table("sales")
