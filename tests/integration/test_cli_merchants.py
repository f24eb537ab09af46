"""`hashcart merchants add/list` on a real SQLite file, as scripts use them (run in this process
through the real entry point, tests/cli_runner.py; the prompts read the input given)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, select

from hashcart.store import schema as t
from hashcart.web.passwords import verify_password
from tests.integration.test_cli import run

PASSWORD = "correct horse battery"


def stored_hashes(tmp_path: Path) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as connection:
        rows = connection.execute(select(t.merchants.c.email, t.merchants.c.password_hash)).all()
    engine.dispose()
    return {email: password_hash for email, password_hash in rows}


def test_add_reads_the_password_from_stdin_and_stores_an_argon2_hash(tmp_path: Path) -> None:
    added = run(
        tmp_path,
        "merchants",
        "add",
        "owner@shop.example",
        "--password-stdin",
        stdin=f"{PASSWORD}\n".encode(),
    )
    assert added.exit_code == 0, added.stderr
    assert added.stdout.strip() == "merchant added: owner@shop.example"
    hashes = stored_hashes(tmp_path)
    assert list(hashes) == ["owner@shop.example"]
    assert hashes["owner@shop.example"].startswith("$argon2id$")
    assert verify_password(PASSWORD, hashes["owner@shop.example"])


def test_add_asks_for_the_password_twice_without_echo(tmp_path: Path) -> None:
    added = run(
        tmp_path,
        "merchants",
        "add",
        "owner@shop.example",
        stdin=f"{PASSWORD}\n{PASSWORD}\n".encode(),
    )
    assert added.exit_code == 0, added.stderr
    assert "Repeat for confirmation" in added.stdout
    assert PASSWORD not in added.stdout
    assert verify_password(PASSWORD, stored_hashes(tmp_path)["owner@shop.example"])


def test_two_different_passwords_at_the_prompt_add_nobody(tmp_path: Path) -> None:
    added = run(
        tmp_path,
        "merchants",
        "add",
        "owner@shop.example",
        stdin=f"{PASSWORD}\nsomething else entirely\n".encode(),
    )
    assert added.exit_code != 0
    assert "do not match" in added.stderr + added.stdout
    assert run(tmp_path, "merchants", "list", "--json").stdout.strip() == "[]"


def test_adding_again_changes_the_password(tmp_path: Path) -> None:
    run(
        tmp_path,
        "merchants",
        "add",
        "owner@shop.example",
        "--password-stdin",
        stdin=b"first one 123\n",
    )
    again = run(
        tmp_path,
        "merchants",
        "add",
        "OWNER@shop.example",
        "--password-stdin",
        stdin=b"second one 456\n",
    )
    assert again.exit_code == 0
    assert "merchant exists, password changed" in again.stdout
    hashes = stored_hashes(tmp_path)
    assert len(hashes) == 1
    assert verify_password("second one 456", hashes["owner@shop.example"])


def test_list_shows_merchants_as_a_table_or_json_without_hashes(tmp_path: Path) -> None:
    empty = run(tmp_path, "merchants", "list")
    assert empty.exit_code == 0
    assert "no merchants yet" in empty.stdout
    for email in ("zed@shop.example", "amy@shop.example"):
        run(tmp_path, "merchants", "add", email, "--password-stdin", stdin=f"{PASSWORD}\n".encode())
    listed = run(tmp_path, "merchants", "list", "--json")
    assert listed.exit_code == 0
    merchants = json.loads(listed.stdout)
    assert [merchant["email"] for merchant in merchants] == ["amy@shop.example", "zed@shop.example"]
    assert set(merchants[0]) == {"email", "created_at"}
    table = run(tmp_path, "merchants", "list")
    assert "amy@shop.example" in table.stdout and "zed@shop.example" in table.stdout
    assert "argon2" not in table.stdout + listed.stdout


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = [
        (("merchants", "add", "not-an-email", "--password-stdin"), f"{PASSWORD}\n", "not an email"),
        (("merchants", "add", "a@shop.example", "--password-stdin"), "short\n", "at least 10"),
        (("merchants", "add", "a@shop.example", "--password-stdin"), "", "nothing on standard"),
    ]
    for args, stdin, message in cases:
        result = run(tmp_path, *args, stdin=stdin.encode())
        assert result.exit_code == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hashcart: error: ")
        assert message in lines[0]
    assert run(tmp_path, "merchants", "list", "--json").stdout.strip() == "[]"
