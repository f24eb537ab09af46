"""a shopper's linked account at the merchant's store (issue 16): its customer session,
sealed, so a handoff adds the lines to their own active order there

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_customer_sessions",
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("store_email", sa.String(length=320), nullable=False),
        sa.Column("secret_data", sa.Text(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_store_customer_sessions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store", "customer_id", name=op.f("pk_store_customer_sessions")),
    )


def downgrade() -> None:
    op.drop_table("store_customer_sessions")
