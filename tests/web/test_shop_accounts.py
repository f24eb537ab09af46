"""The setting `shop_accounts`: with the shop's own accounts named, the shop front, the funnel
(page, CSV, API), the live view's post picker and the dashboard show only the shop's posts,
never a stranger's post that happens to carry one of the shop's links; with none named, every
post with a shop product link counts, as before. The engine acts on replies to either."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.harness import HOST
from tests.payloads import SHOP_DID, jetstream_post, mastodon_status, post_uri, x_tweet
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import HOSTILE_SCRIPT, assert_inert, parse, stat
from tests.web.funnel_support import Line, add_order, api_token
from tests.web.shopfront_support import read_page

MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"

# The shop's posts: one on each network. Jetstream carries no handles, so on Bluesky only
# the DID can name the shop's account.
SHOP_BSKY_RKEY = "3mmshop000001"
SHOP_X_ID, SHOP_X_USER, SHOP_X_HANDLE = "1900000000000000001", "900", "TrailheadCoffee"
SHOP_MASTODON_ID = "110000000000000001"
SHOP_MASTODON_URI = "https://social.example/users/trailhead"

# Strangers' posts, each carrying one of the shop's product links.
STRANGER_X_ID, STRANGER_X_USER = "1900000000000000002", "777"
STRANGER_BSKY_DID, STRANGER_BSKY_RKEY = "did:plc:stranger000000000000000", "3mmstranger01"
# A Mastodon account whose handle is the shop's X handle: another network, not the shop.
LOOKALIKE_MASTODON_ID = "110000000000000002"
LOOKALIKE_MASTODON_URI = "https://elsewhere.example/users/trailheadcoffee"

ALICE_DID = "did:plc:alice0000000000000000000"

# The shop's accounts as a merchant would write them: the X handle in another case, the
# Bluesky DID, the Mastodon account URI (its id).
SHOP_ACCOUNTS = (
    "x:trailheadcoffee",
    f"bluesky:{SHOP_DID}",
    f"mastodon:{SHOP_MASTODON_URI}",
)

SHOP_TEXTS = {"shop on bluesky", "shop on x", "shop on mastodon"}
STRANGER_TEXTS = {"stranger on x", "stranger on bluesky", "lookalike on mastodon"}


def mastodon_post(status_id: str, uri: str, acct: str, text: str, minutes: float) -> bytes:
    html = f'<p>{text} <a href="{BEANS}">{BEANS}</a></p>'
    return mastodon_status(status_id, uri, acct, html, minutes=minutes)


def posts() -> list[bytes]:
    return [
        jetstream_post(SHOP_DID, SHOP_BSKY_RKEY, f"shop on bluesky {MUG}", links=(MUG,), minutes=0),
        x_tweet(SHOP_X_ID, SHOP_X_USER, SHOP_X_HANDLE, "shop on x", links=(MUG,), minutes=5),
        mastodon_post(SHOP_MASTODON_ID, SHOP_MASTODON_URI, "trailhead", "shop on mastodon", 10),
        x_tweet(
            STRANGER_X_ID, STRANGER_X_USER, "copycat", "stranger on x", links=(MUG,), minutes=15
        ),
        jetstream_post(
            STRANGER_BSKY_DID,
            STRANGER_BSKY_RKEY,
            f"stranger on bluesky {BEANS}",
            links=(BEANS,),
            minutes=20,
        ),
        mastodon_post(
            LOOKALIKE_MASTODON_ID,
            LOOKALIKE_MASTODON_URI,
            "TrailheadCoffee",
            "lookalike on mastodon",
            25,
        ),
    ]


def stranger_reply() -> bytes:
    """Alice (linked) replies #cart to the stranger's Bluesky post."""
    return jetstream_post(
        ALICE_DID,
        "3mmreply00001",
        "#cart",
        reply_to=post_uri(STRANGER_BSKY_DID, STRANGER_BSKY_RKEY),
        minutes=30,
    )


def shop_reply() -> bytes:
    return jetstream_post(
        ALICE_DID,
        "3mmreply00002",
        "#cart",
        reply_to=post_uri(SHOP_DID, SHOP_BSKY_RKEY),
        minutes=31,
    )


def fill(shop: WebShop) -> None:
    shop.browser().sign_up("alice@example.com", "Alice")
    shop.link("alice@example.com", Network.BLUESKY, ALICE_DID, "alice.bsky.social")
    shop.ingest([*posts(), stranger_reply(), shop_reply()])
    # An order from each of a shop's post and a stranger's post.
    add_order(
        shop,
        "alice@example.com",
        [
            Line("mug", "18.00", 1, "bluesky", post_uri(SHOP_DID, SHOP_BSKY_RKEY)),
            Line("beans", "24.50", 2, "bluesky", post_uri(STRANGER_BSKY_DID, STRANGER_BSKY_RKEY)),
        ],
        "order-1",
    )


@pytest.fixture
def own_shop(database_url: str) -> Iterator[WebShop]:
    """The shop with its accounts named in the settings file, on SQLite and PostgreSQL."""
    shop = WebShop(database_url, shop_accounts=SHOP_ACCOUNTS)
    fill(shop)
    yield shop
    shop.close()


@pytest.fixture
def open_shop(web_shop: WebShop) -> WebShop:
    """The same posts, with no shop accounts named (the default)."""
    fill(web_shop)
    return web_shop


def front_texts(shop: WebShop) -> set[str]:
    """Which of the posts the shop front shows (each card by its text)."""
    response = shop.browser().get("/s/demo")
    assert response.status_code == 200, response.text
    shown = set()
    for card in read_page(response.text).cards:
        [text] = [text for text in SHOP_TEXTS | STRANGER_TEXTS if text in card.text]
        shown.add(text)
    return shown


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def funnel_rows(browser: Browser, path: str = "/merchant/posts") -> list[list[str]]:
    page = browser.get(path)
    assert page.status_code == 200, page.text
    return parse(page.text).rows[1:]


def csv_rows(browser: Browser) -> list[dict[str, str]]:
    response = browser.get("/merchant/posts.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.text)))


# --- the shop front ---------------------------------------------------------------------


def test_the_shop_front_shows_only_the_shops_own_posts(own_shop: WebShop) -> None:
    assert front_texts(own_shop) == SHOP_TEXTS
    assert own_shop.browser().get("/s/demo/count").json() == {"total": 3}


def test_without_shop_accounts_every_post_with_a_shop_link_is_on_the_front(
    open_shop: WebShop,
) -> None:
    assert front_texts(open_shop) == SHOP_TEXTS | STRANGER_TEXTS
    assert open_shop.browser().get("/s/demo/count").json() == {"total": 6}


@pytest.mark.parametrize(
    ("accounts", "shown"),
    [
        # A handle matches ignoring case, on its own network only.
        (("x:TRAILHEADCOFFEE",), {"shop on x"}),
        (("x:trailheadcoffee",), {"shop on x"}),
        (("mastodon:trailheadcoffee",), {"lookalike on mastodon"}),
        (("mastodon:Trailhead",), {"shop on mastodon"}),
        # An id matches exactly, on its own network only.
        (("x:900",), {"shop on x"}),
        ((f"bluesky:{SHOP_DID}",), {"shop on bluesky"}),
        ((f"bluesky:{SHOP_DID.upper()}",), set()),
        ((f"mastodon:{SHOP_MASTODON_URI}",), {"shop on mastodon"}),
        (("bluesky:900",), set()),
        ((f"x:{SHOP_DID}",), set()),
        # An account that posted nothing leaves the front empty rather than open to all.
        (("x:somebody_else",), set()),
        (("x:copycat", "x:trailheadcoffee"), {"shop on x", "stranger on x"}),
    ],
)
def test_accounts_match_by_handle_ignoring_case_or_by_id_on_their_network(
    tmp_path: Path, accounts: tuple[str, ...], shown: set[str]
) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'web.db'}", shop_accounts=accounts)
    try:
        shop.ingest(posts())
        assert front_texts(shop) == shown
    finally:
        shop.close()


def test_the_engine_still_acts_on_a_reply_to_a_strangers_post(own_shop: WebShop) -> None:
    # Both #cart replies were acted on: the stranger's post named beans, the shop's the mug.
    assert sorted(own_shop.cart("alice@example.com")) == [("beans", 1), ("mug", 1)]
    with own_shop.app.engine.connect() as connection:
        stored = connection.execute(
            select(t.posts.c.post_id).where(t.posts.c.has_shop_link.is_(True))
        ).scalars()
        assert post_uri(STRANGER_BSKY_DID, STRANGER_BSKY_RKEY) in set(stored)


def web_add_source(shop: WebShop, email: str, network: str, post_id: str) -> str:
    """`email` adds the mug from the post's card; the source their cart line was given."""
    browser = shop.browser()
    browser.sign_up(email)
    added = browser.submit(
        "/cart/add", {"product_id": "mug", "source_network": network, "source_post_id": post_id}
    )
    assert added.status_code == 303
    with shop.app.engine.connect() as connection:
        return str(
            connection.execute(
                select(t.cart_lines.c.post_id)
                .join(t.customers, t.customers.c.id == t.cart_lines.c.customer_id)
                .where(t.customers.c.email == email)
            ).scalar_one()
        )


def test_a_web_add_credits_the_shops_post_but_not_a_strangers(own_shop: WebShop) -> None:
    shops = post_uri(SHOP_DID, SHOP_BSKY_RKEY)
    assert web_add_source(own_shop, "bob@example.com", "bluesky", shops) == f"bluesky/{shops}"
    # The stranger's post carries the mug too, but it is no post of the shop's.
    assert web_add_source(own_shop, "carol@example.com", "x", STRANGER_X_ID) == ""


def test_without_shop_accounts_a_web_add_credits_a_strangers_post(open_shop: WebShop) -> None:
    source = web_add_source(open_shop, "carol@example.com", "x", STRANGER_X_ID)
    assert source == f"x/{STRANGER_X_ID}"


# --- the funnel: page, CSV, API -----------------------------------------------------------


def test_the_funnel_lists_and_totals_only_the_shops_posts(own_shop: WebShop) -> None:
    browser = merchant(own_shop)
    page = browser.get("/merchant/posts").text
    rows = funnel_rows(browser)
    body = [row for row in rows if row and not row[0].startswith("Total")]
    texts = " ".join(" ".join(row) for row in body)
    for text in SHOP_TEXTS:
        assert text in texts
    for text in STRANGER_TEXTS:
        assert text not in texts
    # The page says whose posts these are.
    assert "x:trailheadcoffee" in page and f"bluesky:{SHOP_DID}" in page
    # The stranger's order line (2 beans, $49.00) is not the shop's revenue.
    assert "$49.00" not in page and "$18.00" in page


def test_the_funnel_csv_and_api_have_only_the_shops_posts(own_shop: WebShop) -> None:
    shop_keys = {
        ("bluesky", post_uri(SHOP_DID, SHOP_BSKY_RKEY)),
        ("x", SHOP_X_ID),
        ("mastodon", SHOP_MASTODON_ID),
    }
    exported = csv_rows(merchant(own_shop))
    assert {(row["network"], row["post_id"]) for row in exported} == shop_keys
    bluesky = next(row for row in exported if row["network"] == "bluesky")
    assert (bluesky["triggers"], bluesky["carted"], bluesky["orders"]) == ("1", "1", "1")

    token = api_token(own_shop)
    listed = own_shop.browser().get("/api/posts", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert {(post["network"], post["post_id"]) for post in listed.json()} == shop_keys
    only_bluesky = own_shop.browser().get(
        "/api/posts?network=bluesky", headers={"Authorization": f"Bearer {token}"}
    )
    assert [post["post_id"] for post in only_bluesky.json()] == [post_uri(SHOP_DID, SHOP_BSKY_RKEY)]


def test_without_shop_accounts_the_funnel_counts_strangers_posts_too(open_shop: WebShop) -> None:
    exported = csv_rows(merchant(open_shop))
    assert len(exported) == 6
    stranger = next(row for row in exported if row["post_id"].endswith(STRANGER_BSKY_RKEY))
    assert (stranger["triggers"], stranger["carted"], stranger["revenue"]) == ("1", "1", "49.00")
    page = merchant(open_shop).get("/merchant/posts").text
    assert "name the shop's own accounts" in page


# --- the dashboard and the live view ------------------------------------------------------


def test_the_dashboard_counts_only_the_shops_posts(own_shop: WebShop) -> None:
    assert stat(merchant(own_shop).get("/merchant").text, "Shoppable posts") == "3"


def test_without_shop_accounts_the_dashboard_counts_every_shoppable_post(
    open_shop: WebShop,
) -> None:
    assert stat(merchant(open_shop).get("/merchant").text, "Shoppable posts") == "6"


def test_the_live_views_post_picker_offers_only_the_shops_posts(own_shop: WebShop) -> None:
    page = merchant(own_shop).get("/merchant/live").text
    assert f'<option value="x/{SHOP_X_ID}">' in page
    assert f'<option value="mastodon/{SHOP_MASTODON_ID}">' in page
    assert f'<option value="x/{STRANGER_X_ID}">' not in page
    assert STRANGER_BSKY_RKEY not in page and LOOKALIKE_MASTODON_ID not in page


# --- the console's settings page ----------------------------------------------------------


def settings_form(**changes: str) -> dict[str, str]:
    return {
        "cart_tags": "cart",
        "wishlist_tags": "wishlist",
        "link_tags": "cartlink",
        "shop_hosts": "",
        "shop_accounts": "",
        **changes,
    }


def settings_row(html: str) -> list[str]:
    return next(row for row in parse(html).rows[1:] if row[0] == "Shop accounts")


def shop_config_rows(shop: WebShop) -> list[Any]:
    with shop.app.engine.connect() as connection:
        return list(connection.execute(select(t.shop_config)).all())


def test_the_merchant_names_the_shops_accounts_in_the_console(open_shop: WebShop) -> None:
    browser = merchant(open_shop)
    assert settings_row(browser.get("/merchant/settings").text)[1:3] == [
        "anyone's posts with a shop product link",
        "default",
    ]
    saved = browser.submit(
        "/merchant/settings",
        settings_form(shop_accounts=f"X:TrailheadCoffee,\nbluesky:{SHOP_DID}"),
    )
    assert saved.status_code == 303
    page = browser.get(saved.headers["location"]).text
    assert "The shop front and the funnel use the shop accounts at once." in page
    assert settings_row(page)[1:3] == [f"X:TrailheadCoffee bluesky:{SHOP_DID}", "console"]
    assert parse(page).inputs["shop_accounts"] == f"X:TrailheadCoffee, bluesky:{SHOP_DID}"
    # At once, with no restart: the shop front, the funnel and the dashboard.
    assert front_texts(open_shop) == {"shop on x", "shop on bluesky"}
    assert {row["post_id"] for row in csv_rows(browser)} == {
        SHOP_X_ID,
        post_uri(SHOP_DID, SHOP_BSKY_RKEY),
    }
    assert stat(browser.get("/merchant").text, "Shoppable posts") == "2"

    reset = browser.submit("/merchant/settings/reset", {"key": "shop_accounts"})
    assert reset.status_code == 303
    assert front_texts(open_shop) == SHOP_TEXTS | STRANGER_TEXTS


def test_the_console_can_empty_accounts_the_settings_file_named(own_shop: WebShop) -> None:
    browser = merchant(own_shop)
    rows = settings_row(browser.get("/merchant/settings").text)
    assert rows[1:3] == [" ".join(SHOP_ACCOUNTS), "settings file"]
    assert browser.submit("/merchant/settings", settings_form()).status_code == 303
    assert front_texts(own_shop) == SHOP_TEXTS | STRANGER_TEXTS


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("trailhead", "shop account 'trailhead' is not like 'x:handle'"),
        ("x:trailhead, facebook:trailhead", "shop account 'facebook:trailhead' names no network"),
        ("x:@trailhead", "write the handle without its '@'"),
        ("x:", "names no account after the colon"),
    ],
)
def test_a_bad_shop_account_is_refused_and_nothing_is_saved(
    open_shop: WebShop, typed: str, message: str
) -> None:
    browser = merchant(open_shop)
    response = browser.submit("/merchant/settings", settings_form(shop_accounts=typed))
    assert response.status_code == 400
    page = parse(response.text)
    assert "Nothing was saved" in page.text and message in page.text
    assert page.inputs["shop_accounts"] == typed
    assert shop_config_rows(open_shop) == []
    assert len(front_texts(open_shop)) == 6


def test_hostile_shop_accounts_are_shown_inert(open_shop: WebShop) -> None:
    # No spaces in them, so they are well-formed (if useless) accounts: saved, then shown.
    hostile = f'x:{HOSTILE_SCRIPT}, x:"><img/src=x/onerror=alert(1)>, x:javascript:alert(1)'

    browser = merchant(open_shop)
    assert (
        browser.submit("/merchant/settings", settings_form(shop_accounts=hostile)).status_code
        == 303
    )
    for path in ("/merchant/settings", "/merchant/posts"):
        html = browser.get(path).text
        assert_inert(html)
        assert "&lt;script&gt;" in html
    refused = browser.submit(
        "/merchant/settings", settings_form(shop_accounts=f"myspace:{HOSTILE_SCRIPT}")
    )
    assert refused.status_code == 400
    assert_inert(refused.text)
