"""offers by hashtag: offers, their loads, and the offer an order redeemed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("tag_key", sa.String(length=256), nullable=False),
        sa.Column("percent_off", sa.Numeric(7, 4), nullable=True),
        sa.Column("amount_off", sa.Numeric(12, 2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("product_ids", sa.Text(), nullable=True),
        sa.Column("load_limit", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        sa.UniqueConstraint("tag_key", name=op.f("uq_offers_tag_key")),
    )
    # Orders placed before this redeemed no offer (NULL).
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("offer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("discount_amount", sa.Numeric(12, 2), nullable=True))
        batch.create_foreign_key(
            op.f("fk_orders_offer_id_offers"), "offers", ["offer_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "offer_loads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=300), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger_post_id", sa.String(length=300), nullable=False),
        sa.Column("parent_post_id", sa.String(length=300), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_order_id", sa.Integer(), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_offer_loads_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_offer_loads_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_order_id"],
            ["orders.id"],
            name=op.f("fk_offer_loads_redeemed_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_loads")),
        sa.UniqueConstraint("offer_id", "network", "account_id", name="uq_offer_loads_account"),
        sa.UniqueConstraint("offer_id", "customer_id", name="uq_offer_loads_customer"),
    )
    op.create_index("ix_offer_loads_customer", "offer_loads", ["customer_id", "status"])
    op.create_index("ix_offer_loads_account", "offer_loads", ["network", "account_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_offer_loads_account", table_name="offer_loads")
    op.drop_index("ix_offer_loads_customer", table_name="offer_loads")
    op.drop_table("offer_loads")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("fk_orders_offer_id_offers"), type_="foreignkey")
        batch.drop_column("discount_amount")
        batch.drop_column("offer_id")
    op.drop_table("offers")
