"""Reads and writes inside one transaction. The unique constraints decide exactly-once;
every `add_*`/`record_*` method says whether it changed anything."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, literal_column, select, update
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

    def _insert_ignoring_conflicts(self, table: Table, values: dict[str, Any]) -> bool:
        """INSERT … ON CONFLICT DO NOTHING; True if a row went in.

        RETURNING says so on both databases (psycopg reports no rowcount for this statement).
        """
        statement: Insert
        if self._dialect == "postgresql":
            statement = postgresql.insert(table).values(values).on_conflict_do_nothing()
        else:
            statement = sqlite.insert(table).values(values).on_conflict_do_nothing()
        inserted: Any = self.connection.execute(statement.returning(literal_column("1"))).first()
        return inserted is not None

    # posts -------------------------------------------------------------------------------

    def add_post(self, values: dict[str, Any], product_ids: Sequence[str]) -> bool:
        """Remember a post (first version wins); False if it was known already."""
        if not self._insert_ignoring_conflicts(t.posts, values):
            return False
        if product_ids:
            self.connection.execute(
                t.post_products.insert(),
                [
                    {
                        "network": values["network"],
                        "post_id": values["post_id"],
                        "position": position,
                        "product_id": product_id,
                    }
                    for position, product_id in enumerate(product_ids, 1)
                ],
            )
        return True

    def post(self, network: Network, post_id: str) -> StoredPost | None:
        row = self.connection.execute(
            select(t.posts).where(t.posts.c.network == network, t.posts.c.post_id == post_id)
        ).first()
        return None if row is None else _stored_post(row._mapping)

    def post_product_ids(self, network: Network, post_id: str) -> list[str]:
        rows = self.connection.execute(
            select(t.post_products.c.product_id)
            .where(t.post_products.c.network == network, t.post_products.c.post_id == post_id)
            .order_by(t.post_products.c.position)
        )
        return [row[0] for row in rows]

    def triggers_waiting_for(self, network: Network, parent_id: str) -> list[StoredPost]:
        """Trigger posts that reply to `parent_id` and have not acted yet, oldest first."""
        acted = select(t.actions.c.id).where(
            t.actions.c.network == t.posts.c.network,
            t.actions.c.trigger_post_id == t.posts.c.post_id,
        )
        rows = self.connection.execute(
            select(t.posts)
            .where(
                t.posts.c.network == network,
                t.posts.c.parent_id == parent_id,
                t.posts.c.list_kind.is_not(None),
                ~acted.exists(),
            )
            .order_by(t.posts.c.created_at, t.posts.c.post_id)
        )
        return [_stored_post(row._mapping) for row in rows]

    def record_deletion(self, network: Network, post_id: str) -> None:
        self._insert_ignoring_conflicts(t.post_deletions, {"network": network, "post_id": post_id})
        self.connection.execute(
            update(t.posts)
            .where(t.posts.c.network == network, t.posts.c.post_id == post_id)
            .values(text=None)
        )

    def is_deleted(self, network: Network, post_id: str) -> bool:
        row = self.connection.execute(
            select(t.post_deletions.c.post_id).where(
                t.post_deletions.c.network == network, t.post_deletions.c.post_id == post_id
            )
        ).first()
        return row is not None

    # actions, carts, wish lists ------------------------------------------------------------

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
            update(t.actions)
            .where(t.actions.c.network == network, t.actions.c.trigger_post_id == trigger_post_id)
            .values(outcome=outcome, customer_id=customer_id, product_id=product_id)
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
        row = self.connection.execute(
            select(t.account_links.c.customer_id).where(
                t.account_links.c.network == network, t.account_links.c.account_id == account_id
            )
        ).first()
        return None if row is None else int(row[0])

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


@contextmanager
def transaction(engine: Engine) -> Iterator[Repository]:
    """One unit of work: everything inside commits together or not at all."""
    with engine.begin() as connection:
        yield Repository(connection)
