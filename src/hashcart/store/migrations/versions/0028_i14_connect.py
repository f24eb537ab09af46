"""one-click connect of the shop's own accounts (issue 14): the merchant's sign-ins under
way, and which account is connected per network

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shop_connect_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("server", sa.Text(), nullable=True),
        sa.Column("secret_data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_shop_connect_states_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_shop_connect_states")),
    )
    op.create_table(
        "shop_connections",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("handle", sa.Text(), nullable=True),
        sa.Column("server", sa.Text(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_shop_connections")),
    )


def downgrade() -> None:
    op.drop_table("shop_connections")
    op.drop_table("shop_connect_states")
