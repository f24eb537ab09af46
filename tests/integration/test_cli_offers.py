"""`hashcart offers add | list | pause | resume` (issue 12, offers by hashtag) on SQLite and
PostgreSQL: what a merchant types is checked (one readable line, exit 2, nothing stored),
and the list counts loads and redemptions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.cli_runner import run_cli
from tests.harness import Shop
from tests.payloads import x_tweet

ALICE = "alice@example.com"


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer(ALICE, (Network.X, "2002", "alice_x"))
    return shop


def cli(shop: Shop, *args: str) -> Any:
    return run_cli(
        ["offers", *args], env={"HASHCART_DATABASE_URL": str(shop.app.settings.database_url)}
    )


def offers_stored(shop: Shop) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(t.offers)).scalar_one())


def listed(shop: Shop) -> list[dict[str, Any]]:
    done = cli(shop, "list", "--json")
    assert done.exit_code == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def test_add_then_list_shows_the_offer_and_its_loads(shop: Shop) -> None:
    added = cli(
        shop,
        "add",
        "#Summer20",
        "--percent",
        "20",
        "--products",
        "mug,beans",
        "--limit",
        "100",
        "--expires",
        "2031-01-01T00:00:00Z",
    )
    assert added.exit_code == 0, added.stderr
    assert "#Summer20, 20% off" in added.stdout
    shop.ingest([x_tweet("8300", "2002", "alice_x", "#summer20", hashtags=("summer20",))])

    [offer] = listed(shop)
    assert offer["tag"] == "Summer20" and offer["percent_off"] == "20"
    assert offer["products"] == ["mug", "beans"] and offer["limit"] == 100
    assert offer["expires_at"].startswith("2031-01-01T00:00:00")
    assert (offer["loads"], offer["pending"], offer["redemptions"]) == (1, 0, 0)
    assert offer["paused"] is False and offer["amount_off"] is None
    table = cli(shop, "list")
    assert table.exit_code == 0 and "#Summer20" in table.stdout


def test_an_amount_off_is_in_the_given_currency(shop: Shop) -> None:
    added = cli(shop, "add", "fiver", "--amount", "5", "--currency", "eur")
    assert added.exit_code == 0, added.stderr
    [offer] = listed(shop)
    assert (offer["amount_off"], offer["currency"]) == ("5.00", "EUR")
    assert offer["describe"] == "5.00 EUR off"


def test_pause_and_resume_by_id_or_tag(shop: Shop) -> None:
    assert cli(shop, "add", "summer20", "--percent", "10").exit_code == 0
    paused = cli(shop, "pause", "#SUMMER20")
    assert paused.exit_code == 0 and "paused" in paused.stdout
    assert listed(shop)[0]["paused"] is True
    resumed = cli(shop, "resume", str(listed(shop)[0]["id"]))
    assert resumed.exit_code == 0 and listed(shop)[0]["paused"] is False
    missing = cli(shop, "pause", "nosuch")
    assert missing.exit_code == 2 and "no offer 'nosuch'" in missing.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["summer", "--percent", "10", "--amount", "5"], "exactly one of --percent and --amount"),
        (["summer"], "exactly one of --percent and --amount"),
        (["summer", "--percent", "0"], "above 0 and at most 100"),
        (["summer", "--percent", "100.01"], "above 0 and at most 100"),
        (["summer", "--percent", "-5"], "above 0 and at most 100"),
        (["summer", "--percent", "NaN"], "must be a number"),
        (["summer", "--percent", "1e999999"], "above 0 and at most 100"),
        (["summer", "--percent", "Infinity"], "must be a number"),
        (["summer", "--percent", "12.345678"], "at most 4 decimals"),
        (["summer", "--percent", "1e-999999"], "at most 4 decimals"),
        (["summer", "--amount", "-5", "--currency", "EUR"], "more than 0"),
        (["summer", "--amount", "0.001", "--currency", "EUR"], "at most 2 decimals"),
        (["summer", "--amount", "5"], "--currency"),  # the catalog has no prices
        (["two words", "--percent", "5"], "not a hashtag"),
        (["2024", "--percent", "5"], "not a hashtag"),
        (["#", "--percent", "5"], "not a hashtag"),
        (["sum\x00mer", "--percent", "5"], "not a hashtag"),
        (["<script>alert(1)</script>", "--percent", "5"], "not a hashtag"),
        (["a" * 65, "--percent", "5"], "at most 64"),
        (["cart", "--percent", "5"], "the cart tag already"),
        (["CartLink", "--percent", "5"], "the link tag already"),
        (["order", "--percent", "5"], "the order_status tag already"),
        (["summer", "--percent", "5", "--products", "mug,nosuch"], "no product with id 'nosuch'"),
        (["summer", "--percent", "5", "--products", ","], "names no product"),
        (["summer", "--percent", "5", "--limit", "0"], "--limit must be at least 1"),
        (["summer", "--percent", "5", "--expires", "2026-02-30"], "not an ISO-8601"),
        (["summer", "--percent", "5", "--expires", "yesterday"], "not an ISO-8601"),
        (["summer", "--percent", "5", "--expires", "2001-01-01"], "in the past"),
    ],
)
def test_a_bad_offer_is_refused_with_one_line_and_nothing_stored(
    shop: Shop, args: list[str], says: str
) -> None:
    done = cli(shop, "add", *args)
    assert done.exit_code == 2, (done.stdout, done.stderr)
    assert says in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert offers_stored(shop) == 0


def test_a_tag_taken_by_another_offer_in_any_case_is_refused(shop: Shop) -> None:
    assert cli(shop, "add", "summer20", "--percent", "10").exit_code == 0
    again = cli(shop, "add", "SUMMER20", "--percent", "15")
    assert again.exit_code == 2 and "taken" in again.stderr
    assert offers_stored(shop) == 1
