"""the sale claims' item index takes the claim's time too: the settle step counts an item's
waitlist before a moment (a waitlisted claim's place) and reads only its due claims, on an
index instead of every waitlisted row

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 07:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sale_claims_item", table_name="sale_claims")
    op.create_index(
        "ix_sale_claims_item", "sale_claims", ["item_id", "status", "posted_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sale_claims_item", table_name="sale_claims")
    op.create_index("ix_sale_claims_item", "sale_claims", ["item_id", "status"], unique=False)
