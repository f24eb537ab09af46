"""a product's newest posts by index (issue 14, pages that stay fast on a big shop): each
post_products row carries its post's time, and ix_post_products_newest orders a product's
rows by it, so the product page reads its newest posts instead of every post naming it; and
the shop front's `?page=N` finds its page's key on ix_post_funnel_created's entries alone

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 16:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hashcart.store.schema import UTCDateTime

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("post_products", sa.Column("created_at", UTCDateTime(), nullable=True))
    # The rows there are take their post's time (stored the same way in both tables).
    op.execute(
        "UPDATE post_products SET created_at = (SELECT posts.created_at FROM posts "
        "WHERE posts.network = post_products.network AND posts.post_id = post_products.post_id)"
    )
    op.create_index(
        "ix_post_products_newest",
        "post_products",
        ["product_id", "created_at", "network", "post_id"],
    )
    op.create_index("ix_post_funnel_created", "post_funnel", ["created_at", "network", "post_id"])


def downgrade() -> None:
    op.drop_index("ix_post_funnel_created", table_name="post_funnel")
    op.drop_index("ix_post_products_newest", table_name="post_products")
    with op.batch_alter_table("post_products") as batch:
        batch.drop_column("created_at")
