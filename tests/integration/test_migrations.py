"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from hashcart.store.database import is_current, make_engine, migrate, migrations_head, upgrade
from hashcart.store.schema import POSTS_SORT_INDEXES, claim_partial_indexes, metadata
from tests.databases import fresh_postgres_database


def test_migrating_an_empty_database_gives_the_declared_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    assert not is_current(engine)
    migrate(engine)
    assert is_current(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _not_made_by_sql})
        differences = compare_metadata(context, metadata)
    assert differences == []


# The posts' partial sort indexes are declared as SQL run after the tables (schema.py says
# why), not as Index objects, so autogenerate cannot know them: the comparison of what the
# inspector sees on both sides (below) holds them equal instead.
_MADE_BY_SQL = {statement.split()[2] for statement in POSTS_SORT_INDEXES}
# The claims' partial indexes likewise (their WHERE differs by dialect).
_CLAIM_INDEXES = {statement.split()[2] for statement in claim_partial_indexes("sqlite")}


def _not_made_by_sql(item: object, name: str | None, kind: str, reflected: bool, _: object) -> bool:
    return not (kind == "index" and reflected and name in _MADE_BY_SQL | _CLAIM_INDEXES)


def _described(engine: Engine) -> dict[str, object]:
    """Everything the database says of its tables, in a form two databases can be compared by:
    columns with types, nullability and defaults, keys, indexes, constraints and their names."""
    inspector = inspect(engine)
    described: dict[str, object] = {}
    for table in sorted(inspector.get_table_names()):
        described[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign keys": sorted(
                (str(fk.get("name")), tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (str(ix["name"]), tuple(str(c) for c in ix["column_names"]), bool(ix["unique"]))
                for ix in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (str(uq["name"]), tuple(uq["column_names"]))
                for uq in inspector.get_unique_constraints(table)
            ),
            "checks": sorted(str(ck["sqltext"]) for ck in inspector.get_check_constraints(table)),
        }
    return described


def test_a_new_database_built_from_the_declared_tables_equals_one_built_by_the_migrations(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # upgrade() builds an empty database from schema.py and stamps it (the fast way);
    # a database migrated from nothing must come out the same, names included, so that
    # the next migration finds what it alters either way.
    created, migrated = _created_and_migrated(database_url, tmp_path, request)
    assert is_current(created) and is_current(migrated)
    assert _described(created) == _described(migrated)


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert is_current(engine)


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    # is_current reads it without loading Alembic (start-up time); Alembic has the last word.
    config = Config()
    config.set_main_option("script_location", str(files("hashcart.store") / "migrations"))
    assert migrations_head() == ScriptDirectory.from_config(config).get_current_head()


def test_both_ways_make_the_posts_partial_sort_indexes(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # SQLite's inspector skips expression indexes, so the comparison above cannot see them.
    created, migrated = _created_and_migrated(database_url, tmp_path, request)
    if database_url.startswith("sqlite"):
        listing = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
    else:
        listing = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    for engine in (created, migrated):
        with engine.connect() as connection:
            for name in _MADE_BY_SQL:
                made = connection.execute(text(listing), {"name": name}).scalar_one()
                assert "parent_id IS NULL" in made, made


def test_both_ways_make_the_claims_partial_indexes(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # The inspector's comparison sees names and columns, not an index's WHERE.
    created, migrated = _created_and_migrated(database_url, tmp_path, request)
    postgres = not database_url.startswith("sqlite")
    if postgres:
        listing = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    else:
        listing = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
    made = []
    for engine in (created, migrated):
        with engine.connect() as connection:
            made.append(
                {
                    name: connection.execute(text(listing), {"name": name}).scalar_one()
                    for name in sorted(_CLAIM_INDEXES)
                }
            )
    assert made[0] == made[1]
    assert "invoice_id IS NOT NULL" in made[0]["ix_sale_claims_invoice"]
    # A waitlisted claim has no entry in PostgreSQL's index of statuses.
    assert ("waitlisted" not in made[0]["ix_sale_claims_status"]) and (
        ("WHERE" in made[0]["ix_sale_claims_status"]) is postgres
    )


def _created_and_migrated(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[Engine, Engine]:
    """An empty database built by upgrade() at `database_url`, and a second, fresh one on the
    same kind of server migrated from nothing."""
    created = make_engine(database_url)
    upgrade(created)
    if database_url.startswith("sqlite"):
        migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    else:
        migrated = make_engine(fresh_postgres_database(request.getfixturevalue("postgres_server")))
    migrate(migrated)
    return created, migrated
