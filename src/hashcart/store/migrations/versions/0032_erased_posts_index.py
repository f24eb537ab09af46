"""the erased posts' index (issue 14, pages that stay fast on a big shop): the shop front
counts its posts as the kept count of shoppable posts less the erased ones, read from it

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_posts_erased",
        "posts",
        ["network", "post_id"],
        sqlite_where=sa.text("text IS NULL AND parent_id IS NULL"),
        postgresql_where=sa.text("text IS NULL AND parent_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_posts_erased", table_name="posts")
