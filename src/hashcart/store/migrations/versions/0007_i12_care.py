"""order care: when an order was shipped, and its tracking link

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Orders already there are not shipped as far as hashcart knows (NULL).
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("tracking_url", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tracking_url")
        batch.drop_column("shipped_at")
