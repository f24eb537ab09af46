"""Reads and writes inside one transaction. The unique constraints decide exactly-once;
every `add_*`/`record_*` method says whether it changed anything."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Table,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)

from hashcart.domain.carts import ListKind
from hashcart.domain.digests import digest_of
from hashcart.domain.messages import OutboundMessage
from hashcart.domain.order_care import CustomerOrders
from hashcart.domain.posts import Network
from hashcart.domain.storable import storable_text
from hashcart.ports import (
    EMAIL_NETWORK,
    Contact,
    Email,
    ListEntry,
    PendingIntent,
    ProductInfo,
    StoredLinkCode,
    StoredPost,
    WaitingCart,
)
from hashcart.store import keyed_reads as keyed
from hashcart.store import order_care, stock_counts
from hashcart.store import schema as t
from hashcart.store.buys import StoredBuys
from hashcart.store.database import write_transaction
from hashcart.store.forget import Forgotten, forget_network_account
from hashcart.store.keyed_reads import read_keyed
from hashcart.store.offers import StoredOffers
from hashcart.store.sales import StoredSales

# The dialects' INSERT … ON CONFLICT helpers live in store/statements (a leaf module, so the
# store's other modules can use them without importing this one); they are re-exported here.
from hashcart.store.statements import (
    dialect_insert,
    insert_ignoring,
    insert_rows_ignoring,
    json_records,
    planned_count,
    records_of,
    upsert,
)

# The table of each list a shopper has.
LIST_TABLES: dict[ListKind, Table] = {"cart": t.cart_lines, "wishlist": t.wishlist_entries}


__all__ = [
    "Contact",
    "ListEntry",
    "PendingIntent",
    "ProductInfo",
    "Repository",
    "StoredLinkCode",
    "StoredPost",
    "dialect_insert",
    "digest_of",
    "insert_ignoring",
    "transaction",
    "upsert",
]


class Repository:
    """The store as the services see it (ports.Repository), bound to one open transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._dialect = connection.dialect.name

    def serialize_writers(self) -> None:
        """Make concurrent engine writers take turns, until this transaction ends.

        A reply and its parent may reach two processes at once: each would miss the other's
        uncommitted post, and the reply would wait forever. SQLite's BEGIN IMMEDIATE already
        lets one writer in at a time; PostgreSQL gets a transaction-scoped advisory lock.
        """
        if self._dialect == "postgresql":
            self.connection.execute(_TAKE_ENGINE_LOCK)

    def take_post_turns(
        self, posts: Sequence[tuple[Network, str]], parents: Sequence[tuple[Network, str]]
    ) -> None:
        """Share the writers' turn with other batches that do the same, holding only these
        posts until this transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE still lets
        one writer in at a time).

        A reply and its parent reach two processes at once: the batch storing the parent
        holds the parent's key alone (`posts`: every post it stores), the batch whose reply
        has not found its parent shares the parent's key (`parents`). One of the two then
        waits for the other's commit and sees its post, so the reply never waits forever;
        replies to one parent share its key and never wait for each other (a parent stored
        already needs no key: it is committed). The keys are
        taken in one sorted sweep, so two batches never wait for each other in a circle;
        `serialize_writers` (linking, checkout, buying, and the batches that need it) still
        waits for every sharer to end, and they for it."""
        if self._dialect != "postgresql":
            return
        if not posts and not parents:
            self.connection.execute(_SHARE_ENGINE_LOCK)
            return
        # One statement (it was three: the engine's lock, which parents are stored, the
        # keys): the engine's lock first, then each key in sorted order, a parent stored
        # already left out (it is committed: only the missing ones can race). Its snapshot
        # is taken before it waits for the engine's lock, so a parent committed meanwhile
        # is still locked, shared: a key more, never one less.
        records = {
            (str(network), post_id): {
                "network": str(network),
                "id": post_id,
                "key": _post_key(network, post_id),
                "alone": False,
            }
            for network, post_id in parents
        }
        for network, post_id in posts:
            records[(str(network), post_id)] = {
                "network": str(network),
                "id": post_id,
                "key": _post_key(network, post_id),
                "alone": True,
            }
        self.connection.execute(
            _TAKE_TURN_AND_POST_KEYS,
            {"keys": records_of(records.values()), "count": planned_count(len(records))},
        )

    def _insert_ignoring_conflicts(self, table: Table, values: dict[str, Any]) -> bool:
        """INSERT … ON CONFLICT DO NOTHING; True if a row went in."""
        statement = insert_ignoring(self._dialect, table.name)
        return self.connection.execute(statement, values).first() is not None

    def forget_network_account(self, network: Network, account_id: str) -> Forgotten:
        """The account is gone (deleted, taken down, the app revoked): store/forget.py."""
        return forget_network_account(self.connection, network, account_id)

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
        returned = insert_rows_ignoring(self.connection, t.posts, rows, ("network", "post_id"))
        inserted = {(Network(row[0]), row[1]) for row in returned}
        # Each link carries its post's time: a product's page reads its newest posts by it.
        posted = {(row["network"], row["post_id"]): row["created_at"] for row in rows}
        links = [
            {
                "network": network,
                "post_id": post_id,
                "position": position,
                "product_id": product,
                "created_at": posted[(network, post_id)],
            }
            for network, post_id in inserted
            for position, product in enumerate(products.get((network, post_id), ()), 1)
        ]
        if links:
            self.connection.execute(t.post_products.insert(), links)
        return inserted

    def products_of_posts(
        self, keys: Sequence[tuple[Network, str]]
    ) -> dict[tuple[Network, str], list[str]]:
        """Each stored post's products, in the order its links name them."""
        found: dict[tuple[Network, str], list[str]] = {}
        if self._dialect == "postgresql":
            for network, post_id, product_id in read_keyed(
                self.connection, keyed.PRODUCTS_OF_POSTS, keys
            ):
                found.setdefault((Network(network), post_id), []).append(product_id)
            return found
        for network, post_ids in _by_network(keys):
            rows = self.connection.execute(
                _PRODUCTS_OF_POSTS, {"network": network, "post_ids": post_ids}
            )
            for post_id, product_id in rows:
                found.setdefault((network, post_id), []).append(product_id)
        return found

    def existing_posts(self, keys: Sequence[tuple[Network, str]]) -> set[tuple[Network, str]]:
        """Which of these posts are stored."""
        return self._keys_among(keyed.POSTS_AMONG, _POSTS_AMONG, keys)

    def deleted_among(self, keys: Sequence[tuple[Network, str]]) -> set[tuple[Network, str]]:
        """Which of these posts their authors deleted (deletions may come first)."""
        return self._keys_among(keyed.DELETIONS_AMONG, _DELETIONS_AMONG, keys)

    def _keys_among(
        self, on_postgresql: keyed.KeyedRead, by_network: Any, keys: Sequence[tuple[Network, str]]
    ) -> set[tuple[Network, str]]:
        """Which of these keys a table holds: one keyed read on PostgreSQL (store/keyed_reads),
        a statement a network (`by_network`, binding `network` and `post_ids`) elsewhere."""
        if self._dialect == "postgresql":
            held = read_keyed(self.connection, on_postgresql, keys)
            return {(Network(network), ref) for network, ref in held}
        found: set[tuple[Network, str]] = set()
        for network, post_ids in _by_network(keys):
            rows = self.connection.execute(by_network, {"network": network, "post_ids": post_ids})
            found.update((network, row[0]) for row in rows)
        return found

    def triggers_waiting_for_any(
        self, keys: Sequence[tuple[Network, str]]
    ) -> dict[tuple[Network, str], list[StoredPost]]:
        """Trigger posts not acted on yet whose parent is one of these posts, by parent."""
        found: dict[tuple[Network, str], list[StoredPost]] = {}
        if self._dialect == "postgresql":
            for row in read_keyed(self.connection, _WAITING_FOR_ANY_KEYED, keys):
                post = _stored_post(row._mapping)
                assert post.parent_id is not None
                found.setdefault((post.network, post.parent_id), []).append(post)
            return found
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

    def claim_actions(
        self, keys: Sequence[tuple[Network, str]], at: datetime
    ) -> set[tuple[Network, str]]:
        """Claim each trigger's one action; the keys returned are the triggers that had none.

        The unique constraint on (network, trigger_post_id) makes this exactly once, however
        often a trigger is delivered and however many processes ingest at the same time.
        """
        rows = {
            key: {
                "network": key[0],
                "trigger_post_id": key[1],
                "outcome": "claimed",
                "customer_id": None,
                "product_id": None,
                "created_at": at,
            }
            for key in keys
        }
        if not rows:
            return set()
        returned = insert_rows_ignoring(
            self.connection, t.actions, list(rows.values()), ("network", "trigger_post_id")
        )
        return {(Network(row[0]), row[1]) for row in returned}

    def acted_among(self, keys: Sequence[tuple[Network, str]]) -> set[tuple[Network, str]]:
        """Which of these triggers have their action already (acted on, or being acted on by
        a transaction that committed)."""
        return self._keys_among(keyed.ACTIONS_AMONG, _ACTIONS_AMONG, keys)

    def acted_and_products(
        self, triggers: Sequence[tuple[Network, str]], parents: Sequence[tuple[Network, str]]
    ) -> tuple[set[tuple[Network, str]], dict[tuple[Network, str], list[str]]]:
        """acted_among(triggers) and products_of_posts(parents): on PostgreSQL one statement
        (a round trip a batch less), elsewhere the two reads."""
        if self._dialect != "postgresql" or not triggers or not parents:
            return self.acted_among(triggers), self.products_of_posts(parents)
        acted: set[tuple[Network, str]] = set()
        products: dict[tuple[Network, str], list[str]] = {}
        for what, network, ref, product_id, _ in keyed.read_acted_and_products(
            self.connection, triggers, parents
        ):
            if what == "acted":
                acted.add((Network(network), ref))
            else:
                products.setdefault((Network(network), ref), []).append(product_id)
        return acted, products

    def record_actions(
        self, outcomes: Sequence[dict[str, Any]], at: datetime
    ) -> set[tuple[Network, str]]:
        """Insert each trigger's action with its outcome (keys as in set_action_outcomes); the
        keys that went in. A key that has an action already gets nothing: the unique
        constraint on (network, trigger_post_id) still keeps one action a trigger, and the
        caller, finding its key missing, knows another transaction acted first. A key given
        twice keeps its last outcome."""
        last = {(o["network"], o["trigger_post_id"]): o for o in outcomes}
        if not last:
            return set()
        rows = [
            {**{name: o[name] for name in _OUTCOME_FIELDS}, "created_at": at} for o in last.values()
        ]
        returned = insert_rows_ignoring(
            self.connection, t.actions, rows, ("network", "trigger_post_id")
        )
        return {(Network(row[0]), row[1]) for row in returned}

    def set_action_outcomes(self, outcomes: Sequence[dict[str, Any]]) -> None:
        """Record what each claimed action came to (keys as in claim_actions).

        On PostgreSQL one statement whose rows are one JSON parameter: an executemany
        runs the UPDATE once a row on the server (a batch of triggers is a batch of
        executions, each planned and bound), where a join to the recordset is one
        (docs/benchmarks.md, "s26-engine"). A key given twice keeps its last outcome, as
        the executemany's later row did."""
        if outcomes and self._dialect == "postgresql":
            last = {(o["network"], o["trigger_post_id"]): o for o in outcomes}
            rows = records_of({name: o[name] for name in _OUTCOME_FIELDS} for o in last.values())
            self.connection.execute(
                _SET_OUTCOMES_FROM_JSON, {"rows": rows, "count": planned_count(len(last))}
            )
        elif outcomes:
            self.connection.execute(
                _SET_OUTCOME,
                [
                    {
                        "where_network": o["network"],
                        "where_trigger_post_id": o["trigger_post_id"],
                        "set_outcome": o["outcome"],
                        "set_customer_id": o["customer_id"],
                        "set_product_id": o["product_id"],
                    }
                    for o in outcomes
                ],
            )

    def add_list_entries(
        self, entries: Sequence[ListEntry], at: datetime
    ) -> set[tuple[ListKind, int, str]]:
        """Add cart lines and wish-list entries, one statement a list; returns (list,
        customer, product) of the new ones. A product already on the list is left as it is
        (the first request won): for the cart, that is domain/carts.REPLY_ADD's rule."""
        added: set[tuple[ListKind, int, str]] = set()
        for list_kind, table in LIST_TABLES.items():
            rows: dict[tuple[int, str], dict[str, Any]] = {}
            for entry in entries:
                if entry.list_kind == list_kind:
                    rows.setdefault(
                        (entry.customer_id, entry.product_id),
                        {
                            "customer_id": entry.customer_id,
                            "product_id": entry.product_id,
                            "quantity": entry.quantity,
                            "network": entry.network,
                            "post_id": entry.post_id,
                            "created_at": at,
                        },
                    )
            if rows:
                returned = insert_rows_ignoring(
                    self.connection, table, list(rows.values()), ("customer_id", "product_id")
                )
                added.update((list_kind, int(row[0]), row[1]) for row in returned)
        return added

    # customers and links ----------------------------------------------------------------

    def customer_for_account(self, network: Network, account_id: str) -> int | None:
        row = self.connection.execute(
            _LINKED_CUSTOMER, {"network": network, "account_id": account_id}
        ).first()
        return None if row is None else int(row[0])

    def contacts_for_accounts(
        self, keys: Sequence[tuple[Network, str]]
    ) -> dict[tuple[Network, str], Contact]:
        """The customer each linked account belongs to, with how to reach them (unlinked
        accounts are absent): one statement a network, so a batch's triggers cost one read."""
        found: dict[tuple[Network, str], Contact] = {}
        if self._dialect == "postgresql":
            for network, account_id, customer_id, email, notify_by in read_keyed(
                self.connection, keyed.LINKED_CONTACTS, keys
            ):
                found[(Network(network), account_id)] = Contact(int(customer_id), email, notify_by)
            return found
        for network, account_ids in _by_network(keys):
            rows = self.connection.execute(
                _LINKED_CONTACTS, {"network": network, "account_ids": account_ids}
            )
            found.update(((network, row[0]), Contact(int(row[1]), row[2], row[3])) for row in rows)
        return found

    def contacts_of_customers(self, customer_ids: Iterable[int]) -> dict[int, Contact]:
        """How to reach each of these customers (one statement for all of them)."""
        wanted = sorted(set(customer_ids))
        found: dict[int, Contact] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            rows = self.connection.execute(
                _CONTACTS_OF_CUSTOMERS, {"ids": wanted[start : start + _IN_CHUNK]}
            )
            found.update((int(row[0]), Contact(int(row[0]), row[1], row[2])) for row in rows)
        return found

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

    def add_pending_intents(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            statement = insert_ignoring(self._dialect, t.pending_intents.name)
            self.connection.execute(statement, [{**row, "status": "waiting"} for row in rows])

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

    def claim_link_notices(
        self, keys: Sequence[tuple[Network, str, int]]
    ) -> set[tuple[Network, str, int]]:
        """Of these (network, account, day) keys, the ones not asked to link yet that day."""
        if not keys:
            return set()
        rows = [{"network": n, "account_id": a, "day": d} for n, a, d in dict.fromkeys(keys)]
        returned = insert_rows_ignoring(
            self.connection, t.link_notices, rows, ("network", "account_id", "day")
        )
        return {(Network(row[0]), row[1], int(row[2])) for row in returned}

    # one-time link codes ------------------------------------------------------------------

    def add_link_code(
        self, code: str, customer_id: int, at: datetime, expires_at: datetime
    ) -> bool:
        """Store a new code; False if that code exists already (the caller draws another)."""
        return self._insert_ignoring_conflicts(
            t.link_codes,
            {"code": code, "customer_id": customer_id, "created_at": at, "expires_at": expires_at},
        )

    def forget_unused_link_codes(self, customer_id: int) -> None:
        """Drop the customer's unused codes: a new code replaces the old one."""
        self.connection.execute(
            delete(t.link_codes).where(
                t.link_codes.c.customer_id == customer_id, t.link_codes.c.used_at.is_(None)
            )
        )

    def link_codes_among(self, codes: Iterable[str]) -> dict[str, StoredLinkCode]:
        """The stored codes among these (used or not, live or not), by code."""
        wanted = sorted(set(codes))
        found: dict[str, StoredLinkCode] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            rows = self.connection.execute(
                _LINK_CODES_AMONG, {"codes": wanted[start : start + _IN_CHUNK]}
            )
            for row in rows:
                found[row.code] = StoredLinkCode(
                    row.code,
                    int(row.customer_id),
                    row.expires_at,
                    row.used_at,
                )
        return found

    def use_link_code(self, code: str, now: datetime) -> bool:
        """Mark a live code used; False if it was used (or had expired) meanwhile."""
        row = self.connection.execute(
            update(t.link_codes)
            .where(
                t.link_codes.c.code == code,
                t.link_codes.c.used_at.is_(None),
                t.link_codes.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(t.link_codes.c.code)
        ).first()
        return row is not None

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
        statement: Any = dialect_insert(self._dialect, t.products)
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
                    "item_group_id",
                    "color",
                    "size",
                )
            }
            # A row without pictures or words leaves the stored ones (services/catalog).
            | {
                name: func.coalesce(excluded[name], t.products.c[name])
                for name in ("image_link", "additional_image_links", "description")
            },
        )
        self.connection.execute(statement, values)
        return len(values)

    # stock counts (i10-stock): what the merchant sets; the holds are store/stock's ----------

    def set_stock_count(self, product_id: str, stock: int | None) -> bool:
        return stock_counts.set_stock(self.connection, product_id, stock)

    def set_stock_counts(self, counts: Mapping[str, int | None]) -> None:
        stock_counts.set_stocks(self.connection, counts)

    # outbox and dead letters ------------------------------------------------------------

    def queue_messages(self, messages: Sequence[OutboundMessage], at: datetime) -> int:
        """Queue messages in the outbox; one already queued (same dedupe key) is not queued
        again. Returns how many were new."""
        rows = {
            message.dedupe_key: {
                "network": message.network,
                "account_id": message.account_id,
                "in_reply_to": message.in_reply_to,
                "reason": message.reason,
                "text": message.text,
                "dedupe_key": message.dedupe_key,
                "channel": message.channel,
                "status": "queued",
                "created_at": at,
            }
            for message in messages
        }
        if not rows:
            return 0
        # One statement on PostgreSQL, its rows one JSON parameter: a live sale's burst queues
        # thousands a second.
        return len(
            insert_rows_ignoring(self.connection, t.outbox, list(rows.values()), ("dedupe_key",))
        )

    def messaged_accounts(self, network: str, account_ids: Iterable[str]) -> set[str]:
        """Those of `account_ids` on `network` the outbox holds a message to (any status):
        the others get their first (ix_outbox_account serves it)."""
        wanted = sorted(set(account_ids))
        if not wanted:
            return set()
        o = t.outbox
        found = self.connection.scalars(
            select(o.c.account_id)
            .where(o.c.network == network, o.c.account_id.in_(wanted))
            .distinct()
        )
        return {str(account) for account in found}

    def queue_emails(self, emails: Sequence[Email], at: datetime) -> int:
        """Put emails in the outbox in one statement (the engine queues a batch's at once);
        how many were new. The same dedupe key twice queues one email."""
        rows = {
            email.dedupe_key: {
                "network": EMAIL_NETWORK,
                "account_id": email.to,
                "in_reply_to": "",
                "reason": email.reason,
                "text": email.text,
                "dedupe_key": f"email:{email.dedupe_key}",
                "status": "queued",
                "created_at": at,
                "channel": "email",
                "subject": email.subject,
                "attempts": 0,
            }
            for email in emails
        }
        if not rows:
            return 0
        statement = insert_ignoring(self._dialect, t.outbox.name)
        return len(self.connection.execute(statement, list(rows.values())).all())

    def add_dead_letter(
        self,
        source: str,
        line: int,
        reason: str,
        excerpt: str,
        at: datetime,
        dedupe_key: str | None = None,
    ) -> bool:
        """Keep input we could not use, with its reason; False when the same letter (same
        `dedupe_key`) is kept already. Without a key, one is made from the other fields.

        The texts are made storable first: a dead letter is where hostile input ends up, so
        it must never be what fails (PostgreSQL refuses NUL characters in text)."""
        source, reason, excerpt = (storable_text(text) for text in (source, reason, excerpt))
        if dedupe_key is None:
            dedupe_key = digest_of(source, str(line), reason, excerpt)
        return self._insert_ignoring_conflicts(
            t.dead_letters,
            {
                "source": source,
                "line": line,
                "reason": reason,
                "excerpt": excerpt,
                "created_at": at,
                "dedupe_key": dedupe_key,
            },
        )

    # --- issue 12: remove by reply, undo on delete, variants ---------------------------------

    def remove_list_entries(
        self, list_kind: ListKind, keys: Sequence[tuple[int, str]]
    ) -> set[tuple[int, str]]:
        """Take these (customer, product) entries off `list_kind`; those that were there."""
        table = LIST_TABLES[list_kind]
        removed: set[tuple[int, str]] = set()
        for customer_id, product_id in dict.fromkeys(keys):
            row = self.connection.execute(
                delete(table)
                .where(table.c.customer_id == customer_id, table.c.product_id == product_id)
                .returning(table.c.customer_id)
            ).first()
            if row is not None:
                removed.add((customer_id, product_id))
        return removed

    def cancel_waiting_intents(
        self, network: Network, account_id: str, list_kind: str, product_id: str
    ) -> int:
        """Mark the account's waiting requests for the product `removed`; how many."""
        intents = t.pending_intents
        rows = self.connection.execute(
            update(intents)
            .where(
                intents.c.network == network,
                intents.c.account_id == account_id,
                intents.c.list_kind == list_kind,
                intents.c.product_id == product_id,
                intents.c.status == "waiting",
            )
            .values(status="removed")
            .returning(intents.c.id)
        )
        return len(rows.all())

    def undo_triggers(self, keys: Sequence[tuple[Network, str]]) -> int:
        """Remove the open lines and waiting requests these trigger posts made; orders stay
        (they are other tables). A second call finds nothing: exactly once."""
        undone = 0
        intents = t.pending_intents
        for network, post_ids in _by_network(keys):
            for table in LIST_TABLES.values():
                rows = self.connection.execute(
                    delete(table)
                    .where(table.c.network == network, table.c.post_id.in_(post_ids))
                    .returning(table.c.id)
                )
                undone += len(rows.all())
            rows = self.connection.execute(
                update(intents)
                .where(
                    intents.c.network == network,
                    intents.c.trigger_post_id.in_(post_ids),
                    intents.c.status == "waiting",
                )
                .values(status="removed")
                .returning(intents.c.id)
            )
            undone += len(rows.all())
        return undone

    def waiting_carts(self, waited_since: datetime, limit: int) -> list[WaitingCart]:
        from hashcart.store import cart_reminders

        return cart_reminders.waiting_carts(self.connection, waited_since, limit)

    def claim_cart_reminder(self, customer_id: int, after_order: int, at: datetime) -> bool:
        from hashcart.store import cart_reminders

        return cart_reminders.claim(self.connection, customer_id, after_order, at)

    def message_templates(self) -> dict[str, str]:
        from hashcart.store.message_templates import stored_templates

        return stored_templates(self.connection)

    def product_variants(self) -> Iterator[tuple[str, str, str | None, str | None]]:
        """(product_id, item_group_id, color, size) of the rows that name a group."""
        products = t.products
        rows = self.connection.execute(
            select(
                products.c.product_id,
                products.c.item_group_id,
                products.c.color,
                products.c.size,
            )
            .where(products.c.item_group_id.is_not(None))
            .order_by(products.c.product_id)
        )
        for row in rows:
            yield row[0], row[1], row[2], row[3]

    # --- order care (issue 12): `#order` answers, in store/order_care ---

    def recent_orders(self, customer_ids: Iterable[int], limit: int) -> dict[int, CustomerOrders]:
        return order_care.recent_orders(self.connection, customer_ids, limit)

    # --- buy with a post (issue 12): buy requests, in store/buys ---

    @property
    def buys(self) -> StoredBuys:
        return StoredBuys(self.connection)

    # --- offers by hashtag (issue 12): in store/offers ---

    @property
    def offers(self) -> StoredOffers:
        return StoredOffers(self.connection)

    # --- live sales (issue 13): in store/sales ---

    @functools.cached_property
    def sales(self) -> StoredSales:
        # One a transaction: it keeps what a settle step made ready (`open_holds`).
        return StoredSales(self.connection)


def _stored_post(row: Any) -> StoredPost:
    return StoredPost(
        network=Network(row["network"]),
        post_id=row["post_id"],
        author_id=row["author_id"],
        author_handle=row["author_handle"],
        created_at=row["created_at"],
        has_shop_link=bool(row["has_shop_link"]),
        parent_id=row["parent_id"],
        list_kind=row["list_kind"],
        quantity=row["quantity"],
        position=row["position"],
        words=tuple((row["words"] or "").split()),
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
        trigger_at=row["trigger_at"],
        expires_at=row["expires_at"],
    )


# Any fixed number works; this one spells "hashcart" in ASCII, read as an integer.
_ENGINE_LOCK_KEY = 0x6861736863617274
_TAKE_ENGINE_LOCK = select(func.pg_advisory_xact_lock(_ENGINE_LOCK_KEY))
_SHARE_ENGINE_LOCK = select(func.pg_advisory_xact_lock_shared(_ENGINE_LOCK_KEY))
# A post's key: advisory locks of two 32-bit keys (the first "post" in ASCII), a space apart
# from the one-key engine lock.
_POST_LOCK_SPACE = 0x706F7374


# take_post_turns in one statement. The engine's lock is the left side of a join with no
# condition, which PostgreSQL can only run as a nested loop with it outside: taken once,
# first, even when no key is left; then the keys in sorted order, one lock each (a key
# asked alone by one post and shared by another's reply is taken alone). LIMIT the number
# of records (it cuts none) tells the planner how few they are (see keyed_reads).
_TAKE_TURN_AND_POST_KEYS = text(
    "WITH engine AS MATERIALIZED ("
    f"SELECT pg_advisory_xact_lock_shared({_ENGINE_LOCK_KEY}) AS taken), "
    "wanted AS (SELECT k.key, bool_or(k.alone) AS alone FROM (SELECT * FROM "
    + json_records(
        {"network": "VARCHAR", "id": "VARCHAR", "key": "INTEGER", "alone": "BOOLEAN"},
        parameter="keys",
    )
    + " LIMIT :count) AS k WHERE k.alone OR NOT EXISTS (SELECT FROM posts"
    " WHERE posts.network = k.network AND posts.post_id = k.id) GROUP BY k.key) "
    "SELECT CASE WHEN u.key IS NULL THEN NULL WHEN u.alone"
    f" THEN pg_advisory_xact_lock({_POST_LOCK_SPACE}, u.key)"
    f" ELSE pg_advisory_xact_lock_shared({_POST_LOCK_SPACE}, u.key) END"
    " FROM engine LEFT JOIN (SELECT * FROM wanted ORDER BY key) AS u ON true ORDER BY u.key"
).bindparams(bindparam("count", type_=Integer(), literal_execute=True))


def _post_key(network: str, post_id: str) -> int:
    """A post's lock key: stable across processes (not Python's salted hash), 32 bits."""
    digest = hashlib.blake2b(f"{network}\x00{post_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


# The hot path's statements, built once with bound parameters (building a statement per
# call costs more than running it).
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
# PostgreSQL: every outcome of a batch in one UPDATE (set_action_outcomes); each field read
# as its column's type without a length, so a value too long is refused, not cut. LIMIT the
# number of rows given (it cuts none) tells the planner how few they are, as keyed_reads'
# keys do: it would hash-join a sequential scan of `actions` otherwise.
_OUTCOME_FIELDS = ("network", "trigger_post_id", "outcome", "customer_id", "product_id")
_SET_OUTCOMES_FROM_JSON = text(
    "UPDATE actions SET outcome = r.outcome, customer_id = r.customer_id, "
    "product_id = r.product_id FROM (SELECT * FROM "
    + json_records(
        {
            "network": "VARCHAR",
            "trigger_post_id": "VARCHAR",
            "outcome": "VARCHAR",
            "customer_id": "INTEGER",
            "product_id": "VARCHAR",
        }
    )
    + " LIMIT :count) AS r"
    " WHERE actions.network = r.network AND actions.trigger_post_id = r.trigger_post_id"
).bindparams(bindparam("count", type_=Integer(), literal_execute=True))
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
_WAITING_FOR_ANY_KEYED = keyed.waiting_for_any(_NOT_ACTED)
_PRODUCTS_OF_POSTS = (
    select(t.post_products.c.post_id, t.post_products.c.product_id)
    .where(
        t.post_products.c.network == bindparam("network"),
        t.post_products.c.post_id.in_(bindparam("post_ids", expanding=True)),
    )
    .order_by(t.post_products.c.post_id, t.post_products.c.position)
)
_LINKED_CONTACTS = (
    select(
        t.account_links.c.account_id,
        t.account_links.c.customer_id,
        t.customers.c.email,
        t.customers.c.notify_by,
    )
    .join(t.customers, t.customers.c.id == t.account_links.c.customer_id)
    .where(
        t.account_links.c.network == bindparam("network"),
        t.account_links.c.account_id.in_(bindparam("account_ids", expanding=True)),
    )
)
_CONTACTS_OF_CUSTOMERS = select(
    t.customers.c.id, t.customers.c.email, t.customers.c.notify_by
).where(t.customers.c.id.in_(bindparam("ids", expanding=True)))
_LINK_CODES_AMONG = select(t.link_codes).where(
    t.link_codes.c.code.in_(bindparam("codes", expanding=True))
)
_POSTS_AMONG = select(t.posts.c.post_id).where(
    t.posts.c.network == bindparam("network"),
    t.posts.c.post_id.in_(bindparam("post_ids", expanding=True)),
)
_ACTIONS_AMONG = select(t.actions.c.trigger_post_id).where(
    t.actions.c.network == bindparam("network"),
    t.actions.c.trigger_post_id.in_(bindparam("post_ids", expanding=True)),
)
_DELETIONS_AMONG = select(t.post_deletions.c.post_id).where(
    t.post_deletions.c.network == bindparam("network"),
    t.post_deletions.c.post_id.in_(bindparam("post_ids", expanding=True)),
)
# SQLite allows 32,766 bound parameters; stay far below.
_IN_CHUNK = 500


def _by_network(keys: Sequence[tuple[Network, str]]) -> Iterator[tuple[Network, list[str]]]:
    """The keys' post ids grouped by network, each once, in chunks small enough to bind.

    Once: an id repeated in two chunks would be answered twice (many triggers of one batch
    under one parent made its products a list of duplicates, and a one-product post then
    asked "which product?")."""
    grouped: dict[Network, dict[str, None]] = {}
    for network, post_id in keys:
        grouped.setdefault(network, {})[post_id] = None
    for network, unique in grouped.items():
        post_ids = list(unique)
        for start in range(0, len(post_ids), _IN_CHUNK):
            yield network, post_ids[start : start + _IN_CHUNK]


@contextmanager
def transaction(engine: Engine) -> Iterator[Repository]:
    """A unit of work's repository alone, for callers that need nothing else of it: the same
    transaction as store/unit_of_work.SqlUnitOfWork (store/database.write_transaction)."""
    with write_transaction(engine) as connection:
        yield Repository(connection)
