"""saved shipping addresses: where a shopper's buys with a post ship, set on the account page

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Shoppers before this saved no address: their buys ship to their latest order's address.
    op.create_table(
        "saved_addresses",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("ship_name", sa.Text(), nullable=False),
        sa.Column("ship_line1", sa.Text(), nullable=False),
        sa.Column("ship_line2", sa.Text(), nullable=True),
        sa.Column("ship_city", sa.Text(), nullable=False),
        sa.Column("ship_postcode", sa.String(length=32), nullable=False),
        sa.Column("ship_country", sa.String(length=2), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_saved_addresses_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_saved_addresses")),
    )


def downgrade() -> None:
    op.drop_table("saved_addresses")
