"""the outbox's account index takes the status too, so it wins over the status index
whatever order a database's indexes were made in

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_account", table_name="outbox")
    op.create_index(
        "ix_outbox_account", "outbox", ["network", "account_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_account", table_name="outbox")
    op.create_index("ix_outbox_account", "outbox", ["network", "account_id"], unique=False)
