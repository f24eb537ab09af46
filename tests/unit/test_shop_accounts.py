"""The setting `shop_accounts`: `network:account` entries, read once and refused at start when
they name no network we know or no account."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashcart.config import load_settings
from hashcart.domain.posts import Network
from hashcart.domain.shop_accounts import ShopAccount, parse_shop_account, parse_shop_accounts


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HASHCART_CONFIG", "HASHCART_SHOP_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("x:trailhead", ShopAccount(Network.X, "trailhead")),
        ("x:1392207040934993921", ShopAccount(Network.X, "1392207040934993921")),
        # The network's name in any case, and spaces around the parts, are forgiven.
        ("  X : TrailHead ", ShopAccount(Network.X, "TrailHead")),
        (
            "mastodon:trailhead@coffee.social",
            ShopAccount(Network.MASTODON, "trailhead@coffee.social"),
        ),
        (
            "mastodon:https://coffee.social/users/trailhead",
            ShopAccount(Network.MASTODON, "https://coffee.social/users/trailhead"),
        ),
        # Only the first colon separates the network: DIDs have more.
        ("bluesky:did:plc:abc123", ShopAccount(Network.BLUESKY, "did:plc:abc123")),
    ],
)
def test_entries_name_a_network_and_an_account(entry: str, expected: ShopAccount) -> None:
    assert parse_shop_account(entry) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("trailhead", "is not like 'x:handle'"),
        ("twitter:trailhead", "names no network we know (one of x, mastodon, bluesky)"),
        ("web:trailhead", "names no network we know"),
        (":trailhead", "names no network we know"),
        ("x:", "names no account after the colon"),
        ("x:   ", "names no account after the colon"),
        ("x:@trailhead", "write the handle without its '@'"),
        ("x:trail head", "has a space or a control character"),
        ("x:trail\x00head", "has a space or a control character"),
        ("x:" + "a" * 301, "is longer than 300 characters"),
    ],
)
def test_malformed_entries_are_refused_with_the_reason(entry: str, message: str) -> None:
    with pytest.raises(ValueError, match="shop account") as refused:
        parse_shop_account(entry)
    assert message in str(refused.value)


def test_a_list_is_parsed_in_order_with_duplicates_once() -> None:
    assert parse_shop_accounts(["x:trailhead", "bluesky:did:plc:abc", "x:trailhead"]) == (
        ShopAccount(Network.X, "trailhead"),
        ShopAccount(Network.BLUESKY, "did:plc:abc"),
    )
    assert parse_shop_accounts([]) == ()


def test_one_string_is_not_taken_for_a_list_of_letters() -> None:
    with pytest.raises(TypeError):
        parse_shop_accounts("x:trailhead")


def test_the_default_is_no_accounts() -> None:
    settings = load_settings()
    assert settings.shop_accounts == ()
    assert settings.parsed_shop_accounts() == ()


def test_a_settings_file_and_the_environment_set_the_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hashcart.toml"
    config.write_text('shop_accounts = ["x:trailhead", "bluesky:did:plc:abc"]\n')
    assert load_settings(config).parsed_shop_accounts() == (
        ShopAccount(Network.X, "trailhead"),
        ShopAccount(Network.BLUESKY, "did:plc:abc"),
    )
    monkeypatch.setenv("HASHCART_SHOP_ACCOUNTS", "mastodon:trailhead@coffee.social, x:42")
    assert load_settings(config).shop_accounts == ("mastodon:trailhead@coffee.social", "x:42")


@pytest.mark.parametrize(
    "line",
    [
        'shop_accounts = ["trailhead"]',
        'shop_accounts = ["facebook:trailhead"]',
        'shop_accounts = ["x:@trailhead"]',
        'shop_accounts = ["x:"]',
    ],
)
def test_malformed_accounts_are_refused_at_start(tmp_path: Path, line: str) -> None:
    config = tmp_path / "hashcart.toml"
    config.write_text(line + "\n")
    with pytest.raises(ValueError, match="shop account"):
        load_settings(config)


def test_a_malformed_account_from_the_environment_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HASHCART_SHOP_ACCOUNTS", "x:trailhead,myspace:tom")
    with pytest.raises(ValueError, match="names no network we know"):
        load_settings()
