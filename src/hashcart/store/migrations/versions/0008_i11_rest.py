"""an index on the outbox's accounts, and each Bluesky repository's last committed revision

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_account", "outbox", ["network", "account_id"], unique=False)
    # Empty at first: until a repository's next commit, its revs are checked as before (in
    # memory from the listener's start).
    op.create_table(
        "repository_revisions",
        sa.Column("did", sa.String(length=2048), nullable=False),
        sa.Column("rev", sa.String(length=13), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("did", name=op.f("pk_repository_revisions")),
    )


def downgrade() -> None:
    op.drop_table("repository_revisions")
    op.drop_index("ix_outbox_account", table_name="outbox")
