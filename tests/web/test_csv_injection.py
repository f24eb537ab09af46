"""The funnel CSV: no cell a spreadsheet would run as a formula.

OWASP's CSV injection guidance (https://owasp.org/www-community/attacks/CSV_Injection):
no cell may begin with `=`, `+`, `-`, `@`, tab or carriage return. Spreadsheets also skip
leading spaces and line breaks before a formula, and read the fullwidth and small forms
of these signs (`＝`, `﹢`) as the signs themselves; such cells get the leading `'` too.
"""

from __future__ import annotations

import csv
import io

import pytest

from hashcart.web.routes.merchant_posts import csv_cell
from tests.payloads import SHOP_DID, jetstream_post
from tests.web.conftest import WebShop
from tests.web.funnel_support import MUG

LEADING = {
    "space": " ",
    "no-break space": "\u00a0",
    "ideographic space": "\u3000",
    "line feed": "\n",
    "line separator": "\u2028",
    "zero-width space": "\u200b",
    "byte order mark": "\ufeff",
    "fullwidth equals": "＝",
    "fullwidth plus": "＋",
    "fullwidth minus": "－",
    "fullwidth at": "＠",
    "small equals": "﹦",
    "small plus": "﹢",
    "small minus": "﹣",
    "small at": "﹫",
}


@pytest.mark.parametrize("start", LEADING.values(), ids=LEADING.keys())
def test_a_cell_starting_with_a_blank_or_a_wide_formula_sign_gets_a_leading_apostrophe(
    start: str,
) -> None:
    assert csv_cell(f"{start}=1+1") == f"'{start}=1+1"
    # What is only text stays as it is.
    assert csv_cell("plain text") == "plain text"
    assert csv_cell("2024-05-01T10:00:00+00:00") == "2024-05-01T10:00:00+00:00"
    assert csv_cell(12) == "12"


def test_a_post_written_as_a_fullwidth_formula_is_exported_as_text(web_shop: WebShop) -> None:
    formula = '＝HYPERLINK("https://evil.example","win")'
    web_shop.ingest([jetstream_post(SHOP_DID, "3mmformula002", f"{formula} {MUG}", links=(MUG,))])
    browser = web_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    response = browser.get("/merchant/posts.csv")
    assert response.status_code == 200, response.text
    [row] = csv.DictReader(io.StringIO(response.text))
    assert row["text"] == "'" + f"{formula} {MUG}"
