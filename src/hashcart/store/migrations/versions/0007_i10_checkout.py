"""payments say which capture or void hashcart still owes the gateway, and when to ask again

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
    # Payments already there owe nothing on record: a capture or void an older build had
    # refused stays as it was (its last_error says so), and is not asked again by itself.
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_step", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("step_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_payments_pending_step", ["pending_step", "retry_at"])


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_pending_step")
        batch_op.drop_column("retry_at")
        batch_op.drop_column("step_attempts")
        batch_op.drop_column("pending_step")
