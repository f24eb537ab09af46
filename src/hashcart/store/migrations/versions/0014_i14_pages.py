"""sign-up requests: a sign-up waits for its emailed link

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_up_requests",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("next_path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sign_up_requests")),
    )
    op.create_index(
        "ix_sign_up_requests_expires_at", "sign_up_requests", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sign_up_requests_expires_at", table_name="sign_up_requests")
    op.drop_table("sign_up_requests")
