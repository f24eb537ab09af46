"""Catalog feeds with Google Merchant Center column names, as CSV, TSV or JSON Lines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hashcart.services.catalog import FeedError, FeedRow, RowProblem, parse_price, read_feed


def test_a_csv_feed_gives_one_row_per_product_with_price_and_currency() -> None:
    feed = (
        b"id,title,link,price,availability\n"
        b"mug,Enamel Mug,https://shop.example/products/mug,19.99 USD,in_stock\n"
        b'kettle,"Kettle, gooseneck",https://shop.example/products/kettle,45 EUR,out_of_stock\n'
    )
    rows = list(read_feed(feed))
    assert rows == [
        FeedRow(
            "mug",
            "Enamel Mug",
            "https://shop.example/products/mug",
            Decimal("19.99"),
            "USD",
            "in_stock",
        ),
        FeedRow(
            "kettle",
            "Kettle, gooseneck",
            "https://shop.example/products/kettle",
            Decimal("45"),
            "EUR",
            "out_of_stock",
        ),
    ]


def test_a_tab_separated_feed_with_spaced_availability_is_read_too() -> None:
    feed = (
        b"id\ttitle\tlink\tprice\tavailability\nb1\tBeans\thttps://s.example/p/b\t9 USD\tin stock\n"
    )
    [row] = list(read_feed(feed))
    assert isinstance(row, FeedRow) and row.availability == "in_stock"


def test_a_json_lines_feed_is_read_and_the_price_may_be_absent() -> None:
    feed = (
        b'{"id": "g1", "title": "Geisha", "link": "https://shop.example/products/geisha",'
        b' "availability": "preorder"}\n'
    )
    [row] = list(read_feed(feed))
    assert isinstance(row, FeedRow) and row.price_amount is None and row.availability == "preorder"


def test_bad_rows_are_reported_with_their_line_and_the_others_kept() -> None:
    feed = (
        b"id,title,link,price,availability\n"
        b"ok,Fine,https://shop.example/products/ok,1.00 USD,in_stock\n"
        b"bad1,No link,,1.00 USD,in_stock\n"
        b"bad2,Weird,https://shop.example/products/w,1.00 USD,sold_out\n"
        b"bad3,Script,javascript:alert(1),1.00 USD,in_stock\n"
        b"bad4,Cheap,https://shop.example/products/c,free,in_stock\n"
    )
    rows = list(read_feed(feed))
    assert [row.product_id for row in rows if isinstance(row, FeedRow)] == ["ok"]
    problems = [row for row in rows if isinstance(row, RowProblem)]
    assert [problem.line for problem in problems] == [3, 4, 5, 6]
    assert "link" in problems[0].reason and "availability" in problems[1].reason


def test_a_feed_without_the_required_columns_or_not_utf8_is_refused_whole() -> None:
    with pytest.raises(FeedError, match="link"):
        list(read_feed(b"id,title,price\n1,x,1 USD\n"))
    with pytest.raises(FeedError, match="UTF-8"):
        list(read_feed(b"id,title\n\xff\xfe\n"))


@pytest.mark.parametrize("text", ["19.99 USD", "USD 19.99", "19.99 usd"])
def test_prices_read_either_way_round(text: str) -> None:
    assert parse_price(text) == (Decimal("19.99"), "USD")


@pytest.mark.parametrize("text", ["19.99", "USD", "-1 USD", "NaN USD", "1 DOLLARS"])
def test_prices_that_are_not_an_amount_and_a_currency_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_price(text)
