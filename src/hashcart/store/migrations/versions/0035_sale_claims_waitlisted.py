"""the claims' partial indexes (issue 13, a live-sale claim with fewer PostgreSQL writes):
the index of statuses keeps only the statuses its readers ask for (PostgreSQL; SQLite's
stays whole) and the invoices' index only claims in an invoice (schema.claim_partial_indexes);
each sale item's count of waitlisted claims, kept by triggers (store/waitlist_counts)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hashcart.store.schema import claim_partial_indexes
from hashcart.store.waitlist_counts import (
    COUNTED,
    create_waitlist_counts,
    drop_waitlist_counts,
)

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_WHOLE = (
    "CREATE INDEX ix_sale_claims_status ON sale_claims (status, posted_at)",
    "CREATE INDEX ix_sale_claims_invoice ON sale_claims (invoice_id)",
)


def upgrade() -> None:
    _remake(claim_partial_indexes(op.get_bind().dialect.name))
    op.add_column(
        "sale_items", sa.Column("waitlisted", sa.Integer(), nullable=False, server_default="0")
    )
    op.execute(f"UPDATE sale_items SET waitlisted = ({COUNTED})")
    create_waitlist_counts(op.get_bind())


def downgrade() -> None:
    drop_waitlist_counts(op.get_bind())
    with op.batch_alter_table("sale_items") as batch:
        batch.drop_column("waitlisted")
    _remake(_WHOLE)


def _remake(statements: tuple[str, ...]) -> None:
    op.drop_index("ix_sale_claims_status", table_name="sale_claims")
    op.drop_index("ix_sale_claims_invoice", table_name="sale_claims")
    for statement in statements:
        op.execute(statement)
