"""order care: when an order was shipped, its tracking link, and each line's trigger post

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Orders already there are not shipped as far as hashcart knows (NULL).
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("tracking_url", sa.String(length=500), nullable=True))
    # Lines bought before this are left without one: their orders are announced by email.
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("trigger_post_id", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("trigger_post_id")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tracking_url")
        batch.drop_column("shipped_at")
