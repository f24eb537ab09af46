"""known handles: the handle the shop knows for an account whose posts come without one

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_handles",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=300), nullable=False),
        sa.Column("handle", sa.Text(), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", "account_id", name=op.f("pk_known_handles")),
    )


def downgrade() -> None:
    op.drop_table("known_handles")
