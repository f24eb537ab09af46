"""store changes: what a store's webhooks said changed, waiting for the sync (issue 16)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_changes",
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("store", "delivery_id", name=op.f("pk_store_changes")),
    )
    op.create_index("ix_store_changes_waiting", "store_changes", ["store", "taken_at"])


def downgrade() -> None:
    op.drop_index("ix_store_changes_waiting", table_name="store_changes")
    op.drop_table("store_changes")
