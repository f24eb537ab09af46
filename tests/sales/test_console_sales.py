"""The console's Sales page (issue 13): open a sale by its form (problems beside their
fields), the sale's board as a plain page, its invoices as CSV, and closing it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.cart_support import text_of
from tests.web.conftest import WebShop


@pytest.fixture
def web_shop(tmp_path: Path) -> Iterator[WebShop]:
    shop = WebShop(f"sqlite:///{tmp_path / 'web.db'}")
    yield shop
    shop.close()


def test_open_a_sale_see_its_board_and_close_it(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.merchant_sign_in()
    assert "No sales yet" in text_of(browser.get("/merchant/sales"))

    refused = browser.submit(
        "/merchant/sales",
        {"name": "Friday live", "posts": "myspace:1", "items": "12", "hold_hours": "soon"},
    )
    assert refused.status_code == 400
    assert 'id="posts-error"' in refused.text and 'id="items-error"' in refused.text
    assert 'id="hold_hours-error"' in refused.text
    assert "Friday live" in refused.text  # what was typed comes back

    opened = browser.submit(
        "/merchant/sales",
        {
            "name": "Friday <live>",
            "posts": "bluesky:at://did:plc:shop/app.bsky.feed.post/3k\nx:1839",
            "items": "12=mug:5\n14=beans:2",
            "limit": "1",
            "hold_hours": "12",
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303
    listing = browser.get("/merchant/sales")
    assert "Friday &lt;live&gt;" in listing.text and "<live>" not in listing.text
    board = browser.get("/merchant/sales/1")
    words = text_of(board)
    assert "#12" in words and "#14" in words and "Units won 0 Units paid 0" in words
    csv = browser.get("/merchant/sales/1/invoices.csv")
    assert csv.status_code == 200 and csv.text.startswith("invoice,email,status")
    taken = browser.submit(
        "/merchant/sales",
        {"name": "Again", "posts": "x:1839", "items": "1=mug:1", "hold_hours": "24"},
    )
    assert taken.status_code == 400 and 'id="posts-error"' in taken.text
    closed = browser.submit("/merchant/sales/1/close", {}, follow_redirects=True)
    assert "Sale closed" in text_of(closed)
    assert browser.get("/merchant/sales/99").status_code == 404


def test_the_open_a_sale_form_starts_empty(web_shop: WebShop) -> None:
    """Issue 14's walk at 390 px found the Items box showing "<built-in method items of dict
    object …>": the empty form has every field, blank (the hold at its default)."""
    browser = web_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    page = browser.get("/merchant/sales").text
    assert "built-in method" not in page
    assert re.search(r'<textarea name="items"[^>]*></textarea>', page)
    assert 'name="hold_hours" value="24"' in page
