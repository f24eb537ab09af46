"""The tables. Exactly-once lives here, as unique constraints, not as checks in code."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UTCDateTime = DateTime(timezone=True)

products = Table(
    "products",
    metadata,
    Column("product_id", String(200), primary_key=True),
    Column("title", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("price_amount", Numeric(12, 2), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("availability", String(20), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

account_links = Table(
    "account_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("network", String(16), nullable=False),
    Column("account_id", String(300), nullable=False),
    Column("handle", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("network", "account_id", name="uq_account_links_network_account"),
)

# Posts we must remember: shoppable posts (parents) and trigger posts. Noise is never stored.
posts = Table(
    "posts",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("post_id", String(300), primary_key=True),
    Column("author_id", String(300), nullable=False),
    Column("author_handle", Text, nullable=False),
    # Erased when the author deletes the post.
    Column("text", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("has_shop_link", Boolean, nullable=False),
    # Trigger posts only: the post they act on and what they ask for.
    Column("parent_id", String(300), nullable=True),
    Column("list_kind", String(16), nullable=True),
    Column("quantity", Integer, nullable=True),
    Column("position", Integer, nullable=True),
    Index("ix_posts_parent", "network", "parent_id"),
)

post_products = Table(
    "post_products",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("post_id", String(300), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("product_id", ForeignKey("products.product_id"), nullable=False),
)

# Deletions may arrive before the post they delete; remembering them keeps ingest order-free.
post_deletions = Table(
    "post_deletions",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("post_id", String(300), primary_key=True),
)

actions = Table(
    "actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", String(16), nullable=False),
    Column("trigger_post_id", String(300), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("customer_id", ForeignKey("customers.id", ondelete="SET NULL"), nullable=True),
    Column("product_id", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("network", "trigger_post_id", name="uq_actions_network_trigger"),
)

cart_lines = Table(
    "cart_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", ForeignKey("products.product_id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("network", String(16), nullable=False),
    Column("post_id", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("customer_id", "product_id", name="uq_cart_lines_customer_product"),
)

wishlist_entries = Table(
    "wishlist_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", ForeignKey("products.product_id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("network", String(16), nullable=False),
    Column("post_id", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("customer_id", "product_id", name="uq_wishlist_entries_customer_product"),
)

pending_intents = Table(
    "pending_intents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", String(16), nullable=False),
    Column("account_id", String(300), nullable=False),
    Column("account_handle", Text, nullable=False),
    Column("trigger_post_id", String(300), nullable=False),
    Column("list_kind", String(16), nullable=False),
    Column("product_id", ForeignKey("products.product_id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("trigger_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # waiting | applied | expired
    UniqueConstraint("network", "trigger_post_id", name="uq_pending_intents_network_trigger"),
    Index("ix_pending_intents_account", "network", "account_id", "status"),
)

# One link_needed reply per account per day (UTC, of the triggers' own times).
link_notices = Table(
    "link_notices",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("account_id", String(300), primary_key=True),
    Column("day", Integer, primary_key=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", String(16), nullable=False),
    Column("account_id", String(300), nullable=False),
    Column("in_reply_to", String(300), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("dedupe_key", String(400), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # queued (sending comes later)
    Column("created_at", UTCDateTime, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    # The start of the offending input, with undecodable bytes replaced, so a person can look.
    Column("excerpt", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
