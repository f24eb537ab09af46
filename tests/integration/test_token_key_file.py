"""Issue 14: with no `token_key` set, the first start makes one in a file beside the
database that only its owner can read, and every later start reads it back."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hashcart.bootstrap import open_app
from hashcart.config import Settings
from hashcart.secretbox import SecretBox, token_key_path, with_token_key
from tests.cli_runner import run_cli

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _start(url: str, folder: Path) -> None:
    """One start of a long-running command (`dispatch --once` starts as `serve` does)."""
    result = run_cli(
        ["dispatch", "--once", "--json"], env={"HASHCART_DATABASE_URL": url}, cwd=folder
    )
    assert result.exit_code == 0, result.stderr


def test_the_first_start_makes_the_key_file_owner_only_and_the_second_reuses_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    key_file = tmp_path / "shop.db.token_key"
    assert token_key_path(url) == key_file
    assert not key_file.exists()
    _start(url, tmp_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    SecretBox(first.strip())  # a usable Fernet key
    _start(url, tmp_path)
    assert key_file.read_text() == first


def test_sealed_sessions_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    _start(url, tmp_path)
    settings = with_token_key(Settings(database_url=url), None, create=False)
    app = open_app(settings)
    app.sealed_sessions().keep("bluesky", SecretBox.of(settings).seal({"did": "did:plc:shop"}))
    app.engine.dispose()

    _start(url, tmp_path)  # the restart
    again = with_token_key(Settings(database_url=url), None, create=False)
    reopened = open_app(again)
    sealed = reopened.sealed_sessions().read("bluesky")
    reopened.engine.dispose()
    assert sealed is not None
    assert SecretBox.of(again).open(sealed) == {"did": "did:plc:shop"}


def test_a_key_file_others_can_read_is_refused_with_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    _start(url, tmp_path)
    key_file = tmp_path / "shop.db.token_key"
    key_file.chmod(0o644)
    result = run_cli(["dispatch", "--once"], env={"HASHCART_DATABASE_URL": url}, cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert f"the token key file {key_file} can be read by others (mode 0644)" in result.stderr
    assert f"chmod 600 {key_file}" in result.stderr


def test_a_set_token_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    key = SecretBox.__name__  # any text: the setting is taken as given
    settings = with_token_key(Settings(database_url=url, token_key=key), None, create=True)
    assert settings.token_key is not None and settings.token_key.get_secret_value() == key
    assert not (tmp_path / "shop.db.token_key").exists()


def test_postgresql_keeps_the_key_beside_the_settings_file_else_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://shop@127.0.0.1/shop"
    config = tmp_path / "etc" / "hashcart.toml"
    assert token_key_path(url, config) == tmp_path / "etc" / "hashcart.token_key"
    monkeypatch.chdir(tmp_path)
    assert token_key_path(url) == tmp_path / "hashcart.token_key"


def test_other_commands_read_the_key_but_never_make_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    result = run_cli(["carts", "--json"], env={"HASHCART_DATABASE_URL": url}, cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert not (tmp_path / "shop.db.token_key").exists()
