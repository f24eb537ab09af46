"""The tables. Exactly-once lives here, as unique constraints, not as checks in code."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
)

from hashcart.errors import HashcartError

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class NaiveDateTimeError(HashcartError, ValueError):
    """A datetime without a time zone was about to be stored: it could mean any zone."""


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in UTC: stored as `timestamp with time zone`, always read back aware in UTC.

    SQLite keeps no zone (SQLAlchemy stores the wall time as text and hands it back naive)
    and PostgreSQL hands it back in the session's zone; both come back here as aware UTC,
    so no caller has to mend what it reads. Naive values are refused on the way in rather
    than guessed at: on PostgreSQL the server would read them in its own zone, on SQLite
    they would be taken as UTC, so the same call would store two different moments.
    Aware values in another zone are converted (SQLite would otherwise drop the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise NaiveDateTimeError(f"refusing to store a datetime without a time zone: {value}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: what we stored was UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


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
    # Units on hand to sell; NULL: not counted (no limit, `availability` says it all).
    Column("stock", Integer, nullable=True),
    # Units held by live reservations: a reservation raises it only while
    # reserved + quantity <= stock, in one guarded UPDATE (store/stock.py).
    Column("reserved", Integer, nullable=False, server_default="0"),
    # Google Merchant Center's variant columns: rows sharing an item_group_id are the
    # variants of one product (domain/variants); NULL: a product of its own.
    Column("item_group_id", String(50), nullable=True),
    Column("color", String(100), nullable=True),
    Column("size", String(100), nullable=True),
    # Pictures and words (issue 14): Google Merchant Center's `image_link`, its
    # `additional_image_link`s (one URL a line here) and `description`. NULL: none given. An
    # image is shown only as hashcart's own copy (the `images` table), never hot-linked.
    Column("image_link", Text, nullable=True),
    Column("additional_image_links", Text, nullable=True),
    Column("description", Text, nullable=True),
)

# Each picture a product names, fetched once per URL (services/images.py): checked,
# stripped of metadata and stored as two renditions, or failed with its reason. An uploaded
# picture's source_url is `upload:<sha256 of its bytes>`.
images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_url", String(2100), nullable=False, unique=True),
    # ready (renditions stored) or failed (reason); a URL never tried has no row yet
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    # The original's format and size, as Pillow read it.
    Column("source_type", String(16), nullable=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    # The renditions (services/images.RENDITIONS), all of content_type.
    Column("content_type", String(40), nullable=True),
    Column("large", LargeBinary, nullable=True),
    Column("thumb", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=True),
    Index("ix_images_status", "status"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Web sign-in (argon2 through pwdlib); NULL for customers made from the command line.
    Column("password_hash", Text, nullable=True),
    # How confirmations reach them: public_reply | private_message | email_only.
    Column("notify_by", String(16), nullable=False, server_default="public_reply"),
    # Issue 14: the shopper asked for one reminder of a cart line that waits (the shop's
    # `cart_reminders` switch must be on too); off unless they tick it.
    Column("cart_reminders", Boolean, nullable=False, server_default=false()),
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
    # A customer's accounts (their page), and the customers list's search by handle.
    Index("ix_account_links_customer", "customer_id"),
    Index("ix_account_links_handle", "handle"),
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
    # Trigger posts only: their choice words (domain/triggers), space-separated; they may
    # pick a variant of the product. NULL: none.
    Column("words", Text, nullable=True),
    Index("ix_posts_parent", "network", "parent_id"),
    # The funnel's pages, newest first (views/funnel: keyset paging).
    Index("ix_posts_created", "created_at", "network", "post_id"),
    # ... and one network's newest first (the page's network filter; sorted by network).
    Index("ix_posts_network_created", "network", "created_at", "post_id"),
)

# The funnel's pages sorted by author and by text (views/funnel._key_order), read from an
# index at the key instead of sorting every post. The text key is its first 200 characters
# (PostgreSQL refuses index entries over about 2.7 kB; a long post's tail never sorted much).
TEXT_SORT_CHARACTERS = 200
# Partial: of posts without a parent (the replies, most of the table, are never shown). Made
# by plain SQL after the tables (as in migration 0031), not as Index objects: an Index's
# `postgresql_where` loads SQLAlchemy's PostgreSQL dialect into every process, a SQLite
# shop's `hashcart ingest` too (tests/integration/test_cli_startup.py).
ERASED_POSTS_INDEX = (
    "CREATE INDEX ix_posts_erased ON posts (network, post_id) "
    "WHERE text IS NULL AND parent_id IS NULL"
)
POSTS_SORT_INDEXES = (
    "CREATE INDEX ix_posts_author_sort ON posts "
    "(lower(author_handle), created_at, network, post_id) WHERE parent_id IS NULL",
    "CREATE INDEX ix_posts_text_sort ON posts "
    f"(substr(lower(coalesce(text, '')), 1, {TEXT_SORT_CHARACTERS}), created_at, network, "
    "post_id) WHERE parent_id IS NULL",
    # The erased posts (their authors deleted them: a few): the shop front's count is the
    # kept count of shoppable posts less these (views/shopfront.count_front_posts).
    ERASED_POSTS_INDEX,
)

post_products = Table(
    "post_products",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("post_id", String(300), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("product_id", ForeignKey("products.product_id"), nullable=False),
    # The post's time, copied from posts as the row is written: a product's page reads its
    # newest posts from ix_post_products_newest, a few index entries, instead of every post
    # naming the product (2,000 of them at 1,000,000 posts in the pages bench: 20 ms).
    # NULL only in rows written without it (views/product_page then reads them all).
    Column("created_at", UTCDateTime, nullable=True),
    # The posts naming a product (a renamed product's posts are recounted: post_funnel).
    Index("ix_post_products_product", "product_id"),
    Index("ix_post_products_newest", "product_id", "created_at", "network", "post_id"),
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
    # The funnel's web adds for one page of posts.
    Index("ix_cart_lines_post", "network", "post_id"),
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
    Column(
        "status", String(16), nullable=False
    ),  # queued | sending (claimed by a sender) | sent | failed
    Column("created_at", UTCDateTime, nullable=False),
    # reply (on the network) | private (a direct message) | email (network = "email").
    Column("channel", String(16), nullable=False, server_default="reply"),
    Column("subject", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    # The dispatcher: when a retry is due (NULL: now), when the last send began (an X reply
    # found `sending` after a crash is reconciled against X before it is sent again), and
    # the network's id for what was sent.
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("attempt_started_at", UTCDateTime, nullable=True),
    Column("remote_id", Text, nullable=True),
    # Committed just before an email's SMTP DATA: set on a row claimed again after a crash,
    # an earlier attempt may have delivered it (resent with the same Message-ID, and said so).
    Column("delivery_started_at", UTCDateTime, nullable=True),
    Index("ix_outbox_status", "status", "id"),
    # One account's messages: the dispatcher asks, before each private message, whether an
    # earlier one to that account may have gone unseen (outbox/fallback.with_earlier_unseen).
    # `status` is in it too: with (network, account_id) alone, a planner without statistics
    # weighed it equal to ix_outbox_status (status = ? AND id <> ?) and took whichever index
    # was made first, so a new database (tables made in another order) read every sent row.
    Index("ix_outbox_account", "network", "account_id", "status"),
    # The replies to a trigger post: the funnel's "confirmed another way" for one page.
    Index("ix_outbox_reply", "network", "in_reply_to"),
    # One channel's messages newest first (the outbox page's filter), and the channels there
    # are, read a step at a time (views/console.outbox_channels).
    Index("ix_outbox_channel", "channel", "id"),
    # Queued messages per network, read from the index alone (web/no_sender, on the outbox
    # page and the console's home: without it, every queued row was read).
    Index("ix_outbox_status_network", "status", "network"),
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
    # A digest of (source, line, reason, the offending bytes): a rerun of the same file or a
    # redelivery of the same bad body adds nothing (see services/ingest.dead_letter_key).
    Column("dedupe_key", String(64), nullable=False, unique=True),
)


# --- The web: people who sign in, their sessions, and what they buy. ---

# Merchants sign in separately from shoppers, with their own table and role.
merchants = Table(
    "merchants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Server-side sessions: the cookie holds a random token, the table only its SHA-256, so a
# stolen database does not sign anyone in, and signing out really ends the session.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # shopper | merchant
    Column("subject_id", Integer, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_web_sessions_subject", "kind", "subject_id"),
)

# Failed sign-ins, by account ("account:<email>") and by address ("address:<ip>").
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_sign_in_failures_key_at", "key", "at"),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

# One-time codes a shopper posts from a social account to prove it is theirs.
link_codes = Table(
    "link_codes",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Kept (with the customer detached) when an account is deleted: invoices must be kept.
    Column("customer_id", ForeignKey("customers.id", ondelete="SET NULL"), nullable=True),
    # One order per checkout form: a double submit finds the order the first one made.
    Column("checkout_key", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # placed | paid | refunded | cancelled
    Column("email", String(320), nullable=False),
    Column("ship_name", Text, nullable=False),
    Column("ship_line1", Text, nullable=False),
    Column("ship_line2", Text, nullable=True),
    Column("ship_city", Text, nullable=False),
    Column("ship_postcode", String(32), nullable=False),
    Column("ship_country", String(2), nullable=False),
    Column("payment_gateway", String(32), nullable=False),
    Column("payment_reference", String(100), nullable=False),
    Column("total_amount", Numeric(12, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Order care (issue 12): when the merchant marked it shipped, and the carrier's tracking
    # page (an https URL, checked before it is stored). Marking twice changes nothing: the
    # first `shipped_at` stands, so the shopper is told once.
    Column("shipped_at", UTCDateTime, nullable=True),
    Column("tracking_url", String(500), nullable=True),
    # Offers by hashtag (issue 12): the offer this order redeemed and what it took off
    # (total_amount is after it). NULL: no offer applied.
    Column("offer_id", ForeignKey("offers.id", ondelete="SET NULL"), nullable=True),
    Column("discount_amount", Numeric(12, 2), nullable=True),
    # Orders and fulfilment (issue 14): the carrier named when it was marked shipped, and
    # when the merchant cancelled it (status `cancelled`; its payment voided or refunded).
    Column("carrier", String(100), nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Index("ix_orders_customer", "customer_id"),
    # The console's orders list: keyset pages newest first, per status, by shopper.
    Index("ix_orders_created", "created_at", "id"),
    Index("ix_orders_status_created", "status", "created_at", "id"),
    Index("ix_orders_email", "email"),
    # The console home's revenue per currency: summed over these entries, in currency order,
    # without reading every order's row (migration 0036).
    Index("ix_orders_currency_total", "currency", "total_amount"),
)

# A hold on units of a product (a checkout paying, later a live-sale claim). A hold counts
# in products.reserved while `held`; it ends released, expired or converted (sold).
reservations = Table(
    "reservations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", ForeignKey("products.product_id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    # Who holds it: "checkout:<key>", then "order:<id>" once sold.
    Column("holder", String(100), nullable=False),
    Column("reason", String(32), nullable=False),  # checkout | …
    # held | released | expired | converted, then returned (its order cancelled, issue 14)
    Column("status", String(16), nullable=False),
    Column("reserved_until", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("released_at", UTCDateTime, nullable=True),
    # True while held, NULL once ended: with the unique constraint below, one live hold per
    # holder and product (a retried checkout finds its hold) and any number of ended ones
    # (NULLs are distinct). A partial index would say it too, but its dialect options load
    # both SQL dialects whenever the schema is imported.
    Column("live", Boolean, nullable=True),
    UniqueConstraint("holder", "product_id", "live", name="uq_reservations_live_hold"),
    Index("ix_reservations_product_status", "product_id", "status"),
)

# hashcart's own record of each checkout's payment, keyed by the checkout key (the gateways'
# idempotency key): a retried checkout finds its authorisation instead of asking again.
payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("checkout_key", String(64), nullable=False, unique=True),
    Column("gateway", String(32), nullable=False),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    # authorising | authorised | declined | captured | voided | refunded
    Column("status", String(16), nullable=False),
    Column("reference", String(100), nullable=False),
    Column("message", Text, nullable=False),
    # True when capturing takes the money now (card); False when it is owed (invoice).
    Column("paid", Boolean, nullable=False),
    Column("order_id", ForeignKey("orders.id", ondelete="SET NULL"), nullable=True),
    # The gateway's answer when a capture, void or refund was refused.
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # A capture or void hashcart owes the gateway (its order was placed, or could not be):
    # capture | void, until it is done. The payment sweep (services/payment_retry) asks
    # again from `retry_at`; `retry_at` NULL with a step owed: it stopped after
    # `step_attempts` refusals, and the console shows it.
    Column("pending_step", String(16), nullable=True),
    Column("step_attempts", Integer, nullable=False, server_default="0"),
    Column("retry_at", UTCDateTime, nullable=True),
    Index("ix_payments_pending_step", "pending_step", "retry_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("quantity", Integer, nullable=False),
    # The post the line came from, so the funnel can count orders and revenue per post.
    Column("network", String(16), nullable=True),
    Column("post_id", String(300), nullable=True),
    # Order care (issue 12): the trigger post (the shopper's reply) that put the line in the
    # cart, when it came from social; `post_id` is the shoppable post it answered.
    Column("trigger_post_id", String(300), nullable=True),
    Index("ix_order_lines_post", "network", "post_id"),
    Index("ix_order_lines_order", "order_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# What the merchant changed in the console (trigger tags, shop hosts), over the settings file.
shop_config = Table(
    "shop_config",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# One reminder per cart (issue 14): a cart is a customer's lines since their last order
# (`after_order`: that order's id, 0 before any), and this key is taken in the transaction
# that queues its one `cart_reminder`, whichever channel it goes by.
cart_reminders = Table(
    "cart_reminders",
    metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("after_order", Integer, primary_key=True, autoincrement=False),
    Column("queued_at", UTCDateTime, nullable=False),
)

# The merchant's words (issue 14): a message template the merchant rewrote in the console,
# by template key (domain/message_templates); a key without a row has the default in code.
message_templates = Table(
    "message_templates",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("template", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


# --- Live networks: listeners, webhooks, OAuth links. ---

# Where each stream listener got to (Jetstream time_us, firehose seq, Mastodon last id…),
# saved after the events before it are committed, so a restart resumes without a gap.
stream_cursors = Table(
    "stream_cursors",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The newest commit revision (a TID) the engine committed for each Bluesky repository it read
# on a firehose, written in the batch's transaction (with the listener's cursor), so that after
# a restart an older or repeated commit is still ignored (atproto specs/sync).
repository_revisions = Table(
    "repository_revisions",
    metadata,
    Column("did", String(2048), primary_key=True),
    Column("rev", String(13), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Webhook deliveries already taken (networks deliver at least once), by their event id.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("event_id", String(300), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# Parents fetched through a network's API because no stream brought them: asked once each.
parent_fetches = Table(
    "parent_fetches",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("post_id", String(300), primary_key=True),
    # found | not_found | unanswered (every try failed: no answer, rate limits, server
    # errors, `parent_fetch_attempts` times; not asked again, as a post the network lacks)
    Column("outcome", String(16), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
)

# Short links followed to their target (NULL target: refused or dead, with the reason).
resolved_links = Table(
    "resolved_links",
    metadata,
    Column("url", String(2048), primary_key=True),
    Column("target", Text, nullable=True),
    Column("problem", Text, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=False),
)

# An OAuth sign-in under way: the state (stored as its SHA-256) ties the callback to the
# shopper who started it; the PKCE verifier and any DPoP key are encrypted.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("network", String(16), nullable=False),
    Column("server", Text, nullable=True),
    Column("secret_data", Text, nullable=False),  # encrypted JSON: verifier, DPoP key, …
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# hashcart's own registration as an OAuth client on a server (one per Mastodon server).
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("server", String(300), primary_key=True),
    Column("client_id", Text, nullable=False),
    Column("client_secret", Text, nullable=True),  # encrypted
    Column("created_at", UTCDateTime, nullable=False),
)

# A linked account's tokens, encrypted; gone with the link (unlink revokes them first).
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("link_id", ForeignKey("account_links.id", ondelete="CASCADE"), primary_key=True),
    Column("server", Text, nullable=True),
    Column("secret_data", Text, nullable=False),  # encrypted JSON: access, refresh, DPoP key
    Column("scope", Text, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# A merchant's "Connect" of the shop's own account under way (issue 14): the state (as its
# SHA-256) ties the callback to the merchant who started it; a table apart from shoppers'
# states, so a shop connect's callback can never link a shopper's account, nor the reverse.
shop_connect_states = Table(
    "shop_connect_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
    Column("network", String(16), nullable=False),
    Column("server", Text, nullable=True),
    Column("secret_data", Text, nullable=False),  # encrypted JSON: verifier, DPoP key, …
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# The shop's account connected by OAuth, one per network: who it is (stable id and handle)
# and where it signed in. Its tokens live where the network's parts read them (the Networks
# settings, sealed, and network_sessions), never here.
shop_connections = Table(
    "shop_connections",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("handle", Text, nullable=True),
    Column("server", Text, nullable=True),
    Column("scope", Text, nullable=True),
    Column("connected_at", UTCDateTime, nullable=False),
)

# The shop's own sessions on networks (a Bluesky app-password session), encrypted, so a
# restart does not log in again (createSession is limited to 30 per 5 minutes).
network_sessions = Table(
    "network_sessions",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("secret_data", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- payment gateways' records (issue 12: Stripe) -----------------------------------------

# A gateway's own customer for a shopper (Stripe `cus_…`), made once per shopper.
provider_customers = Table(
    "provider_customers",
    metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("gateway", String(32), primary_key=True),
    Column("provider_id", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("gateway", "provider_id", name="uq_provider_customers_provider"),
)

# The shopper's one saved payment method: the gateway's id, brand and last four digits only.
saved_payment_methods = Table(
    "saved_payment_methods",
    metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("gateway", String(32), nullable=False),
    Column("method_id", String(255), nullable=False),
    Column("brand", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
)

# The shopper's saved shipping address (issue 12), set on the account page or remembered at
# checkout: a buy with a post ships there (else to the latest order's address), and the
# checkout form starts from it. One per customer; the same fields as an order's.
saved_addresses = Table(
    "saved_addresses",
    metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("ship_name", Text, nullable=False),
    Column("ship_line1", Text, nullable=False),
    Column("ship_line2", Text, nullable=True),
    Column("ship_city", Text, nullable=False),
    Column("ship_postcode", String(32), nullable=False),
    Column("ship_country", String(2), nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
)

# What a gateway made for an idempotency key (a Stripe PaymentIntent), recorded before it
# moves money: a retry of the key finds it even where the provider forgets the key.
gateway_intents = Table(
    "gateway_intents",
    metadata,
    Column("idempotency_key", String(64), primary_key=True),
    Column("gateway", String(32), nullable=False),
    Column("intent_id", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# --- issue 14, i14-phone -------------------------------------------------------------------
# The handle the shop knows for an account whose posts come without one (Bluesky's Jetstream
# carries only DIDs): the shop's own accounts, recorded when the shop learns them (the demo
# records its brand's). The shop front shows the handle instead of a raw did:plc:... .
known_handles = Table(
    "known_handles",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("account_id", String(300), primary_key=True),
    Column("handle", Text, nullable=False),
    Column("learned_at", UTCDateTime, nullable=False),
)

# --- provider clean-ups owed (issue 12, i12-cards) -----------------------------------------
#
# What hashcart still has to ask a gateway to forget: a removed card to detach, a deleted
# shopper's provider customer to delete. Owed in the transaction that forgets them here, then
# asked at once and, while the provider does not answer, by the payment sweep. The row names
# only the provider's object (`pm_…`, `cus_…`), never the shopper, so it outlives the account.
gateway_cleanups = Table(
    "gateway_cleanups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("gateway", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("object_id", String(255), nullable=False),
    Column("owed_at", UTCDateTime, nullable=False),
    Column("retry_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("done_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("gateway", "action", "object_id", name="uq_gateway_cleanups_object"),
    Index("ix_gateway_cleanups_due", "done_at", "retry_at"),
)

# --- sign-up by emailed link (issue 14, i14-pages) ----------------------------------------

# A sign-up waits here until the address's owner follows the emailed link: the sign-up form
# answers the same whether or not the address has an account (its owner is emailed instead),
# and nobody takes over a customer the shop already had (`customers` without a password)
# without reading that customer's mail. Only the link's hash is kept.
sign_up_requests = Table(
    "sign_up_requests",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("name", String(200), nullable=True),
    Column("password_hash", Text, nullable=False),
    Column("next_path", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_sign_up_requests_expires_at", "expires_at"),
)

# --- buy with a post (issue 12) ---
# One `#buy` of a linked shopper: the quote (binding for the window), the stock held as
# "buy:<buy_key>", the one-time code, and what became of it. `open_code` is the code while
# it can still be confirmed (open, confirmed) and NULL after: unique, so no two requests
# that can still be confirmed share a code (NULLs are distinct), as `live` does for holds.
buy_requests = Table(
    "buy_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("network", String(16), nullable=False),
    Column("account_id", String(300), nullable=False),
    Column("account_handle", String(300), nullable=False),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Numeric(12, 2), nullable=False),
    Column("code", String(8), nullable=False),
    Column("open_code", String(8), nullable=True, unique=True),
    # The gateways' idempotency key for its payment (hashcart keeps key -> PaymentIntent).
    Column("buy_key", String(64), nullable=False, unique=True),
    # The saved card quoted: its gateway, the gateway's id for it, its last four digits.
    Column("gateway", String(32), nullable=False),
    Column("method_id", String(255), nullable=False),
    Column("card_last4", String(4), nullable=False),
    # open | confirmed | bought | declined | expired | handed_off (to the merchant's store)
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # The shoppable post the `#buy` replied to (the order's source post), the `#buy` itself,
    # and the `#confirm` that claimed it.
    Column("source_post_id", String(300), nullable=False),
    Column("trigger_post_id", String(300), nullable=False),
    Column("confirm_post_id", String(300), nullable=True),
    # While confirmed: when a settling process may take it (one that died mid-payment).
    Column("settle_after", UTCDateTime, nullable=True),
    Column("order_id", ForeignKey("orders.id", ondelete="SET NULL"), nullable=True),
    # The gateway's words on a decline.
    Column("message", Text, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # --- offers on buys (issue 12): the loaded offer the quote took off (NULL: none); the
    # request holds the load while open or confirmed. The offer tables come later in this
    # file, so these columns name them by string.
    Column("offer_id", ForeignKey("offers.id", ondelete="SET NULL"), nullable=True),
    Column("offer_load_id", ForeignKey("offer_loads.id", ondelete="SET NULL"), nullable=True),
    Column("discount_amount", Numeric(12, 2), nullable=True),
    Column("offer_label", Text, nullable=True),
    UniqueConstraint("network", "trigger_post_id", name="uq_buy_requests_trigger"),
    Index("ix_buy_requests_code", "code"),
    Index("ix_buy_requests_customer", "customer_id", "created_at"),
    Index("ix_buy_requests_status", "status", "settle_after"),
    Index("ix_buy_requests_offer_load", "offer_load_id"),
    Index("ix_buy_requests_source_post", "network", "source_post_id"),
)

# --- offers by hashtag (issue 12) ---------------------------------------------------------

# An offer a shopper loads by posting its tag. `tag_key` is the tag's normal form
# (domain/triggers.normalize_tag), unique: one offer per tag, whatever its case or width.
offers = Table(
    "offers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tag", String(64), nullable=False),
    Column("tag_key", String(256), nullable=False, unique=True),
    # Exactly one of the two: a percentage (0 < p <= 100) or an amount in `currency`.
    Column("percent_off", Numeric(7, 4), nullable=True),
    Column("amount_off", Numeric(12, 2), nullable=True),
    Column("currency", String(3), nullable=True),
    # The eligible product ids as a JSON list; NULL: every product.
    Column("product_ids", Text, nullable=True),
    Column("load_limit", Integer, nullable=True),  # NULL: no limit
    Column("expires_at", UTCDateTime, nullable=True),  # NULL: never
    Column("paused", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
)

# One account's load of an offer: `loaded` (on `customer_id`'s account), `pending` (the
# account was not linked yet: applied when it links, until `expires_at`), `expired` (it
# did not link in time) or `refused` (on linking, the offer was over or all taken).
# Once per account and offer; once per customer and offer (NULLs, the pending ones, are
# distinct); a load is redeemed by at most one order (the compare-and-set in store/offers).
offer_loads = Table(
    "offer_loads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("offer_id", ForeignKey("offers.id", ondelete="CASCADE"), nullable=False),
    Column("network", String(16), nullable=False),
    Column("account_id", String(300), nullable=False),
    Column("customer_id", ForeignKey("customers.id", ondelete="SET NULL"), nullable=True),
    Column("status", String(16), nullable=False),  # loaded | pending | expired | refused
    # The post that asked, its network's own time, and the post it answered (a reply to
    # the shop's offer post), for the funnel.
    Column("trigger_post_id", String(300), nullable=False),
    Column("parent_post_id", String(300), nullable=True),
    Column("posted_at", UTCDateTime, nullable=False),
    Column("loaded_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("redeemed_order_id", ForeignKey("orders.id", ondelete="SET NULL"), nullable=True),
    Column("redeemed_at", UTCDateTime, nullable=True),
    UniqueConstraint("offer_id", "network", "account_id", name="uq_offer_loads_account"),
    UniqueConstraint("offer_id", "customer_id", name="uq_offer_loads_customer"),
    Index("ix_offer_loads_customer", "customer_id", "status"),
    Index("ix_offer_loads_account", "network", "account_id", "status"),
    Index("ix_offer_loads_parent_post", "network", "parent_post_id"),
)

# What a store's webhooks said changed (issue 16: Shopify's products/update,
# inventory_levels/update, orders/create), once per delivery, waiting for the sync to take
# it (`taken_at` NULL until then). `details`: JSON of the ids and the order (store_changes).
store_changes = Table(
    "store_changes",
    metadata,
    Column("store", String(32), primary_key=True),
    Column("delivery_id", String(100), primary_key=True),
    Column("topic", String(64), nullable=False),
    Column("details", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("taken_at", UTCDateTime, nullable=True),
    Index("ix_store_changes_waiting", "store", "taken_at"),
)

# The merchant's own store (issue 16): the last catalog sync with it (one row a store), for
# the console and `hashcart store status`, and where the next "changes since" sync starts.
store_syncs = Table(
    "store_syncs",
    metadata,
    Column("store", String(32), primary_key=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("full_sync", Boolean, nullable=False, server_default="0"),
    Column("seen", Integer, nullable=False, server_default="0"),
    Column("changed", Integer, nullable=False, server_default="0"),
    Column("withdrawn", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
    Column("errors", Integer, nullable=False, server_default="0"),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_full_at", UTCDateTime, nullable=True),
    Column("orders_polled_at", UTCDateTime, nullable=True),
)

# A shopper's cart handed to the store to finish there: hashcart's key for it, the store's
# reference (Vendure's order code) and where the shopper went; the order, once it comes back.
store_handoffs = Table(
    "store_handoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("store", String(32), nullable=False),
    Column("reference", String(64), nullable=False, unique=True),
    Column("store_reference", String(200), nullable=False),
    Column("customer_id", ForeignKey("customers.id", ondelete="SET NULL"), nullable=True),
    Column("checkout_url", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("order_id", ForeignKey("orders.id", ondelete="SET NULL"), nullable=True),
    Column("store_state", String(64), nullable=True),
    UniqueConstraint("store", "store_reference", name="uq_store_handoffs_store_reference"),
)

# The lines of a handoff and the posts they came from: an order that comes back from the store
# gets its lines' posts from here, so the funnel counts it per post.
store_handoff_lines = Table(
    "store_handoff_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handoff_id", ForeignKey("store_handoffs.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("network", String(16), nullable=True),
    Column("post_id", String(300), nullable=True),
    Column("trigger_post_id", String(300), nullable=True),
    Index("ix_store_handoff_lines_handoff", "handoff_id"),
)

# A shopper's own account at the merchant's store, linked from their account page (issue 16):
# the store's customer session (Vendure's Shop API session token), sealed with the token key
# like every secret, so a handoff adds the lines to their own active order there.
store_customer_sessions = Table(
    "store_customer_sessions",
    metadata,
    Column("store", String(32), primary_key=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    # The email they signed in to the store with, as they typed it (shown on the account page).
    Column("store_email", String(320), nullable=False),
    Column("secret_data", Text, nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
)

# --- live sales (issue 13) ----------------------------------------------------------------

# A live sale: replies to any of its posts are claims on its items. `hold_hours`: how long a
# won item is held unpaid. Closed sales stay (their claims and invoices are kept), and a
# claim on a closed sale's post is answered `sale_closed`.
sales = Table(
    "sales",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # open | closed
    Column("hold_hours", Numeric(8, 3), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
)

# The posts a sale runs on; a post belongs to one sale.
sale_posts = Table(
    "sale_posts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sale_id", ForeignKey("sales.id", ondelete="CASCADE"), nullable=False),
    Column("network", String(16), nullable=False),
    Column("post_id", String(300), nullable=False),
    UniqueConstraint("network", "post_id", name="uq_sale_posts_post"),
    Index("ix_sale_posts_sale", "sale_id"),
)

# An item of a sale: its short number shown to viewers, the catalog product (a variant
# group's member: the claim's words pick the variant), the units this sale sells and how
# many one shopper may win (NULL: no limit). The settle step locks this row (FOR UPDATE on
# PostgreSQL) while it hands out the item's units, so concurrent settlers take turns.
sale_items = Table(
    "sale_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sale_id", ForeignKey("sales.id", ondelete="CASCADE"), nullable=False),
    Column("item_number", String(8), nullable=False),
    Column("product_id", String(200), nullable=False),
    Column("stock", Integer, nullable=False),
    Column("per_shopper_limit", Integer, nullable=True),
    # How many of its claims are waitlisted, kept by triggers on sale_claims
    # (store/waitlist_counts, migration 0035): a settle step places new waitlisted claims
    # by it instead of counting the waitlist.
    Column("waitlisted", Integer, nullable=False, server_default="0"),
    UniqueConstraint("sale_id", "item_number", name="uq_sale_items_number"),
)

# One shopper's invoice for one sale: the items they won, paid at once.
sale_invoices = Table(
    "sale_invoices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sale_id", ForeignKey("sales.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", ForeignKey("customers.id", ondelete="SET NULL"), nullable=True),
    Column("status", String(16), nullable=False),  # open | paid | void
    Column("created_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("order_id", ForeignKey("orders.id", ondelete="SET NULL"), nullable=True),
    UniqueConstraint("sale_id", "customer_id", name="uq_sale_invoices_shopper"),
)

# A reply to a sale post that names an item: a claim, a pass or a waitlist request. Once
# per (network, post id): a redelivered reply adds nothing. `posted_at` is the network's own
# time, the rank (with the post id); `status`: provisional (inside its settle window),
# held (won, in its invoice, until `hold_until`), paid, waitlisted, released (passed, or
# its hold ran out), refused (`refusal` says why: an unknown item, the limit, a closed
# sale) or done (a pass or waitlist request acted on).
sale_claims = Table(
    "sale_claims",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sale_id", ForeignKey("sales.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", ForeignKey("sale_items.id", ondelete="CASCADE"), nullable=True),
    Column("network", String(16), nullable=False),
    Column("post_id", String(300), nullable=False),
    Column("account_id", String(300), nullable=False),
    Column("handle", String(300), nullable=False),
    Column("action", String(16), nullable=False),  # claim | pass | waitlist
    Column("item_number", String(8), nullable=False),
    Column("words", Text, nullable=True),
    Column("quantity", Integer, nullable=False),
    Column("posted_at", UTCDateTime, nullable=False),
    Column("arrived_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("refusal", String(32), nullable=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="SET NULL"), nullable=True),
    # The variant won (the item's product, or the member the words picked).
    Column("product_id", String(200), nullable=True),
    Column("settled_at", UTCDateTime, nullable=True),
    Column("hold_until", UTCDateTime, nullable=True),
    # When a held claim's `invoice_due` reminder is owed (NULL: sent, or none owed).
    Column("remind_at", UTCDateTime, nullable=True),
    Column("invoice_id", ForeignKey("sale_invoices.id", ondelete="SET NULL"), nullable=True),
    UniqueConstraint("network", "post_id", name="uq_sale_claims_post"),
    # An item's claims by status, in time: the settle step's due claims and waitlist places.
    Index("ix_sale_claims_item", "item_id", "status", "posted_at"),
    # ix_sale_claims_status and ix_sale_claims_invoice: partial, made by SQL after the
    # tables (CLAIM_PARTIAL_INDEXES).
)

# Partial indexes of the claims (migration 0035): a burst's claim is written twice (inserted
# provisional, updated waitlisted; a status change is never a HOT update), and each write
# made an entry in every index. Most claims end waitlisted and never win, so the index of
# statuses keeps the statuses its readers ask for (the due claims, the holds to review, the
# sale page's held and paid) and the invoices' index only claims in an invoice: a loser
# makes 7 index entries instead of 10. SQLite cannot prove `status = 'held'` implies an IN
# list, so its index of statuses stays whole. Made by plain SQL after the tables, as the
# posts' sort indexes are (an Index's `postgresql_where` loads SQLAlchemy's PostgreSQL
# dialect into every process). The readers write the status as a literal (store/sales
# `_status_is`): a prepared statement's generic plan cannot use a partial index.
CLAIM_STATUS_INDEXED = ("provisional", "held", "paid")


def claim_partial_indexes(dialect: str) -> tuple[str, ...]:
    """The claims' partial indexes as `dialect` makes them (same names and columns)."""
    statuses = ", ".join(f"'{status}'" for status in CLAIM_STATUS_INDEXED)
    where = f" WHERE status IN ({statuses})" if dialect == "postgresql" else ""
    return (
        f"CREATE INDEX ix_sale_claims_status ON sale_claims (status, posted_at){where}",
        "CREATE INDEX ix_sale_claims_invoice ON sale_claims (invoice_id) "
        "WHERE invoice_id IS NOT NULL",
    )


# The live claim board's log (issue 13): one row each time a claim settles or changes, in
# the transaction that changes it (store/sales.StoredSales.update_claim, mark_invoice_paid).
# `kind`: won | promoted | waitlisted | released | refused | passed | paid. The board's
# server-sent events read it by id, after the last one a browser saw.
sale_claim_events = Table(
    "sale_claim_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sale_id", ForeignKey("sales.id", ondelete="CASCADE"), nullable=False),
    Column("claim_id", ForeignKey("sale_claims.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Index("ix_sale_claim_events_sale", "sale_id", "id"),
)


# --- kept funnel figures (issue 14, pages that stay fast on a big shop) -------------------

# The funnel's figures of one shoppable post, kept so a page sorted by a count, and the whole
# shop's totals, are read from an index instead of worked out from every reply, line, buy and
# load. Written only by views/funnel_keeping.refresh, from the rows themselves (the same grouped
# queries as a page's), for the posts `post_funnel_changes` names. A row per shoppable post
# (a post with a shop link, no parent, a product): its absence is a post that is not one.
_FUNNEL_COUNTS = (
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
post_funnel = Table(
    "post_funnel",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("post_id", String(300), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("triggers", Integer, nullable=False),
    Column("valid", Integer, nullable=False),
    Column("carted", Integer, nullable=False),
    Column("wishlisted", Integer, nullable=False),
    # Waiting intents not yet expired at the refresh, and when the first of them expires
    # (NULL: none): a refresh recounts every post whose moment has come.
    Column("pending", Integer, nullable=False),
    Column("pending_until", UTCDateTime, nullable=True),
    Column("orders", Integer, nullable=False),
    Column("units", Integer, nullable=False),
    # Per currency as JSON ({"EUR": "12.50"}); the sum of them in cents, only to sort by.
    Column("revenue", Text, nullable=False),
    Column("revenue_cents", BigInteger, nullable=False),
    Column("confirmed_elsewhere", Integer, nullable=False),
    Column("buys_requested", Integer, nullable=False),
    Column("buys_confirmed", Integer, nullable=False),
    Column("buy_revenue", Text, nullable=False),
    Column("buy_revenue_cents", BigInteger, nullable=False),
    Column("offer_loads", Integer, nullable=False),
    Column("offer_redemptions", Integer, nullable=False),
    # The post's products as JSON [[product id, title], ...], and their titles casefolded
    # (the products column's sort; cut at 400 characters).
    Column("products", Text, nullable=False),
    Column("products_key", String(400), nullable=False),
    # One index per sortable figure, for keyset paging: (figure, created_at, network, post_id).
    *(
        Index(f"ix_post_funnel_{name}", name, "created_at", "network", "post_id")
        for name in _FUNNEL_COUNTS
    ),
    Index("ix_post_funnel_pending_until", "pending_until"),
    # The shop front's `?page=N` links: the key at an OFFSET read from these entries alone
    # (views/shopfront), not from the posts' rows.
    Index("ix_post_funnel_created", "created_at", "network", "post_id"),
)

# The whole shop's figures per network: the sums of post_funnel's rows, moved by each refresh
# by the difference it made (the distinct orders are counted when read, see views/funnel_kept).
post_funnel_totals = Table(
    "post_funnel_totals",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("posts", BigInteger, nullable=False),
    Column("triggers", BigInteger, nullable=False),
    Column("valid", BigInteger, nullable=False),
    Column("carted", BigInteger, nullable=False),
    Column("wishlisted", BigInteger, nullable=False),
    Column("pending", BigInteger, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("revenue", Text, nullable=False),
    Column("confirmed_elsewhere", BigInteger, nullable=False),
    Column("buys_requested", BigInteger, nullable=False),
    Column("buys_confirmed", BigInteger, nullable=False),
    Column("buy_revenue", Text, nullable=False),
    Column("offer_loads", BigInteger, nullable=False),
    Column("offer_redemptions", BigInteger, nullable=False),
)

# The orders with a line from each shoppable post (views/funnel_keeping._keep_orders): the
# whole shop's distinct orders (an order with lines from two posts counts once) are counted
# on this, a row per (post, order), instead of joining every order line to the posts.
post_funnel_orders = Table(
    "post_funnel_orders",
    metadata,
    Column("network", String(16), primary_key=True),
    Column("post_id", String(300), primary_key=True),
    Column("order_id", Integer, primary_key=True),
    Index("ix_post_funnel_orders_order", "order_id", "network"),
    Index("ix_post_funnel_orders_network", "network", "order_id"),
)

# Which posts' kept figures a write may have changed, written by database triggers
# (store/funnel_marks) in the writing transaction itself, so no write path can forget one.
# `source` says what `ref` names: post (network, post id; a web form "x/1" under network
# "web"), trigger (a trigger post: its parent), fallback (an outbox dedupe key of a fallback:
# its failed reply's trigger's parent), product (a product id: every post naming it).
post_funnel_changes = Table(
    "post_funnel_changes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("source", String(16), nullable=False),
    Column("network", String(16), nullable=False),
    Column("ref", String(400), nullable=False),
)


def _create_funnel_marks(target: MetaData, connection: Connection, **_: object) -> None:
    from hashcart.store.funnel_marks import create_marks
    from hashcart.store.waitlist_counts import create_waitlist_counts

    for statement in POSTS_SORT_INDEXES:
        connection.exec_driver_sql(statement)
    for statement in claim_partial_indexes(connection.dialect.name):
        connection.exec_driver_sql(statement)
    create_marks(connection)
    create_waitlist_counts(connection)


# The posts' sort indexes, the claims' partial indexes, the triggers that fill
# post_funnel_changes and those that count the waitlists come with the tables (and with
# migrations 0031 and 0035).
event.listen(metadata, "after_create", _create_funnel_marks)
