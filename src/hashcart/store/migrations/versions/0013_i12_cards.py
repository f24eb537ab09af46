"""provider clean-ups owed: a removed card to detach, a deleted shopper's customer to delete

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_cleanups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("owed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_cleanups")),
        sa.UniqueConstraint("gateway", "action", "object_id", name="uq_gateway_cleanups_object"),
    )
    op.create_index(
        "ix_gateway_cleanups_due", "gateway_cleanups", ["done_at", "retry_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_gateway_cleanups_due", table_name="gateway_cleanups")
    op.drop_table("gateway_cleanups")
