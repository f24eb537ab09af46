"""The merchant console's stock count, on SQLite and PostgreSQL: the catalog lists each
product's count with the units checkouts hold, the product page shows count, held and free
and sets the count through a CSRF-protected form; bad input re-renders with the reason and
changes nothing; only a signed-in merchant may set it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hashcart.store import schema as t
from hashcart.store import stock
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import assert_inert, parse


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def count(shop: WebShop, product_id: str) -> int | None:
    with shop.app.engine.connect() as connection:
        found: int | None = connection.scalar(
            select(t.products.c.stock).where(t.products.c.product_id == product_id)
        )
    return found


def set_count(shop: WebShop, product_id: str, units: int | None) -> None:
    with shop.app.unit_of_work() as uow:
        assert uow.repository.set_stock_count(product_id, units)


def hold(shop: WebShop, holder: str, wanted: dict[str, int], *, lasts: timedelta) -> None:
    """A checkout's hold taken 15 minutes ago, lasting `lasts` from then."""
    began = shop.clock.now() - timedelta(minutes=15)
    with shop.app.engine.begin() as connection:
        stock.reserve(connection, holder, wanted, reason="checkout", now=began, until=began + lasts)


def stock_panel(html: str) -> dict[str, str]:
    """The product page's stock table: row heading -> value."""
    return {row[0]: row[1] for row in parse(html).rows if len(row) == 2}


def test_the_catalog_lists_each_count_and_the_units_held(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    set_count(shop, "mug", 5)
    set_count(shop, "beans", 0)
    hold(shop, "checkout:a", {"mug": 2}, lasts=timedelta(hours=1))
    hold(shop, "checkout:b", {"mug": 1}, lasts=timedelta(minutes=10))  # ran out 5 min ago

    html = merchant(shop).get("/merchant/catalog").text
    rows = {row[0]: row for row in parse(html).rows[1:]}
    assert parse(html).rows[0][:5] == ["Id", "Title", "Price", "Availability", "Stock"]
    assert rows["mug"][4] == "5 2 held"
    assert rows["beans"][4] == "0"
    assert rows["kettle"][4] == "not counted"


def test_the_product_page_shows_count_held_and_free(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    set_count(shop, "mug", 5)
    hold(shop, "checkout:a", {"mug": 2}, lasts=timedelta(hours=1))

    page = merchant(shop).get("/merchant/catalog/mug").text
    assert stock_panel(page) == {
        "On hand": "5",
        "Held by checkouts paying": "2",
        "Free to sell": "3",
    }
    assert parse(page).inputs["stock"] == "5"
    assert 'action="/merchant/stock/mug"' in page


def test_setting_the_count_saves_it_and_comes_back_to_the_product(
    web_shop_any_db: WebShop,
) -> None:
    shop = web_shop_any_db
    browser = merchant(shop)
    response = browser.submit("/merchant/stock/mug", {"stock": " 12 "})
    assert response.status_code == 303
    assert response.headers["location"] == "/merchant/catalog/mug?saved=1"
    assert count(shop, "mug") == 12
    assert stock_panel(browser.get(response.headers["location"]).text)["On hand"] == "12"


@pytest.mark.parametrize("typed", ["", "unknown", "UNKNOWN"])
def test_an_empty_count_or_unknown_stops_counting(web_shop_any_db: WebShop, typed: str) -> None:
    shop = web_shop_any_db
    set_count(shop, "mug", 5)
    assert merchant(shop).submit("/merchant/stock/mug", {"stock": typed}).status_code == 303
    assert count(shop, "mug") is None
    page = merchant(shop).get("/merchant/catalog/mug").text
    assert stock_panel(page)["On hand"] == "not counted"
    assert stock_panel(page)["Free to sell"] == "no limit"


def test_a_count_below_the_held_units_keeps_the_holds(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    set_count(shop, "mug", 5)
    hold(shop, "checkout:a", {"mug": 4}, lasts=timedelta(hours=1))
    assert merchant(shop).submit("/merchant/stock/mug", {"stock": "1"}).status_code == 303
    page = merchant(shop).get("/merchant/catalog/mug").text
    assert stock_panel(page) == {
        "On hand": "1",
        "Held by checkouts paying": "4",
        "Free to sell": "0",
    }


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "A stock count cannot be negative: &#39;-1&#39;."),
        ("1000000001", "A stock count is at most 1,000,000,000"),
        ("2.5", "A stock count is a whole number of units, or &#39;unknown&#39;"),
        ("Twelve", "not &#39;Twelve&#39;"),
        ("3\x00", "not &#39;3\\x00&#39;"),
        ("<script>alert(1)</script>", "not &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;"),
    ],
)
def test_a_bad_count_re_renders_with_the_reason_and_what_was_typed(
    web_shop_any_db: WebShop, typed: str, message: str
) -> None:
    shop = web_shop_any_db
    set_count(shop, "mug", 5)
    response = merchant(shop).submit("/merchant/stock/mug", {"stock": typed})
    assert response.status_code == 400
    assert message in response.text
    assert_inert(response.text)
    assert count(shop, "mug") == 5


def test_an_overlong_count_is_refused_before_it_is_read(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    set_count(shop, "mug", 5)
    response = merchant(shop).submit("/merchant/stock/mug", {"stock": "9" * 100_000})
    assert response.status_code in (400, 422)
    assert count(shop, "mug") == 5


@pytest.mark.parametrize("path", ["nothing", "mug%00", "%ED%A0%80", "m" * 300])
def test_a_product_that_is_not_there_is_not_found(web_shop_any_db: WebShop, path: str) -> None:
    shop = web_shop_any_db
    response = merchant(shop).submit(f"/merchant/stock/{path}", {"stock": "3"})
    assert response.status_code == 404
    assert count(shop, "mug") is None


@pytest.mark.parametrize("path", ["mug%00", "%ED%A0%80", "m" * 300])
def test_the_product_view_and_its_offer_form_answer_404_for_an_id_no_row_can_have(
    web_shop_any_db: WebShop, path: str
) -> None:
    """Found hostile: on PostgreSQL a NUL in the URL reached the query and answered 500."""
    browser = merchant(web_shop_any_db)
    assert browser.get(f"/merchant/catalog/{path}").status_code == 404
    offer = {"price": "1", "currency": "USD", "availability": "in_stock"}
    assert browser.submit(f"/merchant/catalog/{path}", offer).status_code == 404


def test_setting_the_count_needs_the_csrf_token(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    browser = merchant(shop)
    assert browser.client.post("/merchant/stock/mug", data={"stock": "3"}).status_code == 403
    assert count(shop, "mug") is None


def test_only_a_signed_in_merchant_sets_the_count(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    visitor = shop.browser().submit("/merchant/stock/mug", {"stock": "3"})
    assert visitor.status_code == 303
    assert visitor.headers["location"].startswith("/merchant/sign-in?next=")
    shopper = shop.browser()
    shopper.sign_up("sam@example.com")
    assert shopper.submit("/merchant/stock/mug", {"stock": "3"}).status_code == 403
    assert count(shop, "mug") is None
