"""The merchant's stock count as typed (`hashcart stock set`, a feed's `quantity`, the
console): a whole number from 0 to MAX_STOCK or `unknown`, and nothing else, whatever the
text holds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashcart.domain.stock import MAX_STOCK, StockCountError, parse_stock_count
from hashcart.services.catalog import FeedRow, RowProblem, read_feed


@given(st.integers(min_value=0, max_value=MAX_STOCK))
def test_every_count_in_range_reads_back_as_itself(count: int) -> None:
    assert parse_stock_count(str(count)) == count
    assert parse_stock_count(f"  {count}\t") == count


def test_leading_zeros_are_read_past_however_many() -> None:
    assert parse_stock_count("0" * 5000 + "7") == 7  # int() alone refuses 4,301 digits
    assert parse_stock_count("000") == 0


@pytest.mark.parametrize("text", ["unknown", "UNKNOWN", " Unknown "])
def test_unknown_in_any_case_means_not_counted(text: str) -> None:
    assert parse_stock_count(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1", "cannot be negative"),
        ("-0", "cannot be negative"),
        ("1000000001", "at most 1,000,000,000"),
        ("9" * 5000, "at most 1,000,000,000"),  # int() itself refuses over 4,300 digits
        ("0" * 5000 + "10000000000", "at most 1,000,000,000"),
        ("", "whole number"),
        ("+5", "whole number"),
        ("1e3", "whole number"),
        ("2.5", "whole number"),
        ("1_000", "whole number"),
        ("٣", "whole number"),  # ARABIC-INDIC DIGIT THREE: int() would take it
        ("５", "whole number"),  # FULLWIDTH DIGIT FIVE
        ("5\x00", "whole number"),
        ("\x1b[2J5", "whole number"),
        ("\udcff", "whole number"),  # an undecodable argv byte, as Python hands it over
        ("nan", "whole number"),
        ("none", "whole number"),
    ],
)
def test_anything_else_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(StockCountError, match=message) as refused:
        parse_stock_count(text)
    said = str(refused.value)
    assert said.isprintable()  # a NUL or an escape sequence is written out, never passed on
    assert len(said) < 120


@given(st.text())
def test_no_text_gives_anything_but_a_count_in_range_or_a_refusal(text: str) -> None:
    try:
        count = parse_stock_count(text)
    except StockCountError as refused:
        assert str(refused).isprintable()
        return
    assert count is None or 0 <= count <= MAX_STOCK


HEADER = "id,title,link,price,availability,quantity\n"


def rows(feed: str) -> list[FeedRow | RowProblem]:
    return list(read_feed(feed.encode()))


def test_a_feed_s_quantity_column_gives_each_row_its_count() -> None:
    found = rows(
        HEADER
        + "mug,Mug,https://shop.example/p/mug,5.00 USD,in_stock,12\n"
        + "cup,Cup,https://shop.example/p/cup,5.00 USD,in_stock,unknown\n"
        + "bowl,Bowl,https://shop.example/p/bowl,5.00 USD,in_stock,\n"
    )
    assert [(row.stock, row.stock_given) for row in found if isinstance(row, FeedRow)] == [
        (12, True),
        (None, True),
        (None, False),  # an empty cell leaves the stored count alone
    ]


def test_a_feed_without_the_column_gives_no_count() -> None:
    (row,) = rows("id,title,link,availability\nmug,Mug,https://shop.example/p/mug,in_stock\n")
    assert isinstance(row, FeedRow)
    assert not row.stock_given


def test_json_lines_take_a_number_and_refuse_a_fraction_or_a_boolean() -> None:
    base = '"title": "Mug", "link": "https://shop.example/p/mug", "availability": "in_stock"'
    found = rows(
        f'{{"id": "a", {base}, "quantity": 3}}\n'
        f'{{"id": "b", {base}, "quantity": 3.5}}\n'
        f'{{"id": "c", {base}, "quantity": true}}\n'
        f'{{"id": "d", {base}, "quantity": null}}\n'
    )
    assert isinstance(found[0], FeedRow) and found[0].stock == 3
    assert isinstance(found[1], RowProblem) and "quantity" in found[1].reason
    assert isinstance(found[2], RowProblem) and "quantity" in found[2].reason
    assert isinstance(found[3], FeedRow) and not found[3].stock_given


@pytest.mark.parametrize("quantity", ["-3", "lots", "99999999999", "4\x00"])
def test_a_row_with_a_bad_quantity_is_skipped_whole_with_its_line(quantity: str) -> None:
    (problem,) = rows(HEADER + f"mug,Mug,https://shop.example/p/mug,5.00 USD,in_stock,{quantity}\n")
    assert isinstance(problem, RowProblem)
    assert problem.line == 2
    assert problem.reason.startswith("quantity: a stock count")
