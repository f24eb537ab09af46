"""The merchant console: dashboard, catalog (list, search, import, edit), settings (stored
over the settings file, acted on by the engine), customers, outbox with retry, dead letters.
Every page and action: signed-out visitors are sent to sign in, shoppers are refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, insert, select

from hashcart.domain.posts import Network
from hashcart.outbox.dispatcher import dispatch_once
from hashcart.outbox.email import EmailSender
from hashcart.services.mail import Email, queue_email
from hashcart.store import schema as t
from hashcart.store.repository import transaction
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import (
    HOSTILE_IMG,
    HOSTILE_LINK,
    HOSTILE_SCRIPT,
    assert_inert,
    closed_port,
    parse,
    stat,
)

ALICE = "did:plc:alice0000000000000000000"
BOB = "did:plc:bob000000000000000000000"
MUG_LINK = "https://shop.example/products/enamel-mug"
BEANS_LINK = "https://shop.example/products/summit-roast"


def shop_post(rkey: str = "3mmbrand00001", link: str = MUG_LINK) -> bytes:
    return jetstream_post(SHOP_DID, rkey, f"New in: {link}", links=(link,))


def reply(did: str, rkey: str, text: str, parent_rkey: str = "3mmbrand00001") -> bytes:
    return jetstream_post(did, rkey, text, reply_to=post_uri(SHOP_DID, parent_rkey), minutes=5)


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def upload(browser: Browser, name: str, content: bytes) -> Any:
    return browser.submit(
        "/merchant/catalog/import", {}, files={"feed": (name, content, "text/plain")}
    )


def product_row(shop: WebShop, product_id: str) -> Any:
    with shop.app.engine.connect() as connection:
        return connection.execute(
            select(t.products).where(t.products.c.product_id == product_id)
        ).first()


def count(shop: WebShop, table: Any) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


# --- who may enter ----------------------------------------------------------------------

PAGES = [
    "/merchant",
    "/merchant/catalog",
    "/merchant/catalog/mug",
    "/merchant/settings",
    "/merchant/customers",
    "/merchant/outbox",
    "/merchant/dead-letters",
]
ACTIONS: list[tuple[str, dict[str, str]]] = [
    ("/merchant/catalog/import", {}),
    ("/merchant/catalog/mug", {"price": "1.00", "currency": "USD", "availability": "in_stock"}),
    (
        "/merchant/settings",
        {"cart_tags": "grab", "wishlist_tags": "wishlist", "link_tags": "cartlink"},
    ),
    ("/merchant/settings/reset", {}),
    ("/merchant/outbox/1/retry", {}),
    ("/merchant/outbox/retry-failed", {}),
]


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_out_visitor_is_sent_to_the_merchant_sign_in(web_shop: WebShop, path: str) -> None:
    response = web_shop.browser().get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/merchant/sign-in?next={quote(path, safe='')}"


@pytest.mark.parametrize("path", PAGES)
def test_a_shopper_cannot_see_console_pages(web_shop: WebShop, path: str) -> None:
    shopper = web_shop.browser()
    shopper.sign_up("sam@example.com")
    response = shopper.get(path, follow_redirects=False)
    assert response.status_code == 403
    assert "for the shop's staff" in parse(response.text).text


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_a_signed_out_visitor_cannot_act(
    web_shop: WebShop, path: str, data: dict[str, str]
) -> None:
    response = web_shop.browser().submit(path, data)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/merchant/sign-in?next=")


@pytest.mark.parametrize(("path", "data"), ACTIONS)
def test_a_shopper_cannot_act(web_shop: WebShop, path: str, data: dict[str, str]) -> None:
    shopper = web_shop.browser()
    shopper.sign_up("sam@example.com")
    assert shopper.submit(path, data).status_code == 403


def test_refused_actions_change_nothing(web_shop: WebShop) -> None:
    shopper = web_shop.browser()
    shopper.sign_up("sam@example.com")
    for path, data in ACTIONS:
        shopper.submit(path, data)
        web_shop.browser().submit(path, data)
    assert product_row(web_shop, "mug").price_amount == Decimal("18.00")
    assert count(web_shop, t.shop_config) == 0


def test_console_actions_need_the_csrf_token(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    response = browser.client.post(
        "/merchant/catalog/mug",
        data={"price": "1.00", "currency": "USD", "availability": "in_stock"},
    )
    assert response.status_code == 403
    assert product_row(web_shop, "mug").price_amount == Decimal("18.00")


# --- dashboard --------------------------------------------------------------------------


def test_the_dashboard_counts_what_the_engine_did(web_shop: WebShop) -> None:
    web_shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
    web_shop.ingest(
        [
            shop_post(),
            reply(ALICE, "3mmreply00001", "#cart"),
            reply(BOB, "3mmreply00002", "#cart"),
            b"this is not json",
        ]
    )
    with web_shop.app.engine.begin() as connection:
        customer_id = connection.execute(select(t.customers.c.id)).scalar_one()
        for key, total, currency in (("a", "42.50", "USD"), ("b", "10.00", "EUR")):
            connection.execute(
                insert(t.orders).values(
                    customer_id=customer_id,
                    checkout_key=key,
                    status="paid",
                    email="alice@example.com",
                    ship_name="Alice",
                    ship_line1="1 Road",
                    ship_city="Town",
                    ship_postcode="12345",
                    ship_country="US",
                    payment_gateway="invoice",
                    payment_reference=key,
                    total_amount=Decimal(total),
                    currency=currency,
                    created_at=web_shop.clock.now(),
                )
            )
    page = merchant(web_shop).get("/merchant")
    assert page.status_code == 200
    html = page.text
    assert stat(html, "Products") == "4"
    assert stat(html, "Customers") == "1"
    assert stat(html, "Linked accounts") == "1"
    assert stat(html, "Shoppable posts") == "1"
    assert stat(html, "Cart lines") == "1"
    assert stat(html, "Pending (unlinked)") == "1"
    assert stat(html, "Orders") == "2"
    assert "€10.00" in stat(html, "Revenue") and "$42.50" in stat(html, "Revenue")
    assert int(stat(html, "Outbox queued")) >= 1
    assert stat(html, "Outbox failed") == "0"
    assert stat(html, "Dead letters") == "1"
    links = {value for tag, name, value in parse(html).attributes if name == "href"}
    assert {
        "/merchant/catalog",
        "/merchant/customers",
        "/merchant/posts",
        "/merchant/outbox?status=queued",
        "/merchant/outbox?status=failed",
        "/merchant/dead-letters",
        "/merchant/settings",
    } <= links


# --- catalog ----------------------------------------------------------------------------


def test_the_catalog_lists_products_with_price_and_availability(web_shop: WebShop) -> None:
    html = merchant(web_shop).get("/merchant/catalog").text
    rows = {row[0]: row for row in parse(html).rows[1:]}
    assert set(rows) == {"beans", "grinder", "kettle", "mug"}
    assert "Trailhead Enamel Mug" in rows["mug"][1]
    assert rows["mug"][2] == "$18.00"
    assert rows["kettle"][3] == "out of stock"
    assert rows["grinder"][2] == "price on request"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ENAMEL", {"mug"}),
        ("bean", {"beans"}),
        ("e", {"beans", "grinder", "kettle", "mug"}),
        ("%", set()),
        ("_", set()),
    ],
)
def test_catalog_search_matches_title_or_id_ignoring_case(
    web_shop: WebShop, query: str, expected: set[str]
) -> None:
    html = merchant(web_shop).get("/merchant/catalog", params={"q": query}).text
    assert {row[0] for row in parse(html).rows[1:]} == expected


def _pager_link(html: str, rel: str) -> str:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    assert found, f"no {rel} link"
    return found.group(1).replace("&amp;", "&")


def test_the_catalog_comes_a_page_at_a_time_by_key_keeping_the_search(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    feed = "id,title,link,price,availability\n" + "".join(
        f"p{n:03},Poster {n},https://shop.example/p/{n},5.00 USD,in_stock\n" for n in range(120)
    )
    assert upload(browser, "feed.csv", feed.encode()).status_code == 200
    first = browser.get("/merchant/catalog", params={"q": "poster"})
    assert [row[0] for row in parse(first.text).rows[1:]] == [f"p{n:03}" for n in range(50)]
    assert "50 of 120" in first.text and 'rel="prev"' not in first.text
    second = browser.get("/merchant/catalog" + _pager_link(first.text, "next"))
    assert _pager_link(first.text, "next").startswith("?q=poster&after=")
    third = browser.get("/merchant/catalog" + _pager_link(second.text, "next"))
    assert [row[0] for row in parse(third.text).rows[1:]] == [f"p{n:03}" for n in range(100, 120)]
    assert 'rel="next"' not in third.text
    back = browser.get("/merchant/catalog" + _pager_link(third.text, "prev"))
    assert [row[0] for row in parse(back.text).rows[1:]] == [f"p{n:03}" for n in range(50, 100)]
    stale = browser.get("/merchant/catalog", params={"q": "poster", "after": "not-a-cursor"})
    assert stale.status_code == 200
    assert [row[0] for row in parse(stale.text).rows[1:]][:1] == ["p000"]


def test_importing_a_feed_adds_and_updates_and_reports_bad_rows(web_shop: WebShop) -> None:
    feed = (
        "id,title,link,price,availability\n"
        "mug,Trailhead Enamel Mug,https://shop.example/products/enamel-mug,20.00 USD,in_stock\n"
        "tote,Canvas Tote,https://shop.example/products/tote,12.00 USD,preorder\n"
        "hat,Wool Hat,https://shop.example/products/hat,9.00 USD,maybe\n"
        "cap,,https://shop.example/products/cap,9.00 USD,in_stock\n"
    )
    response = upload(merchant(web_shop), "feed.csv", feed.encode())
    assert response.status_code == 200
    assert "Imported 2 products; skipped 2 rows." in response.text
    skipped = [row for row in parse(response.text).rows if row and row[0] in ("4", "5")]
    assert skipped[0][1].startswith("availability 'maybe' is not one of")
    assert skipped[1][1] == "missing title"
    assert product_row(web_shop, "mug").price_amount == Decimal("20.00")
    assert product_row(web_shop, "tote").availability == "preorder"
    assert product_row(web_shop, "hat") is None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "feed.tsv",
            "id\ttitle\tlink\tprice\tavailability\n"
            "tote\tCanvas Tote\thttps://shop.example/products/tote\t12.00 EUR\tin_stock\n",
        ),
        (
            "feed.jsonl",
            json.dumps(
                {
                    "id": "tote",
                    "title": "Canvas Tote",
                    "link": "https://shop.example/products/tote",
                    "price": "12.00 EUR",
                    "availability": "in stock",
                }
            )
            + "\n",
        ),
    ],
)
def test_tsv_and_json_lines_feeds_import_too(web_shop: WebShop, name: str, content: str) -> None:
    response = upload(merchant(web_shop), name, content.encode())
    assert "Imported 1 product." in response.text
    row = product_row(web_shop, "tote")
    assert (row.price_amount, row.currency, row.availability) == (
        Decimal("12.00"),
        "EUR",
        "in_stock",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"sku,name\nmug,Mug\n", "the feed's header lacks id, title, link, availability"),
        (b"id,title,link,availability\n\xff\xfe broken", "the feed is not UTF-8"),
    ],
)
def test_a_broken_feed_imports_nothing_and_says_why(
    web_shop: WebShop, content: bytes, message: str
) -> None:
    before = count(web_shop, t.products)
    response = upload(merchant(web_shop), "broken.csv", content)
    assert response.status_code == 400
    assert message in parse(response.text).text
    assert "Nothing was imported" in response.text
    assert count(web_shop, t.products) == before


def test_a_feed_over_the_size_limit_is_refused_whole(
    web_shop: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hashcart.web.routes import merchant_catalog

    monkeypatch.setattr(merchant_catalog, "MAX_FEED_BYTES", 200)
    feed = "id,title,link,price,availability\n" + "".join(
        f"big{n},Big {n},https://shop.example/p/{n},1.00 USD,in_stock\n" for n in range(10)
    )
    before = count(web_shop, t.products)
    response = upload(merchant(web_shop), "big.csv", feed.encode())
    assert response.status_code == 400
    assert "nothing was imported" in response.text
    assert count(web_shop, t.products) == before


def test_importing_without_a_file_asks_for_one(web_shop: WebShop) -> None:
    response = merchant(web_shop).submit("/merchant/catalog/import", {})
    assert response.status_code == 400
    assert "Choose a feed file first." in response.text


def test_a_row_the_database_cannot_hold_is_skipped_not_a_crash(web_shop: WebShop) -> None:
    long_id = "x" * 250
    feed = (
        "id,title,link,price,availability\n"
        f"{long_id},Long,https://shop.example/p/long,1.00 USD,in_stock\n"
        "rich,Gold,https://shop.example/p/gold,99999999999.00 USD,in_stock\n"
        "ok,Fine,https://shop.example/p/ok,1.00 USD,in_stock\n"
    )
    response = upload(merchant(web_shop), "feed.csv", feed.encode())
    assert response.status_code == 200
    assert "Imported 1 product; skipped 2 rows." in response.text
    assert "longer than 200 characters" in response.text
    assert "too large" in response.text


def test_feed_text_is_shown_inert_in_the_catalog(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    rows = [
        {
            "id": "evil",
            "title": HOSTILE_SCRIPT + HOSTILE_IMG,
            "link": "https://shop.example/p/evil",
            "price": "1.00 USD",
            "availability": "in_stock",
        },
        {
            "id": "trap",
            "title": "Trap",
            "link": HOSTILE_LINK,
            "price": "1.00 USD",
            "availability": "in_stock",
        },
    ]
    feed = "".join(json.dumps(row) + "\n" for row in rows).encode()
    report = upload(browser, "feed.jsonl", feed)
    assert "is not an http(s) URL" in report.text  # the javascript: link was refused
    assert_inert(report.text)
    for path in ("/merchant/catalog", "/merchant/catalog/evil"):
        page = browser.get(path)
        assert page.status_code == 200
        assert HOSTILE_SCRIPT in parse(page.text).text
        assert "&lt;script&gt;" in page.text
        assert_inert(page.text)


def test_editing_price_and_availability(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    form = browser.get("/merchant/catalog/mug").text
    assert 'name="price" value="18.00"' in form
    assert 'name="currency" value="USD"' in form
    assert '<option value="in_stock" selected>' in form
    response = browser.submit(
        "/merchant/catalog/mug", {"price": " 21.5 ", "currency": "eur", "availability": "preorder"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/merchant/catalog/mug?saved=1"
    row = product_row(web_shop, "mug")
    assert (row.price_amount, row.currency, row.availability) == (
        Decimal("21.50"),
        "EUR",
        "preorder",
    )
    assert "Saved." in browser.get(response.headers["location"]).text
    listed = browser.get("/merchant/catalog", params={"q": "mug"}).text
    assert "€21.50" in listed


def test_an_empty_price_means_price_on_request(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    response = browser.submit(
        "/merchant/catalog/mug", {"price": "", "currency": "", "availability": "out_of_stock"}
    )
    assert response.status_code == 303
    row = product_row(web_shop, "mug")
    assert (row.price_amount, row.currency, row.availability) == (None, None, "out_of_stock")


@pytest.mark.parametrize(
    ("price", "currency", "availability", "message"),
    [
        ("abc", "USD", "in_stock", "is not a number"),
        ("-1", "USD", "in_stock", "must be zero or more"),
        ("NaN", "USD", "in_stock", "must be zero or more"),
        ("1.999", "USD", "in_stock", "at most two digits after the point"),
        ("12345678901", "USD", "in_stock", "too large"),
        ("5", "US", "in_stock", "three-letter ISO 4217 code"),
        ("5", "U$D", "in_stock", "three-letter ISO 4217 code"),
        ("5", "USD", "backorder", "Choose an availability: discontinued, in_stock"),
        ("", "USD", "in_stock", "Enter a price for that currency"),
    ],
)
def test_bad_offer_input_re_renders_with_the_message_and_what_was_typed(
    web_shop: WebShop, price: str, currency: str, availability: str, message: str
) -> None:
    response = merchant(web_shop).submit(
        "/merchant/catalog/mug",
        {"price": price, "currency": currency, "availability": availability},
    )
    assert response.status_code == 400
    assert message in response.text
    assert f'name="price" value="{price}"' in response.text
    assert f'name="currency" value="{currency}"' in response.text
    row = product_row(web_shop, "mug")
    assert (row.price_amount, row.currency, row.availability) == (
        Decimal("18.00"),
        "USD",
        "in_stock",
    )


def test_a_product_id_with_a_slash_or_space_can_be_edited(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    feed = (
        "id,title,link,price,availability\n"
        "kit/2 pack,Kit,https://shop.example/p/kit,5.00 USD,in_stock\n"
    )
    upload(browser, "feed.csv", feed.encode())
    listed = browser.get("/merchant/catalog", params={"q": "kit"}).text
    assert 'href="/merchant/catalog/kit/2%20pack"' in listed
    response = browser.submit(
        "/merchant/catalog/kit/2%20pack",
        {"price": "6.00", "currency": "USD", "availability": "in_stock"},
    )
    assert response.status_code == 303
    assert product_row(web_shop, "kit/2 pack").price_amount == Decimal("6.00")


def test_an_unknown_product_is_not_found(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    assert browser.get("/merchant/catalog/nothing").status_code == 404
    posted = browser.submit(
        "/merchant/catalog/nothing", {"price": "1", "currency": "USD", "availability": "in_stock"}
    )
    assert posted.status_code == 404
    assert product_row(web_shop, "nothing") is None


# --- settings ---------------------------------------------------------------------------


def settings_form(**changes: str) -> dict[str, str]:
    return {
        "cart_tags": "cart",
        "wishlist_tags": "wishlist",
        "link_tags": "cartlink",
        "shop_hosts": "",
        **changes,
    }


def settings_rows(html: str) -> dict[str, list[str]]:
    return {row[0]: row for row in parse(html).rows[1:]}


def test_settings_show_each_value_and_where_it_comes_from(tmp_path: Any) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'file.db'}", cart_tags=("AmazonCart",))
    try:
        rows = settings_rows(merchant(shop).get("/merchant/settings").text)
        assert rows["Cart tags"][1:3] == ["#AmazonCart", "settings file"]
        assert rows["Wish-list tags"][1:3] == ["#wishlist", "default"]
        assert rows["Link tags"][1:3] == ["#cartlink", "default"]
        assert rows["Shop hosts"][1:3] == ["the catalog's hosts: shop.example", "default"]
    finally:
        shop.close()


def test_a_new_cart_tag_is_acted_on_and_the_old_one_no_longer(web_shop: WebShop) -> None:
    web_shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
    browser = merchant(web_shop)
    response = browser.submit("/merchant/settings", settings_form(cart_tags="grab, Snag"))
    assert response.status_code == 303
    page = browser.get(response.headers["location"]).text
    assert "Saved." in page
    assert settings_rows(page)["Cart tags"][1:3] == ["#grab #Snag", "console"]

    web_shop.ingest([shop_post(), reply(ALICE, "3mmreply00001", "#cart")])
    assert web_shop.cart("alice@example.com") == []
    web_shop.ingest([reply(ALICE, "3mmreply00002", "#grab")])
    assert web_shop.cart("alice@example.com") == [("mug", 1)]


def test_reset_goes_back_to_the_settings_file(web_shop: WebShop) -> None:
    web_shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
    browser = merchant(web_shop)
    browser.submit("/merchant/settings", settings_form(cart_tags="grab"))
    response = browser.submit("/merchant/settings/reset", {})
    assert response.status_code == 303
    page = browser.get(response.headers["location"]).text
    assert "Back to the settings file." in page
    assert settings_rows(page)["Cart tags"][1:3] == ["#cart", "default"]
    assert count(web_shop, t.shop_config) == 0
    web_shop.ingest([shop_post(), reply(ALICE, "3mmreply00001", "#cart")])
    assert web_shop.cart("alice@example.com") == [("mug", 1)]


def test_one_setting_can_be_reset_alone(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    browser.submit("/merchant/settings", settings_form(cart_tags="grab", shop_hosts="shop.example"))
    browser.submit("/merchant/settings/reset", {"key": "cart_tags"})
    rows = settings_rows(browser.get("/merchant/settings").text)
    assert rows["Cart tags"][1:3] == ["#cart", "default"]
    assert rows["Shop hosts"][1:3] == ["shop.example", "console"]


def test_resetting_an_unknown_setting_is_refused(web_shop: WebShop) -> None:
    response = merchant(web_shop).submit("/merchant/settings/reset", {"key": "database_url"})
    assert response.status_code == 400
    assert "There is no setting" in response.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cart_tags": "#grab"}, "cart trigger tag '#grab' is not a hashtag"),
        ({"cart_tags": "amazon cart"}, "cart trigger tag 'amazon cart' is not a hashtag"),
        ({"wishlist_tags": "cart"}, "trigger tag 'cart' is configured for both"),
        ({"link_tags": "Cart"}, "link tag 'Cart' is also a cart or wish-list trigger tag"),
        ({"link_tags": ""}, "link tags must be a list of at least one tag"),
        ({"cart_tags": ""}, "give at least one cart trigger tag"),
        ({"shop_hosts": "not a host"}, "not a host name: 'not a host'"),
        ({"shop_hosts": "shop.example, http://x"}, "not a host name: 'http://x'"),
    ],
)
def test_bad_settings_show_the_validators_message_and_save_nothing(
    web_shop: WebShop, changes: dict[str, str], message: str
) -> None:
    browser = merchant(web_shop)
    response = browser.submit("/merchant/settings", settings_form(**changes))
    assert response.status_code == 400
    assert "Nothing was saved" in response.text
    page = parse(response.text)
    assert message in page.text
    for key, typed in settings_form(**changes).items():
        assert page.inputs[key] == typed
    assert count(web_shop, t.shop_config) == 0


def test_a_value_equal_to_the_settings_file_is_not_stored(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    browser.submit("/merchant/settings", settings_form(cart_tags="grab"))
    browser.submit("/merchant/settings", settings_form())
    assert count(web_shop, t.shop_config) == 0


def test_settings_text_is_shown_inert(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    response = browser.submit("/merchant/settings", settings_form(cart_tags=HOSTILE_IMG))
    assert response.status_code == 400
    assert_inert(response.text)


def test_console_values_that_no_longer_fit_the_settings_file_are_flagged(
    web_shop: WebShop,
) -> None:
    with web_shop.app.engine.begin() as connection:
        connection.execute(
            insert(t.shop_config).values(key="cart_tags", value=json.dumps(["wishlist"]))
        )
    page = merchant(web_shop).get("/merchant/settings").text
    assert "no longer fit the settings file" in page
    assert settings_rows(page)["Cart tags"][1:3] == ["#cart", "default"]


# --- customers --------------------------------------------------------------------------


@pytest.fixture
def customers(web_shop: WebShop) -> Iterator[WebShop]:
    web_shop.browser().sign_up("ann@example.com", name="Ann " + HOSTILE_SCRIPT)
    web_shop.link("ann@example.com", Network.BLUESKY, ALICE, HOSTILE_IMG)
    web_shop.link("ann@example.com", Network.X, "2002", "ann_on_x")
    web_shop.customer("bob@example.com")
    web_shop.ingest([shop_post(), reply(ALICE, "3mmreply00001", "#cart")])
    yield web_shop


def test_customers_show_email_name_links_cart_lines_and_orders(customers: WebShop) -> None:
    html = merchant(customers).get("/merchant/customers").text
    rows = {row[0].split()[0]: row for row in parse(html).rows[1:]}
    ann = rows["ann@example.com"]
    assert ann[1] == "Ann " + HOSTILE_SCRIPT
    assert "Bluesky @" + HOSTILE_IMG in ann[2]
    assert "X @ann_on_x" in ann[2]
    assert ann[3:5] == ["1", "0"]
    assert rows["bob@example.com"][0] == "bob@example.com no web sign-in"
    assert rows["bob@example.com"][2] == "none"
    assert_inert(html)


def test_customers_search_by_email(customers: WebShop) -> None:
    html = merchant(customers).get("/merchant/customers", params={"email": "ANN@"}).text
    assert [row[0] for row in parse(html).rows[1:]] == ["ann@example.com"]
    none = merchant(customers).get("/merchant/customers", params={"email": "zed"}).text
    assert "No customer's email contains “zed”." in none


# --- outbox -----------------------------------------------------------------------------


@pytest.fixture
def outbox_shop(tmp_path: Any) -> Iterator[WebShop]:
    """Two emails that failed (SMTP refused on a closed loopback port) and queued replies."""
    shop = WebShop(
        f"sqlite:///{tmp_path / 'outbox.db'}",
        smtp_host="127.0.0.1",
        smtp_port=closed_port(),
        dispatch_max_attempts=1,  # the first refusal is final: the page shows them failed
    )
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
    shop.ingest([shop_post(), reply(ALICE, "3mmreply00001", "#cart")])
    with shop.app.unit_of_work() as uow:
        for n, subject in enumerate(("Your order", HOSTILE_SCRIPT)):
            queue_email(
                uow.repository,
                Email(
                    f"buyer{n}@example.com",
                    subject,
                    f"Hello {HOSTILE_IMG} {HOSTILE_LINK}",
                    "order_confirmed",
                    f"test-{n}",
                ),
                shop.clock.now(),
            )
    shop.clock.advance(timedelta(minutes=1))
    run = dispatch_once(shop.app, {"email": EmailSender(shop.app.settings)})
    assert run.failed == 2
    yield shop
    shop.close()


def outbox_rows(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.outbox).order_by(t.outbox.c.id)).all())


def test_the_outbox_shows_messages_with_status_error_and_times(outbox_shop: WebShop) -> None:
    html = merchant(outbox_shop).get("/merchant/outbox").text
    assert_inert(html)
    text = parse(html).text
    assert "SMTP server unreachable" in text
    assert "buyer0@example.com" in text
    assert HOSTILE_SCRIPT in text and HOSTILE_IMG in text
    assert "Bluesky" in text and "reply" in text
    assert "queued 20 Nov 2026, 13:00 UTC" in " ".join(text.split())
    failed = [row for row in parse(html).rows if row and row[1].startswith("failed")]
    assert len(failed) == 2
    assert all(row[6] == "1" for row in failed)  # attempts


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "failed"}, {("failed", "email")}),
        ({"status": "queued"}, {("queued", "reply")}),
        ({"channel": "email"}, {("failed", "email")}),
        ({"channel": "reply"}, {("queued", "reply")}),
        ({"status": "sent"}, set()),
        ({"status": "bogus"}, {("failed", "email"), ("queued", "reply")}),
    ],
)
def test_the_outbox_filters_by_status_and_channel(
    outbox_shop: WebShop, params: dict[str, str], expected: set[tuple[str, str]]
) -> None:
    html = merchant(outbox_shop).get("/merchant/outbox", params=params).text
    shown = {(row[1].split()[0], row[2].split()[-1]) for row in parse(html).rows[1:]}
    assert shown == expected


def test_a_sent_message_shows_when_it_was_sent(outbox_shop: WebShop) -> None:
    from sqlalchemy import update

    with outbox_shop.app.engine.begin() as connection:
        connection.execute(
            update(t.outbox)
            .where(t.outbox.c.channel == "reply")
            .values(status="sent", sent_at=outbox_shop.clock.now(), attempts=1)
        )
    html = merchant(outbox_shop).get("/merchant/outbox", params={"status": "sent"}).text
    assert "sent 20 Nov 2026, 13:01 UTC" in " ".join(parse(html).text.split())


def test_retrying_a_failed_message_queues_it_again_keeping_attempts(outbox_shop: WebShop) -> None:
    failed = next(row for row in outbox_rows(outbox_shop) if row.status == "failed")
    browser = merchant(outbox_shop)
    response = browser.submit(
        f"/merchant/outbox/{failed.id}/retry", {"back": "/merchant/outbox?status=failed&page=1"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/merchant/outbox?status=failed&done=retried"
    assert "Queued again" in browser.get(response.headers["location"]).text
    after = {row.id: row for row in outbox_rows(outbox_shop)}[failed.id]
    assert (after.status, after.attempts) == ("queued", 1)
    assert after.last_error == failed.last_error


def test_retrying_a_message_that_did_not_fail_changes_nothing(outbox_shop: WebShop) -> None:
    queued = next(row for row in outbox_rows(outbox_shop) if row.status == "queued")
    browser = merchant(outbox_shop)
    response = browser.submit(f"/merchant/outbox/{queued.id}/retry", {})
    assert response.headers["location"] == "/merchant/outbox?done=not-failed"
    assert "had not failed" in browser.get(response.headers["location"]).text
    assert browser.submit("/merchant/outbox/999999/retry", {}).status_code == 303


def test_retry_all_failed(outbox_shop: WebShop) -> None:
    browser = merchant(outbox_shop)
    response = browser.submit("/merchant/outbox/retry-failed", {"back": "https://evil.test/"})
    assert response.headers["location"] == "/merchant/outbox?done=retried-all&count=2"
    assert "Queued 2 failed messages again." in browser.get(response.headers["location"]).text
    assert {row.status for row in outbox_rows(outbox_shop)} == {"queued"}
    assert [row.attempts for row in outbox_rows(outbox_shop) if row.channel == "email"] == [1, 1]
    again = browser.submit("/merchant/outbox/retry-failed", {})
    assert "No failed messages to retry." in browser.get(again.headers["location"]).text


# --- dead letters -----------------------------------------------------------------------


def test_dead_letters_show_source_line_reason_and_an_inert_excerpt(web_shop: WebShop) -> None:
    web_shop.ingest([shop_post(), HOSTILE_SCRIPT.encode(), HOSTILE_IMG.encode()], source="feed")
    long_excerpt = "{" + "a" * 2000 + HOSTILE_SCRIPT
    with transaction(web_shop.app.engine) as repo:
        repo.add_dead_letter("upload.jsonl", 7, "too long", long_excerpt, web_shop.clock.now())
    html = merchant(web_shop).get("/merchant/dead-letters").text
    assert_inert(html)
    page = parse(html)
    assert HOSTILE_SCRIPT in page.pre
    assert HOSTILE_IMG in page.pre
    text = " ".join(page.text.split())
    assert "feed line 2" in text and "feed line 3" in text
    assert "upload.jsonl line 7" in text
    # The long one is cut: its start is shown, the script at its end is not, the rest counted.
    assert long_excerpt[:600] in page.pre
    assert f"{len(long_excerpt) - 600} more characters not shown" in text


def test_no_dead_letters_says_so(web_shop: WebShop) -> None:
    assert "No dead letters" in merchant(web_shop).get("/merchant/dead-letters").text


# --- on every database ------------------------------------------------------------------


def test_every_console_page_works_on_each_database(web_shop_any_db: WebShop) -> None:
    shop = web_shop_any_db
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
    shop.ingest([shop_post(), reply(ALICE, "3mmreply00001", "#cart"), b"not json"])
    browser = merchant(shop)
    # A product listed twice takes its last row (one upsert statement must not hit it twice).
    feed = (
        "id,title,link,price,availability\n"
        "tote,Canvas Tote,https://shop.example/p/tote,12.00 USD,in_stock\n"
        "tote,Canvas Tote,https://shop.example/p/tote,14.00 USD,in_stock\n"
    )
    assert "Imported 1 product." in upload(browser, "feed.csv", feed.encode()).text
    assert product_row(shop, "tote").price_amount == Decimal("14.00")
    saved = browser.submit("/merchant/settings", settings_form(cart_tags="grab"))
    assert saved.status_code == 303
    edited = browser.submit(
        "/merchant/catalog/mug", {"price": "3.00", "currency": "USD", "availability": "in_stock"}
    )
    assert edited.status_code == 303
    for path in PAGES:
        assert browser.get(path).status_code == 200, path
    catalog = browser.get("/merchant/catalog", params={"q": "TOTE"}).text
    assert [row[0] for row in parse(catalog).rows[1:]] == ["tote"]
    customers = browser.get("/merchant/customers", params={"email": "ALICE"}).text
    assert [row[0].split()[0] for row in parse(customers).rows[1:]] == ["alice@example.com"]
    assert browser.submit("/merchant/outbox/retry-failed", {}).status_code == 303


def test_the_outbox_withholds_password_reset_links_from_staff(web_shop: WebShop) -> None:
    shopper = web_shop.browser()
    shopper.sign_up("ann@example.com")
    web_shop.browser().submit("/reset", {"email": "ann@example.com"})
    with web_shop.app.engine.connect() as connection:
        stored = connection.execute(
            select(t.outbox.c.text).where(t.outbox.c.reason == "password_reset")
        ).scalar_one()
    secret_path = stored.split("http://127.0.0.1:8000", 1)[1].split()[0]
    merchant = web_shop.browser()
    merchant.merchant_sign_in()
    page = merchant.get("/merchant/outbox").text
    assert "password reset" in page
    assert secret_path not in page
    assert "withheld" in page
