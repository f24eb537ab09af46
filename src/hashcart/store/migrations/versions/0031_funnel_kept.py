"""kept funnel figures (issue 14, pages that stay fast on a big shop): post_funnel (a row of
figures per shoppable post, an index per sortable figure), post_funnel_totals (their sums per
network), post_funnel_orders (each post's orders, counted distinct for the totals),
post_funnel_changes (the posts a write may have changed, filled by database triggers), an
index on post_products' product, two on the outbox (its channel; its status and network), and
the posts' author and text sort indexes

The backfill names every shoppable post in post_funnel_changes: the first page read recounts
them (views/funnel_keeping.refresh) and until then pages work their figures out from the rows.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hashcart.store.funnel_marks import create_marks, drop_marks
from hashcart.store.schema import UTCDateTime

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_SORTABLE = (
    "triggers",
    "valid",
    "carted",
    "wishlisted",
    "pending",
    "orders",
    "units",
    "revenue_cents",
    "buys_requested",
    "buys_confirmed",
    "buy_revenue_cents",
    "offer_loads",
    "offer_redemptions",
    "confirmed_elsewhere",
    "products_key",
)
_TOTALS = (
    "triggers",
    "valid",
    "carted",
    "wishlisted",
    "pending",
    "units",
)
_MORE_TOTALS = (
    "confirmed_elsewhere",
    "buys_requested",
    "buys_confirmed",
)


def upgrade() -> None:
    n = sa.Integer
    op.create_table(
        "post_funnel",
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("triggers", n(), nullable=False),
        sa.Column("valid", n(), nullable=False),
        sa.Column("carted", n(), nullable=False),
        sa.Column("wishlisted", n(), nullable=False),
        sa.Column("pending", n(), nullable=False),
        sa.Column("pending_until", UTCDateTime(), nullable=True),
        sa.Column("orders", n(), nullable=False),
        sa.Column("units", n(), nullable=False),
        sa.Column("revenue", sa.Text(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_elsewhere", n(), nullable=False),
        sa.Column("buys_requested", n(), nullable=False),
        sa.Column("buys_confirmed", n(), nullable=False),
        sa.Column("buy_revenue", sa.Text(), nullable=False),
        sa.Column("buy_revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("offer_loads", n(), nullable=False),
        sa.Column("offer_redemptions", n(), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("products_key", sa.String(400), nullable=False),
        sa.PrimaryKeyConstraint("network", "post_id", name="pk_post_funnel"),
    )
    for name in _SORTABLE:
        op.create_index(
            f"ix_post_funnel_{name}", "post_funnel", [name, "created_at", "network", "post_id"]
        )
    op.create_index("ix_post_funnel_pending_until", "post_funnel", ["pending_until"])
    big = sa.BigInteger
    op.create_table(
        "post_funnel_totals",
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("posts", big(), nullable=False),
        *(sa.Column(name, big(), nullable=False) for name in _TOTALS),
        sa.Column("revenue", sa.Text(), nullable=False),
        *(sa.Column(name, big(), nullable=False) for name in _MORE_TOTALS),
        sa.Column("buy_revenue", sa.Text(), nullable=False),
        sa.Column("offer_loads", big(), nullable=False),
        sa.Column("offer_redemptions", big(), nullable=False),
        sa.PrimaryKeyConstraint("network", name="pk_post_funnel_totals"),
    )
    op.create_table(
        "post_funnel_orders",
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(300), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("network", "post_id", "order_id", name="pk_post_funnel_orders"),
    )
    op.create_index("ix_post_funnel_orders_order", "post_funnel_orders", ["order_id", "network"])
    op.create_index("ix_post_funnel_orders_network", "post_funnel_orders", ["network", "order_id"])
    op.create_table(
        "post_funnel_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(400), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_post_funnel_changes"),
    )
    op.create_index("ix_post_products_product", "post_products", ["product_id"])
    op.create_index("ix_outbox_channel", "outbox", ["channel", "id"])
    op.create_index("ix_outbox_status_network", "outbox", ["status", "network"])
    op.create_index(
        "ix_posts_author_sort",
        "posts",
        [sa.text("lower(author_handle)"), "created_at", "network", "post_id"],
        sqlite_where=sa.text("parent_id IS NULL"),
        postgresql_where=sa.text("parent_id IS NULL"),
    )
    op.create_index(
        "ix_posts_text_sort",
        "posts",
        [sa.text("substr(lower(coalesce(text, '')), 1, 200)"), "created_at", "network", "post_id"],
        sqlite_where=sa.text("parent_id IS NULL"),
        postgresql_where=sa.text("parent_id IS NULL"),
    )
    connection = op.get_bind()
    create_marks(connection)
    # Every shoppable post is recounted by the first refresh (store/shoppable's conditions).
    connection.execute(
        sa.text(
            "INSERT INTO post_funnel_changes (source, network, ref) "
            "SELECT 'post', p.network, p.post_id FROM posts p "
            "WHERE p.parent_id IS NULL AND p.has_shop_link = :yes AND EXISTS ("
            "SELECT 1 FROM post_products pp "
            "WHERE pp.network = p.network AND pp.post_id = p.post_id)"
        ),
        {"yes": True},
    )


def downgrade() -> None:
    drop_marks(op.get_bind())
    op.drop_index("ix_posts_text_sort", table_name="posts")
    op.drop_index("ix_posts_author_sort", table_name="posts")
    op.drop_index("ix_outbox_status_network", table_name="outbox")
    op.drop_index("ix_outbox_channel", table_name="outbox")
    op.drop_index("ix_post_products_product", table_name="post_products")
    op.drop_table("post_funnel_changes")
    op.drop_index("ix_post_funnel_orders_network", table_name="post_funnel_orders")
    op.drop_index("ix_post_funnel_orders_order", table_name="post_funnel_orders")
    op.drop_table("post_funnel_orders")
    op.drop_table("post_funnel_totals")
    for name in ("pending_until", *reversed(_SORTABLE)):
        op.drop_index(f"ix_post_funnel_{name}", table_name="post_funnel")
    op.drop_table("post_funnel")
