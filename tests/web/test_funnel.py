"""The merchant's shoppable posts: funnel figures from real ingested replies and orders,
sorting, the network filter, the CSV export, links to the posts, escaping and access."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from hashcart.domain.posts import Network
from hashcart.networks.post_urls import post_url
from hashcart.views.funnel import funnel
from hashcart.web.routes.merchant_posts import csv_cell
from tests.payloads import SHOP_DID, jetstream_delete, jetstream_post, post_uri
from tests.web.conftest import Browser, WebShop
from tests.web.funnel_support import (
    BRAND_POST,
    CAROL_DID,
    MASTODON_SHOP_ID,
    MUG,
    X_SHOP_ID,
    Line,
    add_order,
    add_scenario_orders,
    build_funnel_shop,
)


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def csv_rows(browser: Browser, query: str = "") -> list[dict[str, str]]:
    response = browser.get(f"/merchant/posts.csv{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def by_network(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["network"]: row for row in rows}


@pytest.fixture
def shop(web_shop: WebShop) -> WebShop:
    build_funnel_shop(web_shop)
    add_scenario_orders(web_shop)
    return web_shop


def test_each_post_counts_its_replies_what_they_did_and_what_was_ordered(shop: WebShop) -> None:
    rows = by_network(csv_rows(merchant(shop)))

    bluesky = rows["bluesky"]
    assert bluesky["post_id"] == BRAND_POST
    assert bluesky["products"] == "Trailhead Enamel Mug; Summit Roast Beans 1kg"
    # 6 replies: alice added, bob wish-listed, carol pending, erin added; dave named no
    # product of the two and alice's second #cart changed nothing: not valid.
    assert (bluesky["triggers"], bluesky["valid_triggers"]) == ("6", "4")
    # alice and erin by reply, frank with the web button.
    assert (bluesky["carted"], bluesky["wishlisted"], bluesky["pending"]) == ("3", "1", "1")
    assert (bluesky["orders"], bluesky["units"]) == ("2", "5")
    assert (bluesky["revenue"], bluesky["currency"]) == ("103.00", "USD")

    x = rows["x"]  # one linked reply, but the kettle is out of stock
    assert (x["triggers"], x["valid_triggers"], x["carted"]) == ("1", "0", "0")
    assert (x["orders"], x["units"], x["revenue"]) == ("1", "1", "69.00")

    mastodon = rows["mastodon"]
    assert (mastodon["triggers"], mastodon["orders"], mastodon["revenue"]) == ("0", "0", "0.00")


def test_a_pending_reply_counts_as_carted_once_its_account_links(shop: WebShop) -> None:
    shop.browser().sign_up("carol@example.com")
    shop.link("carol@example.com", Network.BLUESKY, CAROL_DID, "carol.bsky.social")

    bluesky = by_network(csv_rows(merchant(shop)))["bluesky"]
    assert (bluesky["pending"], bluesky["carted"], bluesky["valid_triggers"]) == ("0", "4", "4")


def test_a_pending_reply_past_its_expiry_is_no_longer_pending(shop: WebShop) -> None:
    from datetime import timedelta

    shop.clock.advance(timedelta(days=8))
    bluesky = by_network(csv_rows(merchant(shop)))["bluesky"]
    assert bluesky["pending"] == "0"
    assert bluesky["valid_triggers"] == "4"  # it did make a pending intent


def test_totals_count_an_order_with_lines_from_two_posts_once(shop: WebShop) -> None:
    with shop.app.engine.connect() as connection:
        found = funnel(connection, shop.clock.now())
    assert sum(row.orders for row in found.rows) == 3  # erin's order is in two posts' rows
    assert found.totals.orders == 2
    assert found.totals.units == 6
    assert {k: str(v) for k, v in found.totals.revenue.items()} == {"USD": "172.00"}

    page = merchant(shop).get("/merchant/posts").text
    tfoot = page[page.index("<tfoot>") : page.index("</tfoot>")]
    cells = re.findall(r'<td class="num">([^<]*)</td>', tfoot)
    assert cells == ["7", "4", "3", "1", "1", "2", "6", "$172.00"]


def test_mixed_currencies_are_shown_side_by_side_and_never_added(shop: WebShop) -> None:
    add_order(
        shop, "bob@example.com", [Line("beans", "10.00", 1, "bluesky", BRAND_POST, "EUR")], "eur"
    )
    browser = merchant(shop)
    bluesky = by_network(csv_rows(browser))["bluesky"]
    assert (bluesky["revenue"], bluesky["currency"]) == ("10.00 EUR; 103.00 USD", "mixed")
    page = browser.get("/merchant/posts?network=bluesky").text
    assert "€10.00 + $103.00" in page
    assert "113" not in page


def test_web_cart_lines_and_order_lines_name_the_post_they_came_from(shop: WebShop) -> None:
    # A line that kept the web form of its source still counts for its post.
    add_order(
        shop, "frank@example.com", [Line("mug", "18.00", 3, "web", f"bluesky/{BRAND_POST}")], "w"
    )
    bluesky = by_network(csv_rows(merchant(shop)))["bluesky"]
    assert (bluesky["orders"], bluesky["units"], bluesky["revenue"]) == ("3", "8", "157.00")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sort=carted&dir=desc", ["bluesky", "mastodon", "x"]),
        ("?sort=triggers&dir=asc", ["mastodon", "x", "bluesky"]),
        ("?sort=revenue&dir=desc", ["bluesky", "x", "mastodon"]),
        ("?sort=orders&dir=asc", ["mastodon", "x", "bluesky"]),
        ("?sort=posted&dir=asc", ["bluesky", "x", "mastodon"]),
        ("", ["mastodon", "x", "bluesky"]),  # newest first
        ("?sort=network&dir=asc", ["bluesky", "mastodon", "x"]),
        ("?sort=products&dir=asc", ["x", "mastodon", "bluesky"]),
        ("?sort=nonsense", ["mastodon", "x", "bluesky"]),  # unknown: the default
    ],
)
def test_rows_sort_by_any_column(shop: WebShop, query: str, expected: list[str]) -> None:
    browser = merchant(shop)
    assert [row["network"] for row in csv_rows(browser, query)] == expected
    page = browser.get(f"/merchant/posts{query}").text
    shown = re.findall(r'<span class="pill">(X|Mastodon|Bluesky)</span>', page)
    assert [name.lower() for name in shown] == expected


def test_a_column_heading_sorts_by_it_and_flips_the_direction(shop: WebShop) -> None:
    page = merchant(shop).get("/merchant/posts?sort=carted&dir=desc").text
    assert 'href="/merchant/posts?sort=carted&amp;dir=asc"' in page
    assert 'href="/merchant/posts?sort=orders&amp;dir=desc"' in page
    assert 'aria-sort="descending"' in page


def test_the_network_filter_keeps_one_network_and_its_totals(shop: WebShop) -> None:
    browser = merchant(shop)
    rows = csv_rows(browser, "?network=x")
    assert [row["network"] for row in rows] == ["x"]
    page = browser.get("/merchant/posts?network=x&sort=orders").text
    assert X_SHOP_ID in page and BRAND_POST not in page
    assert 'href="/merchant/posts.csv?network=x&amp;sort=orders&amp;dir=desc"' in page
    tfoot = page[page.index("<tfoot>") : page.index("</tfoot>")]
    assert "Total (1 post)" in tfoot and "$69.00" in tfoot


def test_an_unknown_network_is_refused_with_a_message(shop: WebShop) -> None:
    browser = merchant(shop)
    page = browser.get("/merchant/posts?network=myspace")
    assert page.status_code == 400
    assert "Unknown network" in page.text
    assert browser.get("/merchant/posts.csv?network=myspace").status_code == 400


def test_the_csv_is_an_attachment_with_a_header_row(shop: WebShop) -> None:
    response = merchant(shop).get("/merchant/posts.csv?network=bluesky")
    assert response.headers["content-disposition"] == (
        'attachment; filename="shoppable-posts-bluesky.csv"'
    )
    assert response.text.splitlines()[0].startswith("network,post_id,url,author,posted_at,text")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_leading_apostrophe(start: str) -> None:
    assert csv_cell(f"{start}1+1") == f"'{start}1+1"
    assert csv_cell("plain") == "plain"
    assert csv_cell(None) == ""


def test_a_post_written_as_a_formula_is_exported_as_text(web_shop: WebShop) -> None:
    formula = '=HYPERLINK("https://evil.example","win")'
    web_shop.ingest([jetstream_post(SHOP_DID, "3mmformula001", f"{formula} {MUG}", links=(MUG,))])
    [row] = csv_rows(merchant(web_shop))
    assert row["text"].startswith("'=HYPERLINK(")


def test_post_text_and_handles_from_strangers_are_shown_inert(shop: WebShop) -> None:
    page = merchant(shop).get("/merchant/posts").text
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert not [href for href in hrefs if href.lower().startswith("javascript")]


def test_each_post_links_to_its_page_on_its_network(shop: WebShop) -> None:
    page = merchant(shop).get("/merchant/posts").text
    assert 'href="https://x.com/TrailheadCoffee/status/1900000000000000001"' in page
    assert (
        'href="https://bsky.app/profile/did:plc:shopbrand000000000000000/post/3mmbrand00001"'
        in page
    )
    assert f'href="https://social.example/@trailhead/{MASTODON_SHOP_ID}"' in page


@pytest.mark.parametrize(
    ("network", "post_id", "author_id", "handle", "expected"),
    [
        ("x", "123", "9", "brand", "https://x.com/brand/status/123"),
        ("x", "123", "9", "<b>", "https://x.com/i/web/status/123"),
        ("x", "javascript:alert(1)", "9", "brand", None),
        ("bluesky", post_uri("did:plc:abc", "3kx"), "", "", "https://bsky.app/profile/did:plc:abc/post/3kx"),
        ("bluesky", "at://did:plc:abc/app.bsky.feed.like/3kx", "", "", None),
        ("bluesky", "javascript:alert(1)//at://did:plc:abc/app.bsky.feed.post/3kx", "", "", None),
        ("mastodon", "1090", "https://social.example/users/shop", "shop", "https://social.example/@shop/1090"),
        # A remote account: the id is the reading server's, not the author's home number.
        ("mastodon", "1090", "https://other.example/users/shop", "shop@other.example", None),
        ("mastodon", "1090", "javascript:alert(1)", "shop", None),
        ("web", "x/1", "", "", None),
    ],
)  # fmt: skip
def test_post_links_are_https_urls_built_from_checked_parts(
    network: str, post_id: str, author_id: str, handle: str, expected: str | None
) -> None:
    assert post_url(network, post_id, author_id, handle) == expected


def test_a_deleted_post_keeps_its_figures_without_its_text(shop: WebShop) -> None:
    shop.ingest([jetstream_delete(SHOP_DID, "3mmbrand00001")])
    browser = merchant(shop)
    bluesky = by_network(csv_rows(browser))["bluesky"]
    assert bluesky["text"] == "" and bluesky["triggers"] == "6"
    assert "(deleted by its author)" in browser.get("/merchant/posts?network=bluesky").text


def test_no_posts_yet_says_what_will_appear(web_shop: WebShop) -> None:
    page = merchant(web_shop).get("/merchant/posts").text
    assert "No shoppable posts" in page
    assert csv_rows(merchant(web_shop)) == []


@pytest.mark.parametrize("path", ["/merchant/posts", "/merchant/posts.csv?network=x"])
def test_only_merchants_see_the_funnel(web_shop: WebShop, path: str) -> None:
    signed_out = web_shop.browser().get(path, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/merchant/sign-in?next=%2Fmerchant%2Fposts")
    shopper = web_shop.browser()
    shopper.sign_up("ann@example.com")
    assert shopper.get(path, follow_redirects=False).status_code == 403


def test_the_funnel_counts_the_same_on_every_database(web_shop_any_db: WebShop) -> None:
    build_funnel_shop(web_shop_any_db)
    add_scenario_orders(web_shop_any_db)
    rows: dict[str, Any] = by_network(csv_rows(merchant(web_shop_any_db)))
    bluesky = rows["bluesky"]
    assert [bluesky[k] for k in ("triggers", "valid_triggers", "carted", "wishlisted")] == [
        "6",
        "4",
        "3",
        "1",
    ]
    assert [bluesky[k] for k in ("pending", "orders", "units", "revenue")] == [
        "1",
        "2",
        "5",
        "103.00",
    ]
