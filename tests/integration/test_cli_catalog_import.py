"""`hashcart catalog import` as scripts use it, on SQLite and PostgreSQL (run in this process
through the real entry point, tests/cli_runner.py): the rows the products table cannot hold
(an id over 200 characters, a price of 10^10 or more) and a product listed twice are handled
row by row, as the console's import does, instead of failing the whole import."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from hashcart.store import schema as t
from tests.cli_runner import Result, run_cli

HEADER = "id,title,link,price,availability"


def run(database_url: str, cwd: Path, *args: str) -> Result:
    return run_cli(args, env={"HASHCART_DATABASE_URL": database_url}, cwd=cwd)


def products(database_url: str) -> dict[str, tuple[str, Decimal | None]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(t.products.c.product_id, t.products.c.title, t.products.c.price_amount)
            ).all()
    finally:
        engine.dispose()
    return {
        row.product_id: (row.title, None if row.price_amount is None else Decimal(row.price_amount))
        for row in rows
    }


def row(product_id: str, title: str, price: str = "9.50 USD") -> str:
    return f"{product_id},{title},https://shop.example/products/{product_id[:50]},{price},in_stock"


def import_feed(database_url: str, tmp_path: Path, *rows: str) -> Result:
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join([HEADER, *rows]) + "\n")
    return run(database_url, tmp_path, "catalog", "import", str(feed))


def test_a_product_listed_twice_takes_its_last_row(database_url: str, tmp_path: Path) -> None:
    result = import_feed(
        database_url,
        tmp_path,
        row("mug", "Old mug", "9.50 USD"),
        row("beans", "Beans", "24.50 USD"),
        row("mug", "New mug", "12.00 USD"),
    )
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == "imported 2 products"
    assert products(database_url) == {
        "mug": ("New mug", Decimal("12.00")),
        "beans": ("Beans", Decimal("24.50")),
    }


def test_an_id_over_200_characters_is_skipped_and_the_rest_imported(
    database_url: str, tmp_path: Path
) -> None:
    long_id = "x" * 201
    result = import_feed(database_url, tmp_path, row(long_id, "Too long"), row("mug", "Mug"))
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "imported 1 products, skipped 1 rows" in result.stdout
    feed = tmp_path / "feed.csv"
    assert f"{feed}: skipped: id '{'x' * 40}…' is longer than 200 characters" in result.stderr
    assert list(products(database_url)) == ["mug"]


@pytest.mark.parametrize("price", ["10000000000.00 USD", "99999999999999 USD"])
def test_a_price_of_ten_to_the_ten_or_more_is_skipped_and_the_rest_imported(
    database_url: str, tmp_path: Path, price: str
) -> None:
    result = import_feed(database_url, tmp_path, row("yacht", "Yacht", price), row("mug", "Mug"))
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "imported 1 products, skipped 1 rows" in result.stdout
    assert "skipped: price of 'yacht' is too large" in result.stderr
    assert list(products(database_url)) == ["mug"]


def test_the_largest_price_the_table_holds_is_imported(database_url: str, tmp_path: Path) -> None:
    result = import_feed(database_url, tmp_path, row("car", "Car", "9999999999.99 USD"))
    assert result.exit_code == 0, result.stderr
    assert products(database_url) == {"car": ("Car", Decimal("9999999999.99"))}


def test_all_the_problems_in_one_feed_are_each_reported(database_url: str, tmp_path: Path) -> None:
    result = import_feed(
        database_url,
        tmp_path,
        row("mug", "Mug"),
        row("odd", "Odd").replace("in_stock", "someday"),  # line 3: no such availability
        row("y" * 300, "Long"),
        row("yacht", "Yacht", "20000000000 USD"),
        row("mug", "Mug again"),
    )
    assert result.exit_code == 0, result.stderr
    assert "imported 1 products, skipped 3 rows" in result.stdout
    feed = tmp_path / "feed.csv"
    assert f"{feed}:3: skipped: availability 'someday'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 3
    assert products(database_url) == {"mug": ("Mug again", Decimal("9.50"))}


def test_a_feed_that_cannot_be_read_imports_nothing_and_exits_2(
    database_url: str, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_bytes(
        HEADER.encode() + b"\nmug,Caf\xe9,https://shop.example/products/mug,1 USD,in_stock\n"
    )
    result = run(database_url, tmp_path, "catalog", "import", str(feed))
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert f"{feed}: the feed is not UTF-8" in result.stderr
    assert products(database_url) == {}
