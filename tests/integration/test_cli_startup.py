"""Commands import only what they use: no web stack for the command line, no migration
tool or HTML parser for an ingest that needs neither, and no database library at all for an
ingest that has nothing to read (docs/benchmarks.md, "Start-up")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import hashcart.cli as cli
from hashcart.store.database import is_current, make_engine, upgrade
from hashcart.store.schema_version import sqlite_file_is_current

Run = Callable[..., tuple[int, str, str]]

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


@pytest.fixture
def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Iterator[Run]:
    """Runs the real entry point in this process; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(cli.gc, "freeze", lambda: None)  # not the test process's objects
    monkeypatch.delenv("HASHCART_CONFIG", raising=False)
    monkeypatch.delenv("HASHCART_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["hashcart", *args])
        with pytest.raises(SystemExit) as exited:
            cli.main()
        out, err = capsys.readouterr()
        code = exited.value.code
        return (code if isinstance(code, int) else 0 if code is None else 1), out, err

    yield run


def summary_count(summary: str, label: str) -> int:
    """The figure on the `label` row of ingest's summary table."""
    row = next(line for line in summary.splitlines() if f"│ {label} " in line)
    return int(row.split("│")[2].strip().replace(",", ""))


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


def test_ingest_of_an_empty_file_on_a_current_database_loads_no_database_library(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(make_engine(database_url))  # as `hashcart init` left it
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")

    loaded = imported_by(tmp_path, "ingest", str(empty), database_url=database_url)

    # Nothing to read and the schema is current (read with sqlite3): no engine to open.
    assert "sqlite3" in loaded
    assert loaded & (INGEST_NEEDS_NONE_OF | {"sqlalchemy"}) == set()


def test_ingest_of_a_line_opens_the_database_without_web_stack_or_migrations(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(make_engine(database_url))
    one_line = tmp_path / "one.jsonl"
    one_line.write_bytes(b'{"not": "a post"}\n')

    loaded = imported_by(tmp_path, "ingest", str(one_line), database_url=database_url)

    assert "sqlalchemy.dialects.sqlite" in loaded  # it did reach the database
    assert loaded & INGEST_NEEDS_NONE_OF == set()
    assert "sqlalchemy.dialects.postgresql" not in loaded  # a SQLite shop needs none of it


NETWORK_CLIENTS = {
    "httpx",
    "websockets",
    "authlib",
    "twitter_text",
    "lxml",
    "hashcart.networks.x.api",
    "hashcart.networks.mastodon.api",
    "hashcart.networks.bluesky.xrpc",
}


def test_reports_load_neither_web_stack_nor_migrations_nor_network_clients(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(make_engine(database_url))

    for report in (["carts", "--json"], ["outbox"]):
        loaded = imported_by(tmp_path, *report, database_url=database_url)

        assert "sqlalchemy.dialects.sqlite" in loaded  # it did read the database
        assert loaded & INGEST_NEEDS_NONE_OF == set()
        # The built-in adapters are registered at the composition root (bootstrap, about
        # 30 ms, their decoders with them); what they build (API clients, streams) is not.
        assert loaded & NETWORK_CLIENTS == set()


def test_ingest_of_an_empty_file_still_creates_a_missing_database(
    database_url: str, run_main: Run, tmp_path: Path
) -> None:
    # Whether the engine opens at start or at the first line, a database that is not
    # current is brought up to date at start, as it always was (SQLite and PostgreSQL).
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")

    code, out, err = run_main("--db", database_url, "ingest", str(empty))

    assert (code, err) == (0, "")
    assert "lines read" in out
    assert is_current(make_engine(database_url))


def test_the_summary_of_an_empty_file_is_the_same_whether_the_database_opened_or_not(
    run_main: Run, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    database_url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert not sqlite_file_is_current(database_url)

    opened = run_main("--db", database_url, "ingest", str(empty))  # creates it: opened
    assert sqlite_file_is_current(database_url)
    not_opened = run_main("--db", database_url, "ingest", str(empty))

    assert opened == not_opened
    assert opened[0] == 0
    assert summary_count(opened[1], "lines read") == 0


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        ("sqlite:///{tmp}/no/such/folder.db", 1, "hashcart: error: database: "),
        ("mysql://shop@localhost/shop", 2, "hashcart: error: unsupported database URL "),
    ],
)
def test_ingest_of_an_empty_file_still_reports_a_database_it_cannot_use(
    run_main: Run, tmp_path: Path, url: str, code: int, message: str
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")

    exit_code, out, err = run_main("--db", url.format(tmp=tmp_path), "ingest", str(empty))

    assert (exit_code, out) == (code, "")
    assert err.startswith(message)
    assert len(err.splitlines()) == 1


def test_the_live_demo_interval_shown_by_the_command_is_the_live_demos() -> None:
    # cli/demo.py repeats the default so `hashcart --help` need not import the engine.
    from hashcart.cli.demo import DEFAULT_INTERVAL as shown_default
    from hashcart.live_demo import DEFAULT_INTERVAL as live_default

    assert shown_default == live_default


def test_on_a_terminal_ingest_still_shows_its_progress_bar(
    run_main: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bar and Rich's live display load only when standard error is a terminal.
    import io

    from rich.console import Console

    import hashcart.cli.ingest as ingest_command

    terminal = io.StringIO()
    monkeypatch.setattr(
        ingest_command, "errors", Console(file=terminal, force_terminal=True, width=200)
    )
    payloads = tmp_path / "payloads.jsonl"
    payloads.write_bytes(b'{"not": "a post"}\n{"nor": "this"}\n')

    code, out, err = run_main("--db", f"sqlite:///{tmp_path / 'shop.db'}", "ingest", str(payloads))

    assert (code, err) == (0, "")
    assert summary_count(out, "lines read") == 2
    assert str(payloads) in terminal.getvalue()
    assert "\x1b[" in terminal.getvalue()  # drawn as a live display, not plain text


def test_posts_per_second_leaves_out_the_opening_whenever_it_happens(
    run_main: Run, tmp_path: Path
) -> None:
    # The first run opens a missing database at start, the second a current one at its
    # first block; either way the rate counts the lines over the time spent reading them.
    payloads = tmp_path / "payloads.jsonl"
    payloads.write_bytes(b'{"not": "a post"}\n' * 50)
    database = f"sqlite:///{tmp_path / 'shop.db'}"

    for _ in ("opened at start", "opened at the first block"):
        code, out, _err = run_main("--db", database, "ingest", str(payloads))
        assert code == 0
        assert summary_count(out, "posts per second") > 0
