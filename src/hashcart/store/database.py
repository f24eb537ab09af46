"""Engines for SQLite (the embedded default) and PostgreSQL, and schema upgrades through Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hashcart.errors import HashcartError
from hashcart.store.pool_checks import check_on_checkout
from hashcart.store.schema_version import migrations_head as migrations_head

if TYPE_CHECKING:
    from alembic.config import Config

# Long enough for another process's batch to commit; short enough that a stuck lock is reported.
# A SQLite URL may set its own, in seconds, as the driver's `timeout`: sqlite:///FILE?timeout=5.
SQLITE_BUSY_TIMEOUT_MS = 60_000

# Connections a SQLite file's pool keeps open. SQLAlchemy's default keeps 5 and closes any
# more when they come back: `hashcart serve` answering 8 requests at once (a page can hold
# two connections) opened and closed a connection every few requests, each paying its
# PRAGMAs, the schema's parse and a cold page cache (issue 14, pages that stay fast).
SQLITE_POOL_SIZE = 16

# The execution option that makes a connection's transactions reads: read_only_transaction.
READ_ONLY = "hashcart_read_only"


class DatabaseURLError(HashcartError, ValueError):
    """The database URL names a driver hashcart does not support."""


class DatabaseDriverMissing(DatabaseURLError):
    """The URL is fine but its driver is not installed (PostgreSQL's is an optional extra)."""


def make_engine(url: str) -> Engine:
    """An engine for `url`: sqlite:///file or postgresql://… (psycopg 3).

    Its transactions write (`engine.begin()`, and `engine.connect()` too): on SQLite each
    takes the write lock as it begins. Work that only reads uses `read_only_transaction`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            engine = create_engine(parsed)
        except ImportError as missing:  # the driver is an extra: hashcart[postgres]
            raise DatabaseDriverMissing(
                f"PostgreSQL needs its driver ({missing.name or 'psycopg'} is not installed): "
                "pip install 'hashcart[postgres]'"
            ) from None
        # A pooled connection is checked before it is lent, as `pool_pre_ping` did, but
        # without a round trip when nothing says it broke (store/pool_checks).
        check_on_checkout(engine)
        return engine
    raise DatabaseURLError(
        f"unsupported database URL {parsed.render_as_string()!r}: "
        "use sqlite:///FILE or postgresql://…"
    )


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names when it does not exist yet (opening it would create an
    empty one), else None: other databases, in-memory and `file:` URIs, unreadable URLs
    (opening them says what is wrong)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path


def _sqlite_engine(url: str) -> Engine:
    timeout = make_url(url).query.get("timeout")
    busy_timeout_ms = (
        round(float(timeout) * 1000) if isinstance(timeout, str) else SQLITE_BUSY_TIMEOUT_MS
    )
    database = make_url(url).database or ""
    # A file's connections kept for the pages' concurrent requests (in-memory databases
    # have a pool of their own kind).
    kept = (
        {"pool_size": SQLITE_POOL_SIZE}
        if database and database != ":memory:" and not database.startswith("file:")
        else {}
    )
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **kept)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, say when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            # A reader: a deferred BEGIN reads the last commit beside a writer (WAL), neither
            # waiting for it nor making it wait. query_only keeps it a reader: a deferred
            # transaction that wrote would fail at once with "database is locked" whenever
            # another connection had written since it began reading; this way any write is
            # refused every time, so a misuse fails its tests instead of production under load.
            connection.exec_driver_sql("PRAGMA query_only=ON")
            connection.exec_driver_sql("BEGIN")
            return
        # Take the write lock up front: a deferred transaction that reads and then writes
        # fails with SQLITE_BUSY when another process wrote in between, without waiting.
        # (query_only off: the pooled connection may last have served a reader.)
        connection.exec_driver_sql("PRAGMA query_only=OFF")
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: begun at once, committed when the block ends cleanly,
    rolled back when it raises. On SQLite it takes the write lock as it begins (BEGIN
    IMMEDIATE, waiting up to the busy timeout for another writer: see _sqlite_engine), so a
    transaction that reads and then writes never fails half-way for a writer in between.
    The one way hashcart begins a write: store/unit_of_work.SqlUnitOfWork and the
    repository's `transaction` sit on it."""
    with engine.begin() as connection:
        yield connection


@contextmanager
def read_only_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads, for pages, reports and lookups that change nothing.

    It sees one consistent snapshot and cannot write (SQLite: the write is refused with
    "attempt to write a readonly database"; PostgreSQL: a READ ONLY transaction). On SQLite
    it does not take the write lock, so reads run beside an ingest batch instead of queueing
    behind it. Anything that writes, or reads in order to write, uses `write_transaction`.
    """
    with engine.connect() as connection:
        options: dict[str, Any] = {READ_ONLY: True}
        if connection.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        connection.execution_options(**options)
        with connection.begin():
            yield connection


# Alembic is imported only to migrate: it takes ~80 ms to load (Mako, Pygments), more than
# the rest of `hashcart ingest` on an empty file (docs/benchmarks.md, "Start-up").


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("hashcart.store") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Create the schema, or bring an older one up to date.

    An empty database is built from the declared tables and stamped with the newest revision
    in the same transaction, as Alembic's cookbook advises ("Building an Up to Date Database
    from Scratch"): replaying every migration on a new database took 0.5-2 s on PostgreSQL,
    most of a short test's time and of `hashcart init`. A database that has tables is
    migrated. tests/integration/test_migrations.py holds both ways to the same schema.
    """
    if not _create_if_empty(engine):
        migrate(engine)


def migrate(engine: Engine) -> None:
    """Run the migrations from the database's revision (none: the first) up to the newest."""
    from alembic import command

    command.upgrade(_alembic_config(engine), "head")


def _create_if_empty(engine: Engine) -> bool:
    """Create every declared table and stamp the newest revision, if the database has no
    table at all; False (nothing done) otherwise. One write transaction: a crash leaves the
    database empty, never half-built."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from hashcart.store.schema import metadata

    with write_transaction(engine) as connection:
        if inspect(connection).get_table_names():
            return False
        metadata.create_all(connection)
        script = ScriptDirectory.from_config(_alembic_config(engine))
        MigrationContext.configure(connection).stamp(script, "head")
    return True


def is_current(engine: Engine) -> bool:
    """Whether the database has the newest schema (so commands can say: run `hashcart init`)."""
    head = migrations_head()
    if head is None:
        return _is_current_by_alembic(engine)
    with read_only_transaction(engine) as connection:
        return _stored_revision(connection) == head


def _is_current_by_alembic(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    with read_only_transaction(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def _stored_revision(connection: Connection) -> str | None:
    """The revision Alembic recorded in the database, or None if it recorded none."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(found[0]) if len(found) == 1 else None
