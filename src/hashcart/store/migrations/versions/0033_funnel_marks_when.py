"""the funnel's marks on PostgreSQL fire only for the rows they mark (a WHEN clause): a live
sale's thousands of queued replies a second no longer call a trigger function that inserts
nothing (store/funnel_marks; no figure changes)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 16:45:00
"""

from __future__ import annotations

from alembic import op

from hashcart.store.funnel_marks import create_marks, drop_marks

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        drop_marks(connection)
        create_marks(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        drop_marks(connection)
        create_marks(connection, when=False)
