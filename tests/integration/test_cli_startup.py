"""Commands import only what they use: no web stack for the command line, no migration
tool or HTML parser for an ingest that needs neither (docs/benchmarks.md, "Start-up")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hashcart.store.database import make_engine, upgrade

WEB_STACK = {"fastapi", "starlette", "jinja2", "uvicorn"}
# Only what migrating or reading Mastodon HTML needs, not an ingest of nothing.
INGEST_NEEDS_NONE_OF = WEB_STACK | {"alembic", "mako", "pygments", "lxml", "email_validator"}

# Runs the `hashcart` entry point as the installed script does, and writes the modules
# imported by the time the process exits (after the command ran) to a file. These tests
# stay real processes: what a command imports shows only from a fresh `sys.modules`.
RUN_AND_LIST = """
import atexit, json, sys
listing = sys.argv[1]
def _write():
    with open(listing, "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(_write)
sys.argv = ["hashcart", *sys.argv[2:]]
from hashcart.cli import main
main()
"""


def imported_by(tmp_path: Path, *args: str, database_url: str | None = None) -> set[str]:
    """The modules a `hashcart` process with `args` imported, and their top-level packages."""
    listing = tmp_path / "modules.json"
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("HASHCART_CONFIG", None)
    if database_url is not None:
        env["HASHCART_DATABASE_URL"] = database_url
    ran = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, str(listing), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    modules = set(json.loads(listing.read_text()))
    return modules | {name.split(".")[0] for name in modules}


def test_importing_the_command_line_loads_no_web_stack() -> None:
    code = (
        "import hashcart.cli, sys; print(sorted(m for m in sys.modules "
        f"if m.split('.')[0] in {sorted(WEB_STACK)!r}))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert ran.stdout.strip() == "[]"


def test_help_loads_no_web_stack_and_still_lists_every_command(tmp_path: Path) -> None:
    assert imported_by(tmp_path, "--help") & WEB_STACK == set()
    shown = subprocess.run(
        [sys.executable, "-m", "hashcart", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    ).stdout
    for command in ("init", "ingest", "carts", "outbox", "serve", "listen", "dispatch", "demo"):
        assert f" {command} " in shown


def test_ingest_of_an_empty_file_loads_neither_web_stack_nor_migrations(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(make_engine(database_url))  # as `hashcart init` left it
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")

    loaded = imported_by(tmp_path, "ingest", str(empty), database_url=database_url)

    assert "sqlalchemy.dialects.sqlite" in loaded  # it did reach the database
    assert loaded & INGEST_NEEDS_NONE_OF == set()
    assert "sqlalchemy.dialects.postgresql" not in loaded  # a SQLite shop needs none of it


def test_the_live_demo_interval_shown_by_the_command_is_the_live_demos() -> None:
    # cli/demo.py repeats the default so `hashcart --help` need not import the engine.
    from hashcart.cli.demo import DEFAULT_INTERVAL as shown_default
    from hashcart.live_demo import DEFAULT_INTERVAL as live_default

    assert shown_default == live_default
