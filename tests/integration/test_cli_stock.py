"""`hashcart stock set|list` and a feed's `quantity` column, on SQLite and PostgreSQL (run
in this process through the real entry point, tests/cli_runner.py): the merchant sets a
count or clears it, sees what checkouts hold beside it, and hostile input changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from hashcart.store import schema as t
from hashcart.store import stock
from tests.cli_runner import Result, run_cli

HEADER = "id,title,link,price,availability"


def run(database_url: str, cwd: Path, *args: str) -> Result:
    return run_cli(args, env={"HASHCART_DATABASE_URL": database_url}, cwd=cwd)


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> str:
    """A catalog of a mug (its count set to 5) and beans (not counted)."""
    feed = tmp_path / "feed.csv"
    feed.write_text(
        f"{HEADER},quantity\n"
        "mug,Enamel Mug,https://shop.example/p/mug,18.00 USD,in_stock,5\n"
        "beans,Summit Roast,https://shop.example/p/beans,24.50 USD,in_stock,\n"
    )
    imported = run(database_url, tmp_path, "catalog", "import", str(feed))
    assert imported.exit_code == 0, imported.stderr
    return database_url


def counts(database_url: str) -> dict[str, int | None]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(t.products.c.product_id, t.products.c.stock)).all()
    finally:
        engine.dispose()
    return {row.product_id: row.stock for row in rows}


def hold(database_url: str, holder: str, wanted: dict[str, int], *, until: datetime) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            now = until - timedelta(minutes=15)
            stock.reserve(connection, holder, wanted, reason="checkout", now=now, until=until)
    finally:
        engine.dispose()


def listed(database_url: str, tmp_path: Path) -> dict[str, dict[str, object]]:
    result = run(database_url, tmp_path, "stock", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return {entry["product"]: entry for entry in json.loads(result.stdout)}


def test_a_feed_s_quantity_sets_the_count_and_an_empty_cell_leaves_it(
    shop: str, tmp_path: Path
) -> None:
    assert counts(shop) == {"mug": 5, "beans": None}
    again = tmp_path / "again.csv"
    again.write_text(
        f"{HEADER},quantity\nmug,Enamel Mug,https://shop.example/p/mug,18.00 USD,in_stock,\n"
    )
    assert run(shop, tmp_path, "catalog", "import", str(again)).exit_code == 0
    no_column = tmp_path / "plain.csv"
    no_column.write_text(
        f"{HEADER}\nmug,Enamel Mug,https://shop.example/p/mug,19.00 USD,in_stock\n"
    )
    assert run(shop, tmp_path, "catalog", "import", str(no_column)).exit_code == 0
    assert counts(shop) == {"mug": 5, "beans": None}
    cleared = tmp_path / "cleared.csv"
    cleared.write_text(
        f"{HEADER},quantity\nmug,Enamel Mug,https://shop.example/p/mug,18.00 USD,in_stock,unknown\n"
    )
    assert run(shop, tmp_path, "catalog", "import", str(cleared)).exit_code == 0
    assert counts(shop)["mug"] is None


def test_a_feed_row_with_a_bad_quantity_is_skipped_and_the_rest_go_in(
    shop: str, tmp_path: Path
) -> None:
    feed = tmp_path / "bad.csv"
    feed.write_text(
        f"{HEADER},quantity\n"
        "mug,Renamed Mug,https://shop.example/p/mug,18.00 USD,in_stock,-2\n"
        "beans,Summit Roast,https://shop.example/p/beans,24.50 USD,in_stock,40\n"
    )
    result = run(shop, tmp_path, "catalog", "import", str(feed))
    assert result.exit_code == 0
    assert result.stdout.strip() == "imported 1 products, skipped 1 rows"
    assert f"{feed}:2: skipped: quantity: a stock count cannot be negative: '-2'" in result.stderr
    assert counts(shop) == {"mug": 5, "beans": 40}


def test_setting_and_clearing_a_count(shop: str, tmp_path: Path) -> None:
    result = run(shop, tmp_path, "stock", "set", "beans", "12")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "stock of beans: 12 (0 held, 12 free)"
    assert run(shop, tmp_path, "stock", "set", "mug", "0").exit_code == 0
    assert counts(shop) == {"mug": 0, "beans": 12}

    result = run(shop, tmp_path, "stock", "set", "beans", "unknown")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "stock of beans: unknown (not counted)"
    assert counts(shop) == {"mug": 0, "beans": None}


def test_the_list_shows_live_holds_beside_the_count_and_not_expired_ones(
    shop: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    hold(shop, "checkout:paying", {"mug": 2}, until=now + timedelta(hours=1))
    hold(shop, "checkout:gone", {"mug": 1}, until=now - timedelta(minutes=1))  # ran out
    hold(shop, "checkout:other", {"beans": 4}, until=now + timedelta(hours=1))

    assert listed(shop, tmp_path) == {
        "beans": {
            "product": "beans",
            "title": "Summit Roast",
            "stock": None,
            "held": 4,
            "free": None,
        },
        "mug": {"product": "mug", "title": "Enamel Mug", "stock": 5, "held": 2, "free": 3},
    }
    table = run(shop, tmp_path, "stock", "list")
    assert table.exit_code == 0
    mug_row = next(line for line in table.stdout.splitlines() if "Enamel Mug" in line)
    assert [cell.strip() for cell in mug_row.split("│")[3:6]] == ["5", "2", "3"]


def test_a_count_lowered_under_a_hold_keeps_the_hold_and_leaves_none_free(
    shop: str, tmp_path: Path
) -> None:
    hold(shop, "checkout:paying", {"mug": 4}, until=datetime.now(UTC) + timedelta(hours=1))
    result = run(shop, tmp_path, "stock", "set", "mug", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "stock of mug: 1 (4 held, 0 free)"
    assert listed(shop, tmp_path)["mug"]["free"] == 0


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-1", "a stock count cannot be negative: '-1'"),
        ("1000000001", "a stock count is at most 1,000,000,000"),
        ("9" * 100_000, "a stock count is at most 1,000,000,000"),
        ("twelve", "a stock count is a whole number of units, or 'unknown': not 'twelve'"),
        ("3\x00", "not '3\\x00'"),
        ("\udcff\udcfe", "not '\\udcff\\udcfe'"),  # bytes that are not UTF-8, as argv gives them
        ("", "a stock count is a whole number"),
    ],
)
def test_a_count_that_is_not_one_is_refused_in_one_line_and_changes_nothing(
    shop: str, tmp_path: Path, quantity: str, message: str
) -> None:
    result = run(shop, tmp_path, "stock", "set", "mug", quantity)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert counts(shop) == {"mug": 5, "beans": None}


@pytest.mark.parametrize(
    "product_id",
    ["nothing", "mug\x00", "\udcffmug", "m" * 201, "m" * 100_000, "%", "MUG"],
)
def test_a_product_that_is_not_there_is_refused_and_changes_nothing(
    shop: str, tmp_path: Path, product_id: str
) -> None:
    result = run(shop, tmp_path, "stock", "set", product_id, "3")
    assert result.exit_code == 2
    assert result.stderr.startswith("hashcart: error: no product with id ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert counts(shop) == {"mug": 5, "beans": None}


def test_an_empty_catalog_lists_nothing(database_url: str, tmp_path: Path) -> None:
    assert run(database_url, tmp_path, "init").exit_code == 0
    assert listed(database_url, tmp_path) == {}


def test_a_feed_s_escape_sequences_reach_no_terminal_and_json_keeps_them(
    database_url: str, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        f'{HEADER},quantity\n"a\x1b[31mb",Mug\x1b[2J,https://shop.example/p/e,5.00 USD,in_stock,2\n'
    )
    assert run(database_url, tmp_path, "catalog", "import", str(feed)).exit_code == 0

    table = run(database_url, tmp_path, "stock", "list")
    said = run(database_url, tmp_path, "stock", "set", "a\x1b[31mb", "3")
    assert "\x1b" not in table.stdout + said.stdout
    assert "a\\x1b[31mb" in table.stdout and "Mug\\x1b[2J" in table.stdout
    assert said.stdout.strip() == "stock of a\\x1b[31mb: 3 (0 held, 3 free)"
    assert listed(database_url, tmp_path)["a\x1b[31mb"]["title"] == "Mug\x1b[2J"
