"""How `hashcart` reports errors: one line on standard error and an exit code, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import hashcart.cli as cli
from hashcart.secretbox import NoTokenKey
from tests.cli_runner import run_cli

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_main(tmp_path: Path) -> Run:
    """Runs the real entry point in this process (tests/cli_runner.py), in tmp_path, with no
    HASHCART_* setting; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        result = run_cli(args, cwd=tmp_path)
        return result.exit_code, result.stdout, result.stderr

    return run


def test_a_postgresql_url_without_its_driver_says_how_to_install_it_and_exits_2(
    run_main: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    code, out, err = run_main("--db", "postgresql://shop@localhost/shop", "carts")
    assert code == 2
    assert out == ""
    assert err == (
        "hashcart: error: PostgreSQL needs its driver (psycopg is not installed): "
        "pip install 'hashcart[postgres]'\n"
    )


def test_an_unsupported_database_url_is_still_a_usage_error(run_main: Run) -> None:
    code, _, err = run_main("--db", "mysql://shop@localhost/shop", "carts")
    assert code == 2
    assert err.startswith("hashcart: error: unsupported database URL 'mysql://shop@localhost/shop'")
    assert len(err.splitlines()) == 1


def test_a_hashcart_error_that_reaches_the_entry_point_is_one_line_and_exit_1(
    run_main: Run,
) -> None:
    def explode() -> None:
        raise NoTokenKey("token_key is not set")

    cli.app.command("explode-for-test")(explode)
    try:
        code, _, err = run_main("explode-for-test")
    finally:
        cli.app.registered_commands.pop()
    assert code == 1
    assert err == "hashcart: error: token_key is not set\n"
