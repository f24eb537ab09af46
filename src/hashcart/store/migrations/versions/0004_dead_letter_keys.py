"""dead letters keyed, so a rerun or a redelivery adds nothing

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows kept before this change get a key of their own (their id): they stay, and they
    # are distinct from every key computed from now on (those are hex digests).
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(length=64), nullable=True))
    op.execute("UPDATE dead_letters SET dedupe_key = 'id:' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("dead_letters") as batch:
        batch.alter_column("dedupe_key", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(op.f("uq_dead_letters_dedupe_key"), ["dedupe_key"])


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_constraint(op.f("uq_dead_letters_dedupe_key"), type_="unique")
        batch.drop_column("dedupe_key")
