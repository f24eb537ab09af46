"""`hashcart tokens` on a real SQLite file (run in this process through the real entry point,
tests/cli_runner.py), and the API accepting the token."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hashcart.bootstrap import open_app
from hashcart.config import Settings
from hashcart.store import schema as t
from hashcart.web import create_app
from hashcart.web.tokens import digest
from tests.cli_runner import Result, run_cli


def run(tmp_path: Path, *args: str) -> Result:
    return run_cli(args, env={"HASHCART_DATABASE_URL": database_url(tmp_path)}, cwd=tmp_path)


def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    assert run(tmp_path, "init").exit_code == 0
    return tmp_path


def api_status(tmp_path: Path, token: str) -> int:
    app = open_app(Settings(database_url=database_url(tmp_path)))
    try:
        with TestClient(create_app(app)) as client:
            response = client.get("/api/catalog", headers={"Authorization": f"Bearer {token}"})
        return response.status_code
    finally:
        app.engine.dispose()


def test_create_prints_one_token_once_and_stores_only_its_hash(shop_dir: Path) -> None:
    made = run(shop_dir, "tokens", "create", "reporting")
    assert made.exit_code == 0, made.stderr
    [token] = made.stdout.splitlines()
    assert token.startswith("hc_") and len(token) > 40
    assert "cannot be shown again" in made.stderr
    second = run(shop_dir, "tokens", "create", "reporting")
    assert second.stdout.strip() != token

    app = open_app(Settings(database_url=database_url(shop_dir)))
    with app.engine.connect() as connection:
        stored = connection.execute(select(t.api_tokens.c.token_hash)).scalars().all()
    app.engine.dispose()
    assert digest(token) in stored and token not in stored

    listed = run(shop_dir, "tokens", "list", "--json")
    assert token not in listed.stdout and digest(token) not in listed.stdout
    assert token not in run(shop_dir, "tokens", "list").stdout


def test_the_token_opens_the_api_until_it_is_revoked(shop_dir: Path) -> None:
    token = run(shop_dir, "tokens", "create", "reporting").stdout.strip()
    assert api_status(shop_dir, token) == 200

    [entry] = json.loads(run(shop_dir, "tokens", "list", "--json").stdout)
    assert entry["name"] == "reporting" and entry["active"] is True
    assert entry["last_used_at"] is not None

    revoked = run(shop_dir, "tokens", "revoke", str(entry["id"]))
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert api_status(shop_dir, token) == 401
    [after] = json.loads(run(shop_dir, "tokens", "list", "--json").stdout)
    assert after["active"] is False and after["revoked_at"] is not None

    again = run(shop_dir, "tokens", "revoke", str(entry["id"]))
    assert again.exit_code == 0 and "already revoked" in again.stdout


def test_the_table_lists_names_and_use(shop_dir: Path) -> None:
    run(shop_dir, "tokens", "create", "nightly export")
    table = run(shop_dir, "tokens", "list")
    assert table.exit_code == 0
    assert "nightly export" in table.stdout and "never" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tokens", "revoke", "99"), "no API token with id 99"),
        (("tokens", "create", "   "), "a token needs a name"),
        (("tokens", "create", "x" * 101), "at most 100 characters"),
    ],
)
def test_mistakes_exit_2_with_one_line(shop_dir: Path, args: tuple[str, ...], message: str) -> None:
    result = run(shop_dir, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("hashcart: error:") and message in line


def test_revoke_wants_a_number(shop_dir: Path) -> None:
    result = run(shop_dir, "tokens", "revoke", "first")
    assert result.exit_code == 2


def test_create_without_a_name_names_the_token_by_the_time_it_was_made(shop_dir: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    made = run(shop_dir, "tokens", "create")
    after = datetime.now(UTC)
    assert made.exit_code == 0, made.stderr
    [token] = made.stdout.splitlines()
    [entry] = json.loads(run(shop_dir, "tokens", "list", "--json").stdout)
    found = re.fullmatch(r"made (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", entry["name"])
    assert found, entry["name"]
    when = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= when <= after
    assert f"({entry['name']})" in made.stderr
    assert api_status(shop_dir, token) == 200


@pytest.mark.parametrize(
    "args", [("tokens", "create", "reporting"), ("tokens", "create"), ("tokens", "list")]
)
def test_tokens_refuse_a_database_that_does_not_exist_and_create_none(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = run(tmp_path, *args)  # no `init`: cli.db is not there
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("hashcart: error: no database at ")
    assert "does not create one" in line and "--db" in line
    assert not (tmp_path / "cli.db").exists()


def test_revoke_refuses_a_database_that_does_not_exist(tmp_path: Path) -> None:
    result = run(tmp_path, "tokens", "revoke", "1")
    assert result.exit_code == 2
    assert "no database at" in result.stderr
    assert not (tmp_path / "cli.db").exists()


def test_the_demo_says_its_database_and_the_token_it_leads_to_opens_its_api(
    tmp_path: Path,
) -> None:
    demo = run_cli(["demo"], cwd=tmp_path)
    assert demo.exit_code == 0, demo.stderr
    demo_db = f"sqlite:///{(tmp_path / 'hashcart-demo.db').resolve()}"
    assert f"database: {demo_db}" in demo.stdout
    [command] = [line for line in demo.stdout.splitlines() if "tokens create" in line]
    words = shlex.split(command.split("#")[0])
    assert words == ["hashcart", "--db", demo_db, "tokens", "create"]

    # The README's way, `hashcart tokens create NAME` in the demo's folder, no longer makes
    # ./hashcart.db: it says so, and names the demo's database.
    trap = run_cli(["tokens", "create", "reporting"], cwd=tmp_path)
    assert trap.exit_code == 2
    assert f"the demo's database here is --db {demo_db}" in trap.stderr
    assert not (tmp_path / "hashcart.db").exists()

    made = run_cli(words[1:], cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    token = made.stdout.strip()
    demo_app = open_app(Settings(database_url=demo_db))  # the demo's app, on its database
    try:
        with TestClient(create_app(demo_app)) as client:
            bearer = {"Authorization": f"Bearer {token}"}
            posts = client.get("/api/posts", headers=bearer)
            assert posts.status_code == 200
            assert posts.json()  # the demo's posts, not an empty new shop
            wrong = client.get("/api/posts", headers={"Authorization": "Bearer hc_nope"})
            assert wrong.status_code == 401
    finally:
        demo_app.engine.dispose()
