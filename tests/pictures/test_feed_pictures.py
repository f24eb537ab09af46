"""Catalog feeds with pictures and words (Google Merchant Center's `image_link`,
`additional_image_link` and `description`): read from CSV and JSON Lines, kept on import,
and left alone by a later feed that does not give them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hashcart.bootstrap import open_app
from hashcart.clock import FixedClock
from hashcart.config import Settings
from hashcart.services.catalog import FeedRow, RowProblem, read_feed
from hashcart.services.feed_import import import_feed
from hashcart.store import schema as t
from tests.payloads import BASE_TIME

HEAD = "id,title,link,price,availability"
LINK = "https://shop.example/products/mug"


def rows(text: str) -> list[FeedRow | RowProblem]:
    return list(read_feed(text.encode()))


def test_a_repeated_additional_image_link_column_keeps_every_url() -> None:
    [row] = rows(
        f"{HEAD},image_link,additional_image_link,additional_image_link,description\n"
        f"mug,Mug,{LINK},9.50 USD,in_stock,https://cdn.example/a.jpg,https://cdn.example/b.jpg,"
        f'https://cdn.example/c.jpg,"Enamel, 350 ml"\n'
    )
    assert isinstance(row, FeedRow)
    assert row.image_link == "https://cdn.example/a.jpg"
    assert row.additional_image_links == ("https://cdn.example/b.jpg", "https://cdn.example/c.jpg")
    assert row.description == "Enamel, 350 ml"


def test_additional_image_links_may_be_comma_separated_or_a_json_list() -> None:
    csv_row, json_row = rows(
        f"{HEAD},additional_image_link\n"
        f'mug,Mug,{LINK},9.50 USD,in_stock,"https://cdn.example/b.jpg,https://cdn.example/c.jpg"\n'
    ) + rows(
        json.dumps(
            {
                "id": "mug",
                "title": "Mug",
                "link": LINK,
                "availability": "in_stock",
                "additional_image_link": ["https://cdn.example/b.jpg", "https://cdn.example/c.jpg"],
            }
        )
    )
    assert isinstance(csv_row, FeedRow) and isinstance(json_row, FeedRow)
    assert csv_row.additional_image_links == json_row.additional_image_links
    assert len(json_row.additional_image_links) == 2


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ("javascript:alert(1),", "image_link 'javascript:alert(1)' is not an http(s) URL"),
        ("https://cdn.example/" + "a" * 2000 + ",", "image_link is longer than 2000"),
        ("," + "d" * 5001, "description is longer than 5000"),
    ],
    ids=["not-http", "too-long-url", "too-long-description"],
)
def test_a_bad_picture_or_description_is_that_rows_problem(cells: str, reason: str) -> None:
    [row] = rows(f"{HEAD},image_link,description\nmug,Mug,{LINK},9.50 USD,in_stock,{cells}\n")
    assert isinstance(row, RowProblem)
    assert reason in row.reason


def test_a_later_feed_without_pictures_leaves_them(database_url: str) -> None:
    app = open_app(Settings(database_url=database_url), FixedClock(BASE_TIME))
    try:
        first = (
            f"{HEAD},image_link,additional_image_link,description\n"
            f"mug,Mug,{LINK},9.50 USD,in_stock,https://cdn.example/a.jpg,"
            f"https://cdn.example/b.jpg,Big mug\n"
        )
        later = f"{HEAD}\nmug,Mug 2,{LINK},9.00 USD,in_stock\n"
        for feed in (first, later):
            with app.unit_of_work() as uow:
                assert import_feed(uow.repository, feed.encode(), BASE_TIME).imported == 1
        with app.engine.connect() as connection:
            stored = connection.execute(
                select(
                    t.products.c.title,
                    t.products.c.image_link,
                    t.products.c.additional_image_links,
                    t.products.c.description,
                )
            ).one()
        assert tuple(stored) == (
            "Mug 2",
            "https://cdn.example/a.jpg",
            "https://cdn.example/b.jpg",
            "Big mug",
        )
    finally:
        app.engine.dispose()
