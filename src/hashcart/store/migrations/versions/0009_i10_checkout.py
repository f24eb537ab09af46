"""payments say which capture or void hashcart still owes the gateway, and when to ask again

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_step", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("step_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_payments_pending_step", ["pending_step", "retry_at"])
    # What an older build left unsettled is owed, but stopped (retry_at NULL): nothing moves
    # money by itself on an upgrade; the console lists them, and `hashcart payments retry
    # --restart-stopped` asks once someone has looked. An authorised payment with an order
    # was never captured (refused, or the request died); one without an order whose void
    # was refused still holds the shopper's money.
    op.execute(
        "UPDATE payments SET pending_step = 'capture' "
        "WHERE status = 'authorised' AND order_id IS NOT NULL"
    )
    op.execute(
        "UPDATE payments SET pending_step = 'void' "
        "WHERE status = 'authorised' AND order_id IS NULL AND last_error LIKE 'void refused:%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_pending_step")
        batch_op.drop_column("retry_at")
        batch_op.drop_column("step_attempts")
        batch_op.drop_column("pending_step")
