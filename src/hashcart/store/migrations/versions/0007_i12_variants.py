"""variants on products (item_group_id, color, size) and a trigger's choice words on posts

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
    # Products already there are in no group: each stays a product of its own.
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_group_id", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("color", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("size", sa.String(length=100), nullable=True))
    # Triggers already stored have no words: they pick no variant, as before.
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("words", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("words")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("size")
        batch_op.drop_column("color")
        batch_op.drop_column("item_group_id")
