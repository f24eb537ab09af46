"""Settings: defaults, a TOML file, HASHCART_* variables over it, explicit overrides over all."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashcart.config import DEFAULT_DATABASE_URL, ConfigFileError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HASHCART_CONFIG",
        "HASHCART_DATABASE_URL",
        "HASHCART_CART_TAGS",
        "HASHCART_MAX_QUANTITY",
        "HASHCART_SHOP_HOSTS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_database_defaults_to_a_sqlite_file_in_the_working_folder() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///hashcart.db"
    assert settings.cart_tags == ("cart",) and settings.wishlist_tags == ("wishlist",)


def test_a_toml_file_sets_values(tmp_path: Path) -> None:
    config = tmp_path / "hashcart.toml"
    config.write_text('cart_tags = ["AmazonCart"]\nmax_quantity = 5\n')
    settings = load_settings(config)
    assert settings.cart_tags == ("AmazonCart",)
    assert settings.max_quantity == 5


def test_the_config_file_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hashcart.toml"
    config.write_text("max_quantity = 4\n")
    monkeypatch.setenv("HASHCART_CONFIG", str(config))
    assert load_settings().max_quantity == 4


def test_environment_variables_override_the_file_and_take_comma_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hashcart.toml"
    config.write_text('max_quantity = 5\nshop_hosts = ["file.example"]\n')
    monkeypatch.setenv("HASHCART_MAX_QUANTITY", "3")
    monkeypatch.setenv("HASHCART_SHOP_HOSTS", "a.example, b.example")
    settings = load_settings(config)
    assert settings.max_quantity == 3
    assert settings.shop_hosts == ("a.example", "b.example")


def test_an_explicit_database_url_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HASHCART_DATABASE_URL", "sqlite:///from-env.db")
    assert load_settings(database_url="sqlite:///from-flag.db").database_url == (
        "sqlite:///from-flag.db"
    )
    assert load_settings().database_url == "sqlite:///from-env.db"


def test_a_missing_or_broken_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="not found"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("max_quantity = = 3\n")
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        load_settings(broken)


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "hashcart.toml"
    config.write_text("max_quantitty = 3\n")
    with pytest.raises(ValueError, match="max_quantitty"):
        load_settings(config)


@pytest.mark.parametrize(
    "line",
    ['cart_tags = ["#cart"]', 'wishlist_tags = ["cart"]', 'shop_hosts = ["not a host"]'],
)
def test_trigger_tags_and_hosts_the_engine_cannot_use_are_refused_at_start(
    tmp_path: Path, line: str
) -> None:
    config = tmp_path / "hashcart.toml"
    config.write_text(line + "\n")
    with pytest.raises(ValueError):
        load_settings(config)
