"""product pictures and descriptions: the products' image links and description, and the
images fetched once per URL with their renditions

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Products imported before this have no pictures or words (NULL).
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("image_link", sa.Text(), nullable=True))
        batch.add_column(sa.Column("additional_image_links", sa.Text(), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_url", sa.String(length=2100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source_type", sa.String(length=16), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=40), nullable=True),
        sa.Column("large", sa.LargeBinary(), nullable=True),
        sa.Column("thumb", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint("source_url", name=op.f("uq_images_source_url")),
    )
    op.create_index("ix_images_status", "images", ["status"])


def downgrade() -> None:
    op.drop_index("ix_images_status", table_name="images")
    op.drop_table("images")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("description")
        batch.drop_column("additional_image_links")
        batch.drop_column("image_link")
