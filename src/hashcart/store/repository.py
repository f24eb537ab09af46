"""Reads and writes inside one transaction. The unique constraints decide exactly-once;
every `add_*`/`record_*` method says whether it changed anything."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Table,
    bindparam,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from hashcart.domain.messages import OutboundMessage
from hashcart.domain.posts import Network
from hashcart.store import schema as t


@dataclass(frozen=True, slots=True)
class StoredPost:
    network: Network
    post_id: str
    author_id: str
    author_handle: str
    created_at: datetime
    has_shop_link: bool
    parent_id: str | None
    list_kind: str | None
    quantity: int | None
    position: int | None


@dataclass(frozen=True, slots=True)
class ProductInfo:
    product_id: str
    title: str
    availability: str


@dataclass(frozen=True, slots=True)
class PendingIntent:
    id: int
    network: Network
    account_id: str
    account_handle: str
    trigger_post_id: str
    list_kind: str
    product_id: str
    quantity: int
    trigger_at: datetime
    expires_at: datetime


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Repository:
    """The store as the services see it, bound to one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._dialect = connection.dialect.name
        # Read-through memos, valid for this transaction only: a post's products never
        # change once stored (its first version wins), and links change only through
        # add_link below, which keeps the memo current.
        self._products_of: dict[tuple[Network, str], list[str]] = {}
        self._customer_of: dict[tuple[Network, str], int | None] = {}

    def _insert_ignoring_conflicts(self, table: Table, values: dict[str, Any]) -> bool:
        """INSERT … ON CONFLICT DO NOTHING; True if a row went in."""
        statement = _insert_ignoring(self._dialect, table.name)
        return self.connection.execute(statement, values).first() is not None

    # posts -------------------------------------------------------------------------------

    def add_posts(
        self, rows: Sequence[dict[str, Any]], products: dict[tuple[Network, str], list[str]]
    ) -> set[tuple[Network, str]]:
        """Remember posts (the first version wins): one statement for the whole batch.

        Returns the keys of the posts that were new; `products` lists each post's products
        in the order its links name them. Keys in `rows` must be distinct.
        """
        if not rows:
            return set()
        returned = self.connection.execute(_insert_posts(self._dialect), list(rows))
        inserted = {(Network(row[0]), row[1]) for row in returned}
        for key in inserted:
            self._products_of.pop(key, None)
        links = [
            {"network": network, "post_id": post_id, "position": position, "product_id": product}
            for network, post_id in inserted
            for position, product in enumerate(products.get((network, post_id), ()), 1)
        ]
        if links:
            self.connection.execute(t.post_products.insert(), links)
        return inserted

    def post(self, network: Network, post_id: str) -> StoredPost | None:
        row = self.connection.execute(_POST, {"network": network, "post_id": post_id}).first()
        return None if row is None else _stored_post(row._mapping)

    def post_product_ids(self, network: Network, post_id: str) -> list[str]:
        key = (network, post_id)
        if key not in self._products_of:
            rows = self.connection.execute(_POST_PRODUCTS, {"network": network, "post_id": post_id})
            self._products_of[key] = [row[0] for row in rows]
        return self._products_of[key]

    def existing_posts(self, keys: Sequence[tuple[Network, str]]) -> set[tuple[Network, str]]:
        """Which of these posts are stored."""
        found: set[tuple[Network, str]] = set()
        for network, post_ids in _by_network(keys):
            rows = self.connection.execute(_POSTS_AMONG, {"network": network, "post_ids": post_ids})
            found.update((network, row[0]) for row in rows)
        return found

    def deleted_among(self, keys: Sequence[tuple[Network, str]]) -> set[tuple[Network, str]]:
        """Which of these posts their authors deleted (deletions may come first)."""
        found: set[tuple[Network, str]] = set()
        for network, post_ids in _by_network(keys):
            rows = self.connection.execute(
                _DELETIONS_AMONG, {"network": network, "post_ids": post_ids}
            )
            found.update((network, row[0]) for row in rows)
        return found

    def triggers_waiting_for_any(
        self, keys: Sequence[tuple[Network, str]]
    ) -> dict[tuple[Network, str], list[StoredPost]]:
        """Trigger posts not acted on yet whose parent is one of these posts, by parent."""
        found: dict[tuple[Network, str], list[StoredPost]] = {}
        for network, post_ids in _by_network(keys):
            rows = self.connection.execute(
                _WAITING_FOR_ANY, {"network": network, "parent_ids": post_ids}
            )
            for row in rows:
                post = _stored_post(row._mapping)
                assert post.parent_id is not None
                found.setdefault((network, post.parent_id), []).append(post)
        return found

    def record_deletion(self, network: Network, post_id: str) -> None:
        self._insert_ignoring_conflicts(t.post_deletions, {"network": network, "post_id": post_id})
        self.connection.execute(_ERASE_TEXT, {"where_network": network, "where_post_id": post_id})

    def record_action(
        self,
        network: Network,
        trigger_post_id: str,
        outcome: str,
        at: datetime,
        customer_id: int | None = None,
        product_id: str | None = None,
    ) -> bool:
        """Claim the trigger's one action; False means it acted before."""
        return self._insert_ignoring_conflicts(
            t.actions,
            {
                "network": network,
                "trigger_post_id": trigger_post_id,
                "outcome": outcome,
                "customer_id": customer_id,
                "product_id": product_id,
                "created_at": at,
            },
        )

    def set_action_outcome(
        self,
        network: Network,
        trigger_post_id: str,
        outcome: str,
        customer_id: int | None,
        product_id: str | None,
    ) -> None:
        self.connection.execute(
            _SET_OUTCOME,
            {
                "where_network": network,
                "where_trigger_post_id": trigger_post_id,
                "set_outcome": outcome,
                "set_customer_id": customer_id,
                "set_product_id": product_id,
            },
        )

    def add_to_list(
        self,
        list_kind: str,
        customer_id: int,
        product_id: str,
        quantity: int,
        network: Network,
        post_id: str,
        at: datetime,
    ) -> bool:
        """Add a cart line or wish-list entry; False if the product was there already."""
        table = t.cart_lines if list_kind == "cart" else t.wishlist_entries
        return self._insert_ignoring_conflicts(
            table,
            {
                "customer_id": customer_id,
                "product_id": product_id,
                "quantity": quantity,
                "network": network,
                "post_id": post_id,
                "created_at": at,
            },
        )

    # customers and links ----------------------------------------------------------------

    def customer_for_account(self, network: Network, account_id: str) -> int | None:
        key = (network, account_id)
        if key not in self._customer_of:
            row = self.connection.execute(
                _LINKED_CUSTOMER, {"network": network, "account_id": account_id}
            ).first()
            self._customer_of[key] = None if row is None else int(row[0])
        return self._customer_of[key]

    def customer_id(self, email: str) -> int | None:
        row = self.connection.execute(
            select(t.customers.c.id).where(t.customers.c.email == email)
        ).first()
        return None if row is None else int(row[0])

    def add_customer(self, email: str, name: str | None, at: datetime) -> bool:
        return self._insert_ignoring_conflicts(
            t.customers, {"email": email, "name": name, "created_at": at}
        )

    def add_link(
        self,
        customer_id: int,
        network: Network,
        account_id: str,
        handle: str | None,
        at: datetime,
    ) -> bool:
        self._customer_of.pop((network, account_id), None)
        return self._insert_ignoring_conflicts(
            t.account_links,
            {
                "customer_id": customer_id,
                "network": network,
                "account_id": account_id,
                "handle": handle,
                "created_at": at,
            },
        )

    # pending intents --------------------------------------------------------------------

    def add_pending_intent(self, values: dict[str, Any]) -> bool:
        return self._insert_ignoring_conflicts(t.pending_intents, {**values, "status": "waiting"})

    def waiting_intents(self, network: Network, account_id: str) -> list[PendingIntent]:
        """The account's waiting intents in the order the shopper made them."""
        rows = self.connection.execute(
            select(t.pending_intents)
            .where(
                t.pending_intents.c.network == network,
                t.pending_intents.c.account_id == account_id,
                t.pending_intents.c.status == "waiting",
            )
            .order_by(t.pending_intents.c.trigger_at, t.pending_intents.c.trigger_post_id)
        )
        return [_pending_intent(row._mapping) for row in rows]

    def set_intent_status(self, intent_id: int, status: str) -> None:
        self.connection.execute(
            update(t.pending_intents)
            .where(t.pending_intents.c.id == intent_id)
            .values(status=status)
        )

    def claim_link_notice(self, network: Network, account_id: str, day: int) -> bool:
        """True for the first link_needed of this account on this day."""
        return self._insert_ignoring_conflicts(
            t.link_notices, {"network": network, "account_id": account_id, "day": day}
        )

    # catalog ----------------------------------------------------------------------------

    def products(self) -> Iterator[tuple[str, str, str, str]]:
        """(product_id, title, link, availability) for the whole catalog."""
        rows = self.connection.execute(
            select(
                t.products.c.product_id,
                t.products.c.title,
                t.products.c.link,
                t.products.c.availability,
            ).order_by(t.products.c.product_id)
        )
        for row in rows:
            yield row[0], row[1], row[2], row[3]

    def upsert_products(self, rows: Iterable[dict[str, Any]]) -> int:
        values = list(rows)
        if not values:
            return 0
        statement: Any
        if self._dialect == "postgresql":
            statement = postgresql.insert(t.products)
        else:
            statement = sqlite.insert(t.products)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[t.products.c.product_id],
            set_={
                name: excluded[name]
                for name in (
                    "title",
                    "link",
                    "price_amount",
                    "currency",
                    "availability",
                    "updated_at",
                )
            },
        )
        self.connection.execute(statement, values)
        return len(values)

    # outbox and dead letters ------------------------------------------------------------

    def queue_message(self, message: OutboundMessage, at: datetime) -> bool:
        return self._insert_ignoring_conflicts(
            t.outbox,
            {
                "network": message.network,
                "account_id": message.account_id,
                "in_reply_to": message.in_reply_to,
                "reason": message.reason,
                "text": message.text,
                "dedupe_key": message.dedupe_key,
                "status": "queued",
                "created_at": at,
            },
        )

    def add_dead_letter(
        self, source: str, line: int, reason: str, excerpt: str, at: datetime
    ) -> None:
        self.connection.execute(
            t.dead_letters.insert().values(
                source=source, line=line, reason=reason, excerpt=excerpt, created_at=at
            )
        )


def _stored_post(row: Any) -> StoredPost:
    return StoredPost(
        network=Network(row["network"]),
        post_id=row["post_id"],
        author_id=row["author_id"],
        author_handle=row["author_handle"],
        created_at=_aware(row["created_at"]),
        has_shop_link=bool(row["has_shop_link"]),
        parent_id=row["parent_id"],
        list_kind=row["list_kind"],
        quantity=row["quantity"],
        position=row["position"],
    )


def _pending_intent(row: Any) -> PendingIntent:
    return PendingIntent(
        id=row["id"],
        network=Network(row["network"]),
        account_id=row["account_id"],
        account_handle=row["account_handle"],
        trigger_post_id=row["trigger_post_id"],
        list_kind=row["list_kind"],
        product_id=row["product_id"],
        quantity=row["quantity"],
        trigger_at=_aware(row["trigger_at"]),
        expires_at=_aware(row["expires_at"]),
    )


@functools.cache
def _insert_ignoring(dialect: str, table_name: str) -> Insert:
    """One statement object per table, built once: SQLAlchemy then compiles it once too."""
    table = t.metadata.tables[table_name]
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_nothing().returning(literal_column("1"))


@functools.cache
def _insert_posts(dialect: str) -> Insert:
    insert = postgresql.insert(t.posts) if dialect == "postgresql" else sqlite.insert(t.posts)
    return insert.on_conflict_do_nothing().returning(t.posts.c.network, t.posts.c.post_id)


# The hot path's statements, built once with bound parameters (building a statement per
# call costs more than running it).
_KEY: tuple[Any, Any] = (bindparam("network"), bindparam("post_id"))
_POST = select(t.posts).where(t.posts.c.network == _KEY[0], t.posts.c.post_id == _KEY[1])
_POST_PRODUCTS = (
    select(t.post_products.c.product_id)
    .where(t.post_products.c.network == _KEY[0], t.post_products.c.post_id == _KEY[1])
    .order_by(t.post_products.c.position)
)
# An UPDATE may not bind a parameter named like a column it sets: hence the `where_` names.
_ERASE_TEXT = (
    update(t.posts)
    .where(
        t.posts.c.network == bindparam("where_network"),
        t.posts.c.post_id == bindparam("where_post_id"),
    )
    .values(text=None)
)
_SET_OUTCOME = (
    update(t.actions)
    .where(
        t.actions.c.network == bindparam("where_network"),
        t.actions.c.trigger_post_id == bindparam("where_trigger_post_id"),
    )
    .values(
        outcome=bindparam("set_outcome"),
        customer_id=bindparam("set_customer_id"),
        product_id=bindparam("set_product_id"),
    )
)
_LINKED_CUSTOMER = select(t.account_links.c.customer_id).where(
    t.account_links.c.network == bindparam("network"),
    t.account_links.c.account_id == bindparam("account_id"),
)


_NOT_ACTED = ~(
    select(t.actions.c.id)
    .where(
        t.actions.c.network == t.posts.c.network,
        t.actions.c.trigger_post_id == t.posts.c.post_id,
    )
    .exists()
)
_WAITING_FOR_ANY = (
    select(t.posts)
    .where(
        t.posts.c.network == bindparam("network"),
        t.posts.c.parent_id.in_(bindparam("parent_ids", expanding=True)),
        t.posts.c.list_kind.is_not(None),
        _NOT_ACTED,
    )
    .order_by(t.posts.c.created_at, t.posts.c.post_id)
)
_POSTS_AMONG = select(t.posts.c.post_id).where(
    t.posts.c.network == bindparam("network"),
    t.posts.c.post_id.in_(bindparam("post_ids", expanding=True)),
)
_DELETIONS_AMONG = select(t.post_deletions.c.post_id).where(
    t.post_deletions.c.network == bindparam("network"),
    t.post_deletions.c.post_id.in_(bindparam("post_ids", expanding=True)),
)
# SQLite allows 32,766 bound parameters; stay far below.
_IN_CHUNK = 500


def _by_network(keys: Sequence[tuple[Network, str]]) -> Iterator[tuple[Network, list[str]]]:
    """The keys' post ids grouped by network, in chunks small enough to bind."""
    grouped: dict[Network, list[str]] = {}
    for network, post_id in keys:
        grouped.setdefault(network, []).append(post_id)
    for network, post_ids in grouped.items():
        for start in range(0, len(post_ids), _IN_CHUNK):
            yield network, post_ids[start : start + _IN_CHUNK]


@contextmanager
def transaction(engine: Engine) -> Iterator[Repository]:
    """One unit of work: everything inside commits together or not at all."""
    with engine.begin() as connection:
        yield Repository(connection)
