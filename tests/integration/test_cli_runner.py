"""tests/cli_runner.py answers as a real `hashcart` process does, and leaves the test process
as it found it; plus the few things only a real process shows (the console script, `python -m
hashcart`, exit statuses as the operating system sees them)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.color import ColorSystem
from sqlalchemy import create_engine, text

from tests.cli_runner import Result, run_cli
from tests.databases import fresh_postgres_database

CONSOLE_SCRIPT = Path(sys.executable).with_name("hashcart")


def in_process(tmp_path: Path, *args: str) -> Result:
    return run_cli(args, env={"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"})


def in_a_process(command: list[str], tmp_path: Path, *args: str) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHCART_")}
    env |= {"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200"}
    ran = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=120,
    )
    return Result(ran.returncode, ran.stdout, ran.stderr)


def console_script() -> list[str]:
    if not CONSOLE_SCRIPT.is_file():
        pytest.skip(f"no console script at {CONSOLE_SCRIPT} (hashcart not installed in this venv)")
    return [str(CONSOLE_SCRIPT)]


# A real process on the installed console script: what it prints and its exit status, the
# statuses as the operating system reports them. The runner must give the same three things.
SAME_AS_A_PROCESS = [
    pytest.param(("init",), id="init"),
    pytest.param(("carts", "--json"), id="carts-json"),
    pytest.param(("carts", "--customer", "nobody@example.com"), id="usage-problem-exit-2"),
    pytest.param(("ingest", "--format", "myspace", "-"), id="click-usage-error-exit-2"),
    pytest.param(("tokens", "revoke", "first"), id="not-a-number-exit-2"),
    pytest.param(("--db", "sqlite:///{tmp}/no/such/folder.db", "carts"), id="database-exit-1"),
    pytest.param(("--help",), id="help"),
    pytest.param(("carts",), id="empty-table"),
]


@pytest.mark.parametrize("args", SAME_AS_A_PROCESS)
def test_the_runner_answers_as_the_console_script_does(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    args = tuple(arg.replace("{tmp}", str(tmp_path)) for arg in args)
    script = console_script()
    if args[0] != "init":
        assert in_process(tmp_path, "init").exit_code == 0  # both see the same database
    in_runner = in_process(tmp_path, *args)
    real = in_a_process(script, tmp_path, *args)
    assert in_runner == real
    assert "Traceback" not in real.stderr


def test_python_m_hashcart_runs_the_same_entry_point(tmp_path: Path) -> None:
    # A real process because what is under test is the module entry point itself.
    result = in_a_process([sys.executable, "-m", "hashcart"], tmp_path, "carts", "--customer", "x")
    assert result.exit_code == 2
    assert result.stderr == "hashcart: error: no customer with email 'x'\n"


def test_the_exit_status_of_a_failed_command_reaches_the_shell(tmp_path: Path) -> None:
    # A real process and a real shell: `hashcart ... || echo` is how scripts read the status.
    script = console_script()[0]
    database = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}"
    ran = subprocess.run(
        ["sh", "-c", f'"{script}" --db "{database}" carts 2>/dev/null; echo "status $?"'],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert ran.stdout.strip() == "status 1"


def test_the_test_process_environment_is_neither_seen_nor_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("HASHCART_DATABASE_URL", f"sqlite:///{elsewhere / 'not-this.db'}")
    monkeypatch.setenv("HASHCART_SHOP_ACCOUNTS", "myspace:tom")  # would stop every command
    before = dict(os.environ)

    result = run_cli(["init"], cwd=tmp_path)

    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "hashcart.db").exists()  # the default, in `cwd`
    assert not (elsewhere / "not-this.db").exists()
    assert dict(os.environ) == before
    assert Path.cwd() != tmp_path


def test_a_setting_given_for_the_call_applies_to_it_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    refused = run_cli(["carts"], env={"HASHCART_DATABASE_URL": url, "HASHCART_LOG_LEVEL": "LOUD"})
    assert refused.exit_code == 2
    assert refused.stderr.startswith("hashcart: error: invalid settings")
    assert "HASHCART_LOG_LEVEL" not in os.environ
    assert run_cli(["carts"], env={"HASHCART_DATABASE_URL": url}).exit_code == 0


def test_logging_a_command_configures_is_undone(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hashcart_level = logging.getLogger("hashcart").level

    # `listen` configures logging before it finds that no listener is configured.
    result = in_process(tmp_path, "listen")

    assert result.exit_code == 2
    assert root.handlers == handlers and root.level == level
    assert logging.getLogger("hashcart").level == hashcart_level


def test_standard_input_and_the_prompts_read_the_input_given(tmp_path: Path) -> None:
    password = "correct horse battery"
    result = run_cli(
        ["merchants", "add", "owner@shop.example"],
        env={"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"},
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.stderr
    assert "Repeat for confirmation" in result.stdout
    assert password not in result.stdout


def test_output_has_no_colour_codes_and_tables_take_the_width_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashcart.cli as cli

    # As if `hashcart.cli` had been imported in a 30-column colour terminal (pytest -s):
    # a process writing to a pipe would build its console uncoloured, at the width given.
    monkeypatch.setattr(cli.console, "_width", 30)
    monkeypatch.setattr(cli.console, "_color_system", ColorSystem.TRUECOLOR)
    assert in_process(tmp_path, "init").exit_code == 0
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    name = "a token whose name is long enough to need a table wider than sixty columns"
    assert run_cli(["tokens", "create", name], env={"HASHCART_DATABASE_URL": url}).exit_code == 0

    wide = run_cli(["tokens", "list"], env={"HASHCART_DATABASE_URL": url})
    narrow = run_cli(["tokens", "list"], env={"HASHCART_DATABASE_URL": url, "COLUMNS": "60"})

    assert "\x1b[" not in wide.stdout + narrow.stdout
    assert name in wide.stdout  # on one line
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60
    assert max(len(line) for line in wide.stdout.splitlines()) > 60


def test_a_system_exit_with_a_message_is_printed_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashcart.cli as cli

    def leave() -> None:
        sys.exit("leaving with a message")

    cli.app.command("leave-for-test")(leave)
    try:
        result = run_cli(["leave-for-test"])
    finally:
        cli.app.registered_commands.pop()
    assert (result.exit_code, result.stderr) == (1, "leaving with a message\n")


@pytest.mark.postgres
def test_no_postgresql_session_outlives_the_call(postgres_server: str) -> None:
    # A process closes its connections by exiting; in this process the runner disposes the
    # command's engines, or the sessions would pile up on the server test after test.
    database_url = fresh_postgres_database(postgres_server)
    assert run_cli(["init"], env={"HASHCART_DATABASE_URL": database_url}).exit_code == 0
    assert run_cli(["carts"], env={"HASHCART_DATABASE_URL": database_url}).exit_code == 0
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            others = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert others == 0
