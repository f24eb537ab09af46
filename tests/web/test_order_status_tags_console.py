"""The console's settings page edits `order_status_tags` (`@shop #order`) as it edits the cart
and wish-list tags: the same checks, a tag no other kind has, stored over the settings file
and reset to it; the engine answers the new tag and no longer the old one. SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.integration.test_order_care import (
    ALICE,
    ALICE_DID,
    SHOP_ACCOUNTS,
    bluesky_order,
    outbox,
    place_order,
)
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import HOSTILE_IMG, assert_inert, parse


@pytest.fixture
def shop(database_url: str) -> Iterator[WebShop]:
    shop = WebShop(database_url, shop_accounts=SHOP_ACCOUNTS)
    shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    yield shop
    shop.close()


def _merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    browser.merchant_sign_in()
    return browser


def _form(**changes: str) -> dict[str, str]:
    return {
        "cart_tags": "cart",
        "wishlist_tags": "wishlist",
        "order_status_tags": "order",
        "link_tags": "cartlink",
        "shop_hosts": "",
        "shop_accounts": ", ".join(SHOP_ACCOUNTS),
        "order_status_tags_shown": "1",  # as the page sends it
        **changes,
    }


def _rows(html: str) -> dict[str, list[str]]:
    return {row[0]: row for row in parse(html).rows[1:]}


def _stored(shop: WebShop) -> int:
    with shop.app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(t.shop_config)) or 0)


def _answers(shop: WebShop) -> list[str]:
    return [message["reason"] for message in outbox(shop)]


def test_the_page_shows_the_order_status_tags_and_where_they_come_from(shop: WebShop) -> None:
    page = _merchant(shop).get("/merchant/settings").text
    assert _rows(page)["Order status tags"][1:3] == ["#order", "default"]
    assert parse(page).inputs["order_status_tags"] == "order"


def test_a_new_order_status_tag_is_answered_and_the_old_one_no_longer(shop: WebShop) -> None:
    place_order(shop, "a")
    browser = _merchant(shop)
    answer = browser.submit("/merchant/settings", _form(order_status_tags="whereis, Parcel"))
    assert answer.status_code == 303
    page = browser.get(answer.headers["location"]).text
    assert _rows(page)["Order status tags"][1:3] == ["#whereis #Parcel", "console"]

    shop.ingest([bluesky_order(rkey="3mmorder00001", text="@trailhead.bsky.social #order")])
    assert _answers(shop) == []
    shop.ingest([bluesky_order(rkey="3mmorder00002", text="@trailhead.bsky.social #parcel")])
    assert _answers(shop) == ["order_status"]


def test_no_order_status_tag_answers_nobody(shop: WebShop) -> None:
    place_order(shop, "a")
    answer = _merchant(shop).submit("/merchant/settings", _form(order_status_tags=""))
    assert answer.status_code == 303
    shop.ingest([bluesky_order()])
    assert _answers(shop) == []


def test_a_form_without_the_field_leaves_the_tags_as_they_are(shop: WebShop) -> None:
    """A form from before the field was on the page (or a script) never empties them."""
    browser = _merchant(shop)
    browser.submit("/merchant/settings", _form(order_status_tags="whereis"))
    without = _form(cart_tags="grab")
    del without["order_status_tags"], without["order_status_tags_shown"]
    assert browser.submit("/merchant/settings", without).status_code == 303
    rows = _rows(browser.get("/merchant/settings").text)
    assert rows["Order status tags"][1:3] == ["#whereis", "console"]
    assert rows["Cart tags"][1:3] == ["#grab", "console"]


def test_reset_brings_back_the_settings_file_s_tags(shop: WebShop) -> None:
    browser = _merchant(shop)
    browser.submit("/merchant/settings", _form(order_status_tags="whereis"))
    browser.submit("/merchant/settings/reset", {"key": "order_status_tags"})
    assert _rows(browser.get("/merchant/settings").text)["Order status tags"][1:3] == [
        "#order",
        "default",
    ]
    assert _stored(shop) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"order_status_tags": "#status"}, "order_status trigger tag '#status' is not a hashtag"),
        ({"order_status_tags": "where is"}, "is not a hashtag"),
        ({"order_status_tags": "Cart"}, "configured for both"),
        ({"order_status_tags": "wishlist"}, "configured for both"),
        ({"order_status_tags": "cartlink"}, "configured for both"),
        ({"order_status_tags": "status", "cart_tags": "STATUS"}, "configured for both"),
        ({"order_status_tags": "status\x00"}, "is not a hashtag"),
    ],
)
def test_a_tag_another_kind_has_or_no_hashtag_is_refused_and_nothing_saved(
    shop: WebShop, changes: dict[str, str], message: str
) -> None:
    browser = _merchant(shop)
    answer = browser.submit("/merchant/settings", _form(**changes))
    assert answer.status_code == 400
    page = parse(answer.text)
    assert "Nothing was saved" in page.text and message in page.text
    assert _stored(shop) == 0


def test_a_hostile_order_status_tag_is_shown_inert(shop: WebShop) -> None:
    answer = _merchant(shop).submit("/merchant/settings", _form(order_status_tags=HOSTILE_IMG))
    assert answer.status_code == 400
    assert_inert(answer.text)
