"""the merchant's words and a reminder (issue 14): message templates the merchant rewrote,
the shopper's opt-in to one cart reminder, and the key that keeps it to one per cart

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_message_templates")),
    )
    op.create_table(
        "cart_reminders",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("after_order", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_cart_reminders_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "after_order", name=op.f("pk_cart_reminders")),
    )
    # Shoppers who were here before this never asked for reminders.
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("cart_reminders", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("cart_reminders")
    op.drop_table("cart_reminders")
    op.drop_table("message_templates")
