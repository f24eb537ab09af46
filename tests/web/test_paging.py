"""Pages that stay fast on a big shop (issue 14): every list is paged by key. A page of the
funnel has the figures the whole funnel has for its posts (on SQLite and PostgreSQL); the
API keeps its JSON lists and names the next page in an RFC 8288 `Link` header; the console
pages show Next, Previous and the total."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from hashcart.store import schema as t
from hashcart.views.funnel import FunnelRow, funnel, funnel_page
from hashcart.views.keyset import BadCursor, decode_cursor, encode_cursor
from tests.web.conftest import Browser, WebShop
from tests.web.funnel_support import (
    BRAND_POST,
    Line,
    add_order,
    add_scenario_orders,
    api_token,
    build_funnel_shop,
)


def _figures(row: FunnelRow) -> dict[str, Any]:
    return {**vars(row), "products": [p.product_id for p in row.products]}


def _walk(shop: WebShop, sort: str, descending: bool) -> tuple[list[FunnelRow], list[str]]:
    """Every row of the funnel, a page of one post at a time, and the cursors passed."""
    rows: list[FunnelRow] = []
    cursors: list[str] = []
    after = ""
    with shop.app.engine.connect() as connection:
        while True:
            page = funnel_page(
                connection,
                shop.clock.now(),
                sort=sort,  # type: ignore[arg-type]
                descending=descending,
                after=after,
                limit=1,
                with_totals=False,
            )
            rows += page.rows
            if page.page.next_after is None:
                return rows, cursors
            after = page.page.next_after
            cursors.append(after)


@pytest.mark.parametrize(("sort", "descending"), [("posted", True), ("triggers", True)])
def test_a_page_of_the_funnel_has_the_figures_of_the_whole_funnel(
    web_shop_any_db: WebShop, sort: str, descending: bool
) -> None:
    shop = web_shop_any_db
    build_funnel_shop(shop)
    add_scenario_orders(shop)
    # Lines that name their post in the web form (`<network>/<post id>`) count for it too.
    web_source = f"bluesky/{BRAND_POST}"
    add_order(shop, "frank@example.com", [Line("mug", "18.00", 3, "web", web_source)], "w")
    with shop.app.engine.connect() as connection:
        whole = funnel(connection, shop.clock.now(), sort=sort, descending=descending)  # type: ignore[arg-type]
        first = funnel_page(connection, shop.clock.now(), sort=sort, descending=descending)  # type: ignore[arg-type]
    paged, cursors = _walk(shop, sort, descending)
    assert len(whole.rows) == 3 and len(cursors) == 2
    assert [_figures(row) for row in paged] == [_figures(row) for row in whole.rows]
    assert first.totals == whole.totals
    assert first.page.total == 3 and first.page.previous_before is None


def test_previous_leads_back_to_the_page_before(web_shop: WebShop) -> None:
    build_funnel_shop(web_shop)
    paged, cursors = _walk(web_shop, "posted", True)
    with web_shop.app.engine.connect() as connection:

        def page(after: str = "", before: str = "") -> Any:
            now = web_shop.clock.now()
            return funnel_page(
                connection, now, after=after, before=before, limit=1, with_totals=False
            ).page

        last = page(after=cursors[-1])
        assert [row.post_id for row in last.items] == [paged[2].post_id]
        back = page(before=last.previous_before or "")
        assert [row.post_id for row in back.items] == [paged[1].post_id]
        assert back.next_after == cursors[-1]
        first = page(before=back.previous_before or "")
        assert [row.post_id for row in first.items] == [paged[0].post_id]
        assert first.previous_before is None


@pytest.mark.parametrize("token", ["", "x", "bm90IGpzb24", encode_cursor([1, 2, 3]), "!" * 3000])
def test_a_cursor_this_list_did_not_give_is_refused(token: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(token, 2)


def test_cursors_carry_times_and_text_unchanged(web_shop: WebShop) -> None:
    moment = web_shop.clock.now()
    assert decode_cursor(encode_cursor([moment, "x/1 é", 7]), 3) == [moment, "x/1 é", 7]


# --- the API ------------------------------------------------------------------------------


def _every_page(browser: Browser, path: str, token: str) -> tuple[list[Any], int]:
    """Every item of an API list, following its Link headers; and how many pages."""
    headers = {"Authorization": f"Bearer {token}"}
    items: list[Any] = []
    pages = 0
    url: str | None = path
    while url is not None:
        response = browser.get(url, headers=headers)
        assert response.status_code == 200, response.text
        assert isinstance(response.json(), list)
        items += response.json()
        pages += 1
        found = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
        url = found.group(1) if found else None
    return items, pages


def test_api_lists_come_a_page_at_a_time_through_the_link_header(web_shop: WebShop) -> None:
    build_funnel_shop(web_shop)
    add_scenario_orders(web_shop)
    token = api_token(web_shop)
    browser = web_shop.browser()
    lists = {
        "/api/posts": "post_id",
        "/api/outbox": "id",
        "/api/orders": "id",
        "/api/catalog": "product_id",
    }
    for path, key in lists.items():
        whole, pages = _every_page(browser, path, token)
        assert pages == 1, path  # the default page holds a small shop's whole list, as before
        paged, pages = _every_page(browser, f"{path}?limit=1", token)
        assert [item[key] for item in paged] == [item[key] for item in whole], path
        assert pages == len(whole) >= 2, path


def test_the_next_link_keeps_the_other_parameters(web_shop: WebShop) -> None:
    build_funnel_shop(web_shop)
    headers = {"Authorization": f"Bearer {api_token(web_shop)}"}
    first = web_shop.browser().get("/api/posts?sort=triggers&dir=asc&limit=1", headers=headers)
    link = first.headers["link"]
    assert link.startswith("</api/posts?sort=triggers&dir=asc&limit=1&after=")
    assert link.endswith('>; rel="next"')


def test_an_unknown_cursor_is_a_400_problem(web_shop: WebShop) -> None:
    headers = {"Authorization": f"Bearer {api_token(web_shop)}"}
    response = web_shop.browser().get("/api/outbox?after=nonsense", headers=headers)
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/posts?sort=triggers&dir=desc&limit=1", ["abc", {"t": 1}, "x", "1"]),
        ("/api/posts?sort=triggers&dir=desc&limit=1", [3, "not a time", "x", "1"]),
        ("/api/posts?sort=triggers&dir=desc&limit=1", [3, {"t": 1}, 5, 7]),
        ("/api/orders?limit=1", ["not a time", "not a number"]),
    ],
)
def test_a_forged_cursor_of_the_wrong_kinds_is_a_400_on_each_database(
    web_shop_any_db: WebShop, path: str, key: list[Any]
) -> None:
    # The right number of values, each of another kind than its key column: the database
    # refused the comparison (PostgreSQL) or the driver the value (SQLite), a 500 before.
    build_funnel_shop(web_shop_any_db)
    headers = {"Authorization": f"Bearer {api_token(web_shop_any_db)}"}
    response = web_shop_any_db.browser().get(f"{path}&after={encode_cursor(key)}", headers=headers)
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


# --- the console's funnel page ------------------------------------------------------------


def _many_posts(shop: WebShop, count: int) -> None:
    start = shop.clock.now()
    with shop.app.engine.begin() as connection:
        connection.execute(
            insert(t.posts),
            [
                {
                    "network": "x",
                    "post_id": f"{10**18 + n}",
                    "author_id": "900",
                    "author_handle": "TrailheadCoffee",
                    "text": f"Post {n}",
                    "created_at": start - timedelta(minutes=n),
                    "has_shop_link": True,
                }
                for n in range(count)
            ],
        )
        connection.execute(
            insert(t.post_products),
            [
                {"network": "x", "post_id": f"{10**18 + n}", "position": 1, "product_id": "mug"}
                for n in range(count)
            ],
        )


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_posts_page_shows_next_previous_and_the_total(web_shop: WebShop) -> None:
    _many_posts(web_shop, 60)
    browser = web_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    first = browser.get("/merchant/posts").text
    assert "50 of 60 posts" in first and "Total (60 posts)" in first
    assert "Post 0<" in first and "Post 50<" not in first and _link(first, "prev") is None
    second_url = _link(first, "next")
    assert second_url is not None and second_url.startswith("/merchant/posts?sort=posted&dir=desc")
    second = browser.get(second_url).text
    assert "Post 50<" in second and "Post 59<" in second and "Post 49<" not in second
    assert _link(second, "next") is None
    back_url = _link(second, "prev")
    assert back_url is not None
    back = browser.get(back_url).text
    assert "Post 0<" in back and "Post 49<" in back and "Post 50<" not in back


def test_a_stale_page_link_shows_the_first_page_and_says_so(web_shop: WebShop) -> None:
    _many_posts(web_shop, 3)
    browser = web_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    page = browser.get("/merchant/posts?after=edited")
    assert page.status_code == 400
    assert "no longer there" in page.text and "Post 0<" in page.text


def test_a_big_shops_totals_come_from_the_kept_figures_at_once(
    web_shop: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hashcart.views import funnel as funnel_module

    monkeypatch.setattr(funnel_module, "BIG_SHOP_POSTS", 2)
    _many_posts(web_shop, 3)
    browser = web_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    page = browser.get("/merchant/posts").text
    assert "Post 2<" in page and "Total (3 posts)" in page


def test_a_big_shop_with_its_accounts_named_works_its_totals_out_when_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With shop_accounts set the totals add up the shop's posts' kept rows (not the
    per-network sums): on a big shop, only when asked for."""
    from hashcart.views import funnel as funnel_module

    monkeypatch.setattr(funnel_module, "BIG_SHOP_POSTS", 2)
    shop = WebShop(f"sqlite:///{tmp_path / 'web.db'}", shop_accounts=("x:TrailheadCoffee",))
    try:
        _many_posts(shop, 3)
        browser = shop.browser()
        assert browser.merchant_sign_in().status_code == 303
        page = browser.get("/merchant/posts").text
        assert "Post 2<" in page and "Total (" not in page
        asked = _link_to_totals(page)
        assert asked == "/merchant/posts?sort=posted&dir=desc&totals=1"
        assert "Total (3 posts)" in browser.get(asked).text
    finally:
        shop.close()


def _link_to_totals(html: str) -> str:
    found = re.search(r'href="([^"]+)">Work out the totals<', html)
    assert found, "no link to the totals"
    return found.group(1).replace("&amp;", "&")
