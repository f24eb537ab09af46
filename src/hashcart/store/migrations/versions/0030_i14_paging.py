"""indexes for pages that stay fast on a big shop (issue 14): the funnel's newest-first
posts, and its per-post figures read for one page of posts at a time

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 07:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_posts_created", "posts", ["created_at", "network", "post_id"]),
    ("ix_posts_network_created", "posts", ["network", "created_at", "post_id"]),
    ("ix_cart_lines_post", "cart_lines", ["network", "post_id"]),
    ("ix_buy_requests_source_post", "buy_requests", ["network", "source_post_id"]),
    ("ix_offer_loads_parent_post", "offer_loads", ["network", "parent_post_id"]),
    ("ix_outbox_reply", "outbox", ["network", "in_reply_to"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
