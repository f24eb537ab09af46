"""the live claim board's log: one row each time a sale's claim settles or changes (won,
promoted, waitlisted, released, refused, passed, paid)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sale_claim_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claim_id"], ["sale_claims.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sale_claim_events_sale", "sale_claim_events", ["sale_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sale_claim_events_sale", table_name="sale_claim_events")
    op.drop_table("sale_claim_events")
