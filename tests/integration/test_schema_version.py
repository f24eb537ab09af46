"""The cheap schema check (store/schema_version) says "current" only when SQLAlchemy's
would, on a real SQLite file, and never creates, changes or waits for anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hashcart.store.database import is_current, make_engine, upgrade
from hashcart.store.schema_version import migrations_head, sqlite_file_is_current


def migrated(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "shop.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()  # the last connection closes: SQLite removes the -wal and -shm files
    return path, url


def test_a_migrated_file_is_current_as_sqlalchemy_says(tmp_path: Path) -> None:
    _, url = migrated(tmp_path)
    assert not (tmp_path / "shop.db-shm").exists()  # read-only, even with no -shm beside it
    assert sqlite_file_is_current(url)
    assert is_current(make_engine(url))


def test_a_relative_path_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert sqlite_file_is_current("sqlite:///shop.db")


def test_a_missing_file_is_not_current_and_is_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    assert not sqlite_file_is_current(url)
    assert list(tmp_path.iterdir()) == []


def test_an_older_schema_is_not_current_and_is_left_unchanged(tmp_path: Path) -> None:
    path, url = migrated(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    db.close()
    before = path.read_bytes()

    assert not sqlite_file_is_current(url)
    assert not is_current(make_engine(url))
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [b"", b"not a database at all\x00\xff" * 100, b"SQLite format 3\x00" + b"\x00" * 84],
    ids=["empty file", "garbage", "a broken header"],
)
def test_a_file_that_is_no_current_database_is_not_current(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "shop.db"
    path.write_bytes(content)
    assert not sqlite_file_is_current(f"sqlite:///{path}")
    assert path.read_bytes() == content


def test_a_database_without_the_version_table_or_with_two_rows_is_not_current(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.db"
    url = f"sqlite:///{path}"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE products (id INTEGER)")
    db.close()
    assert not sqlite_file_is_current(url)

    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")
        db.executemany("INSERT INTO alembic_version VALUES (?)", [(migrations_head(),)] * 2)
    db.close()
    assert not sqlite_file_is_current(url)


def test_a_locked_database_is_not_waited_for(tmp_path: Path) -> None:
    # The caller then opens it the usual way, which waits as long as the settings say.
    path, url = migrated(tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode=DELETE")
        holder.execute("BEGIN EXCLUSIVE")
        assert not sqlite_file_is_current(url)
    finally:
        holder.close()
    assert sqlite_file_is_current(url)


@pytest.mark.parametrize(
    "shape",
    [
        "sqlite://",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///{path}?timeout=5",
        "sqlite+pysqlite:///{path}",
        "SQLITE:///{path}",
        "sqlite:///{path}#x",
        "sqlite:///{path}%00",
        "sqlite:///{path}\x00",
        "sqlite:///" + "a/" * 5000 + "shop.db",
        "sqlite:///\udcff.db",
        "postgresql://shop@localhost/shop",
        "",
    ],
    ids=lambda shape: repr(shape)[:40],
)
def test_urls_of_any_other_shape_are_left_to_sqlalchemy(tmp_path: Path, shape: str) -> None:
    path, _ = migrated(tmp_path)  # a current database is there, but not named plainly
    assert not sqlite_file_is_current(shape.format(path=path))
