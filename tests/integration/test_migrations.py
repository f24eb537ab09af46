"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from importlib.resources import files

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hashcart.store.database import is_current, make_engine, migrations_head, upgrade
from hashcart.store.schema import metadata


def test_migrating_an_empty_database_gives_the_declared_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    assert not is_current(engine)
    upgrade(engine)
    assert is_current(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


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
