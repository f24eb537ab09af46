"""The unit of work on SQLAlchemy (ports.UnitOfWork): one write transaction (or one that only
reads) and the repositories bound to it. Every write of hashcart goes through one of these (or the
repository's `transaction`, its repository alone), begun by store/database.write_transaction,
so SQLite's write lock and PostgreSQL's transactions behave the same everywhere."""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from hashcart.errors import HashcartError
from hashcart.store.buys import StoredBuys
from hashcart.store.cursors import StoredCursors
from hashcart.store.database import read_only_transaction, write_transaction
from hashcart.store.gateway_records import StoredGatewayRecords
from hashcart.store.images import StoredImages
from hashcart.store.oauth import StoredOAuth
from hashcart.store.orders import StoredOrders
from hashcart.store.outbox import StoredOutbox
from hashcart.store.parent_fetches import StoredParentFetches
from hashcart.store.payments import StoredPayments
from hashcart.store.repository import Repository
from hashcart.store.stock import LIVE_STOCK_KEY, StoredStock

if TYPE_CHECKING:
    from hashcart.ports import LiveStockReader
    from hashcart.store.own_store import StoredStoreRecords
    from hashcart.store.shopping import StoredCarts


class UnitOfWorkMisuse(HashcartError, RuntimeError):
    """A programming error: a repository asked for outside the `with` block, or the same
    unit of work entered twice (one unit of work is one transaction)."""


class SqlUnitOfWork:
    """`with SqlUnitOfWork(engine) as uow:` begins a transaction, commits it when the block
    ends cleanly and rolls every write of it back when the block raises.

    `connection` is there for the store modules that have no repository yet (accounts,
    orders, shopping…): web routes and commands pass it on. Use cases take the port.

    `read_only`: the transaction only reads (store/database.read_only_transaction): every
    write is refused, and on SQLite it reads the last commit beside a writer instead of
    waiting for the write lock (the dispatcher's lookups between sends)."""

    def __init__(
        self,
        engine: Engine,
        *,
        read_only: bool = False,
        live_stock: LiveStockReader | None = None,
    ) -> None:
        self.engine = engine
        self.read_only = read_only
        # The merchant's own store's live counts, read when stock is reserved (issue 16).
        self.live_stock = live_stock
        self._transaction: AbstractContextManager[Connection] | None = None
        self._connection: Connection | None = None
        self._repository: Repository | None = None
        self._cursors: StoredCursors | None = None
        self._payments: StoredPayments | None = None
        self._orders: StoredOrders | None = None
        self._parent_fetches: StoredParentFetches | None = None
        self._oauth: StoredOAuth | None = None
        self._stock: StoredStock | None = None
        self._carts: StoredCarts | None = None
        self._gateway_records: StoredGatewayRecords | None = None
        self._outbox: StoredOutbox | None = None

    def __enter__(self) -> SqlUnitOfWork:
        if self._transaction is not None:
            raise UnitOfWorkMisuse("a unit of work is one transaction: it cannot be entered twice")
        self._transaction = (
            read_only_transaction(self.engine) if self.read_only else write_transaction(self.engine)
        )
        connection = self._transaction.__enter__()
        self._connection = connection
        if self.live_stock is not None:
            connection.info[LIVE_STOCK_KEY] = self.live_stock
        self._repository = Repository(connection)
        self._cursors = StoredCursors(connection)
        self._payments = StoredPayments(connection)
        self._orders = StoredOrders(connection)
        self._parent_fetches = StoredParentFetches(connection)
        self._oauth = StoredOAuth(connection)
        self._stock = StoredStock(connection)
        self._gateway_records = StoredGatewayRecords(connection)
        self._outbox = StoredOutbox(connection)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        transaction, self._transaction = self._transaction, None
        if self._connection is not None and self.live_stock is not None:
            self._connection.info.pop(LIVE_STOCK_KEY, None)
        self._connection = self._repository = self._cursors = None
        self._payments = self._orders = None
        self._parent_fetches = None
        self._oauth = None
        self._stock = self._carts = None
        self._gateway_records = None
        self._outbox = None
        if transaction is not None:
            # Commits, or rolls back and lets the error go on (never swallows it).
            transaction.__exit__(kind, error, traceback)

    @property
    def images(self) -> StoredImages:
        return StoredImages(self.connection)

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._connection

    @property
    def repository(self) -> Repository:
        if self._repository is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._repository

    @property
    def cursors(self) -> StoredCursors:
        if self._cursors is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._cursors

    @property
    def payments(self) -> StoredPayments:
        if self._payments is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._payments

    @property
    def orders(self) -> StoredOrders:
        if self._orders is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._orders

    @property
    def parent_fetches(self) -> StoredParentFetches:
        if self._parent_fetches is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._parent_fetches

    @property
    def oauth(self) -> StoredOAuth:
        if self._oauth is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._oauth

    @property
    def stock(self) -> StoredStock:
        if self._stock is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._stock

    @property
    def carts(self) -> StoredCarts:
        if self._connection is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        if self._carts is None:
            # Made on first use: store.shopping loads SQLAlchemy's PostgreSQL dialect, which
            # `hashcart ingest` on a SQLite shop never needs (tests/integration/
            # test_cli_startup.py, docs/benchmarks.md "Start-up").
            from hashcart.store.shopping import StoredCarts

            self._carts = StoredCarts(self._connection)
        return self._carts

    # --- payment gateways' records (issue 12: Stripe) ---

    @property
    def gateway_records(self) -> StoredGatewayRecords:
        if self._gateway_records is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._gateway_records

    # --- buy with a post (issue 12) ---

    @property
    def buys(self) -> StoredBuys:
        if self._connection is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return StoredBuys(self._connection)

    # --- the merchant's own store (issue 16) ---

    @property
    def store_records(self) -> StoredStoreRecords:
        if self._connection is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        from hashcart.store.own_store import StoredStoreRecords

        return StoredStoreRecords(self._connection)

    # --- the outbox (issue 10: one dispatcher) ---

    @property
    def outbox(self) -> StoredOutbox:
        if self._outbox is None:
            raise UnitOfWorkMisuse("the unit of work is not open")
        return self._outbox
