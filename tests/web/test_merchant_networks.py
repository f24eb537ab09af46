"""The console's Networks page: each network's state, its values stored over the settings
file, and its secrets sealed with the token_key, never shown back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hashcart.store import schema as t
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import HOSTILE_IMG, HOSTILE_SCRIPT, assert_inert, parse

TOKEN_KEY = Fernet.generate_key().decode()
BEARER = "AAAAAAAAAAAAAAAAAAAAAbearer-token-value-9f8e7d"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
MASTODON_TOKEN = "mastodon-token-Zx81Kq0"


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


@pytest.fixture
def keyed_shop(tmp_path: Any) -> Iterator[WebShop]:
    """A web shop whose settings have a token_key, so the console can store secrets."""
    shop = WebShop(f"sqlite:///{tmp_path / 'networks.db'}", token_key=TOKEN_KEY)
    yield shop
    shop.close()


def form(**changes: Any) -> dict[str, Any]:
    """The page's form as a browser sends it untouched (plain values at their defaults)."""
    return {
        "x_shop_handle": "",
        "x_shop_user_id": "",
        "mastodon_url": "",
        "bluesky_identifier": "",
        "bluesky_pds_url": "https://bsky.social",
        "bluesky_jetstream_url": "wss://jetstream2.us-east.bsky.network/subscribe",
        **changes,
    }


def rows(html: str) -> dict[str, list[str]]:
    """Each value's row: [label and hint, in force, from, change]."""
    return {row[0]: row for row in parse(html).rows if len(row) == 4 and row[0] != "Value"}


def row(html: str, label: str) -> list[str]:
    found = [cells for name, cells in rows(html).items() if name.startswith(label)]
    assert found, f"no row {label!r}"
    return found[0]


def stored_rows(shop: WebShop) -> dict[str, str]:
    with shop.app.engine.connect() as connection:
        return dict(connection.execute(select(t.shop_config.c.key, t.shop_config.c.value)).all())


# --- who may enter ----------------------------------------------------------------------


def test_a_signed_out_visitor_is_sent_to_sign_in(web_shop: WebShop) -> None:
    response = web_shop.browser().get("/merchant/networks", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"/merchant/sign-in?next={quote('/merchant/networks', safe='')}"
    )
    posted = web_shop.browser().submit("/merchant/networks", form(x_shop_handle="evil"))
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/merchant/sign-in?next=")
    assert stored_rows(web_shop) == {}


def test_a_shopper_is_refused(keyed_shop: WebShop) -> None:
    shopper = keyed_shop.browser()
    shopper.sign_up("sam@example.com")
    assert shopper.get("/merchant/networks", follow_redirects=False).status_code == 403
    response = shopper.submit("/merchant/networks", form(x_bearer_token=BEARER))
    assert response.status_code == 403
    assert stored_rows(keyed_shop) == {}


def test_saving_needs_the_csrf_token(keyed_shop: WebShop) -> None:
    browser = merchant(keyed_shop)
    response = browser.client.post("/merchant/networks", data=form(x_shop_handle="trailhead"))
    assert response.status_code == 403
    assert stored_rows(keyed_shop) == {}


def test_the_console_nav_links_the_page(keyed_shop: WebShop) -> None:
    page = parse(merchant(keyed_shop).get("/merchant").text)
    assert ("a", "href", "/merchant/networks") in page.attributes


# --- the cards --------------------------------------------------------------------------


def test_an_unconfigured_shop_shows_what_each_network_lacks(keyed_shop: WebShop) -> None:
    html = merchant(keyed_shop).get("/merchant/networks").text
    text = " ".join(parse(html).text.split())
    assert "X not set up" in text
    assert "Mastodon not set up" in text
    assert "Bluesky not set up" in text
    assert "Replies to shoppers: Shop account's access token" in text
    assert "Replies to shoppers: Shop account, App password" in text
    assert "Webhook URL to register: http://127.0.0.1:8000/webhooks/x" in text
    assert "Webhook URL to register: http://127.0.0.1:8000/webhooks/mastodon" in text
    assert row(html, "App bearer token")[1:3] == ["not set", "default"]


def test_the_settings_file_values_show_as_such(tmp_path: Any) -> None:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'file.db'}",
        token_key=TOKEN_KEY,
        public_url="https://shop.example/",
        mastodon_url="https://coffee.social",
        mastodon_access_token="file-token",
        listeners=("mastodon",),
    )
    try:
        html = merchant(shop).get("/merchant/networks").text
        text = " ".join(parse(html).text.split())
        assert row(html, "Server")[1:3] == ["https://coffee.social", "settings file"]
        assert row(html, "Shop account's access token From Preferences")[1:3] == [
            "set (from the settings file)",
            "settings file",
        ]
        assert "Mastodon set up" in text
        assert "Webhook URL to register: https://shop.example/webhooks/mastodon" in text
        assert "file-token" not in html
    finally:
        shop.close()


def test_a_listener_named_without_its_values_says_it_will_not_start(tmp_path: Any) -> None:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'l.db'}",
        listeners=("x_stream", "jetstream"),
        x_shop_handle="trailhead",
    )
    try:
        text = " ".join(parse(merchant(shop).get("/merchant/networks").text).text.split())
        assert "X filtered stream x_stream on, but will not start: needs App bearer token" in text
        assert "Bluesky Jetstream jetstream runs" in text
        assert "Mastodon streaming mastodon off" in text
    finally:
        shop.close()


# --- plain values -----------------------------------------------------------------------


def test_values_are_saved_and_shown_with_their_source(keyed_shop: WebShop) -> None:
    browser = merchant(keyed_shop)
    response = browser.submit(
        "/merchant/networks",
        form(
            x_shop_handle="@TrailheadCoffee",
            x_shop_user_id="1234567890",
            mastodon_url="https://Coffee.Social/",
            bluesky_identifier="trailhead.bsky.social",
            listeners=["jetstream", "mastodon"],
        ),
    )
    assert response.status_code == 303
    html = browser.get(response.headers["location"]).text
    assert "Saved." in html
    assert row(html, "Shop handle")[1:3] == ["TrailheadCoffee", "console"]
    assert row(html, "Shop user id")[1:3] == ["1234567890", "console"]
    assert row(html, "Server")[1:3] == ["https://coffee.social", "console"]
    assert row(html, "Shop account The shop's handle")[1:3] == ["trailhead.bsky.social", "console"]
    assert row(html, "PDS")[1:3] == ["https://bsky.social", "default"]
    effective = keyed_shop.app.effective_settings()
    assert effective.x_shop_handle == "TrailheadCoffee"
    assert effective.mastodon_url == "https://coffee.social"
    assert effective.listeners == ("mastodon", "jetstream")
    # A value equal to the settings file's is not stored.
    assert "bluesky_pds_url" not in stored_rows(keyed_shop)


def test_a_blank_value_goes_back_to_the_settings_file(keyed_shop: WebShop) -> None:
    browser = merchant(keyed_shop)
    browser.submit("/merchant/networks", form(x_shop_handle="trailhead"))
    browser.submit("/merchant/networks", form(x_shop_handle=""))
    assert "x_shop_handle" not in stored_rows(keyed_shop)
    assert keyed_shop.app.effective_settings().x_shop_handle is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"x_shop_handle": "trail head"}, "X handle 'trail head' is not a handle"),
        ({"x_shop_user_id": "@trailhead"}, "X user id '@trailhead' is not a number"),
        ({"mastodon_url": "coffee.social"}, "must be a https:// or http:// address"),
        ({"mastodon_url": "javascript:alert(1)"}, "must be a https:// or http:// address"),
        ({"mastodon_url": "https://u:p@coffee.social"}, "must not carry a user name"),
        ({"mastodon_url": "https://coffee.social/@shop"}, "must be the server's address only"),
        ({"bluesky_jetstream_url": "https://jet.example"}, "must be a wss:// or ws:// address"),
        ({"bluesky_identifier": "not a handle"}, "is neither a handle"),
        ({"listeners": ["x_stream", "irc"]}, "unknown listeners irc"),
    ],
)
def test_bad_values_re_render_with_the_message_and_save_nothing(
    keyed_shop: WebShop, changes: dict[str, Any], message: str
) -> None:
    browser = merchant(keyed_shop)
    response = browser.submit("/merchant/networks", form(x_bearer_token=BEARER, **changes))
    assert response.status_code == 400
    assert "Nothing was saved" in response.text
    page = parse(response.text)
    assert message in " ".join(page.text.split())
    for key, typed in changes.items():
        if key != "listeners":
            assert page.inputs[key] == typed
    assert BEARER not in response.text
    assert page.inputs["x_bearer_token"] == ""
    assert stored_rows(keyed_shop) == {}


def test_hostile_text_is_shown_inert(keyed_shop: WebShop) -> None:
    browser = merchant(keyed_shop)
    for typed in (HOSTILE_IMG, HOSTILE_SCRIPT):
        response = browser.submit(
            "/merchant/networks", form(x_shop_handle=typed, mastodon_url=typed)
        )
        assert response.status_code == 400
        assert_inert(response.text)
        assert parse(response.text).inputs["x_shop_handle"] == typed


def test_a_hostile_public_url_in_the_webhook_address_is_inert(tmp_path: Any) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'h.db'}", public_url=f"https://x.example/{HOSTILE_IMG}")
    try:
        assert_inert(merchant(shop).get("/merchant/networks").text)
    finally:
        shop.close()


# --- secrets ----------------------------------------------------------------------------


def test_secrets_are_sealed_never_shown_and_in_force(keyed_shop: WebShop) -> None:
    browser = merchant(keyed_shop)
    response = browser.submit(
        "/merchant/networks",
        form(
            x_bearer_token=BEARER,
            mastodon_access_token=MASTODON_TOKEN,
            bluesky_app_password=APP_PASSWORD,
            x_client_id="client-id-123",
        ),
    )
    assert response.status_code == 303
    raw = stored_rows(keyed_shop)
    assert set(raw) >= {"x_bearer_token", "mastodon_access_token", "bluesky_app_password"}
    for secret in (BEARER, MASTODON_TOKEN, APP_PASSWORD, "client-id-123"):
        assert not any(secret in value for value in raw.values())

    html = browser.get("/merchant/networks").text
    for secret in (BEARER, MASTODON_TOKEN, APP_PASSWORD, "client-id-123"):
        assert secret not in html
    assert row(html, "App bearer token")[1:3] == ["set (from the console)", "console"]
    assert row(html, "App password")[1:3] == ["set (from the console)", "console"]

    effective = keyed_shop.app.effective_settings()
    assert effective.x_bearer_token is not None
    assert effective.x_bearer_token.get_secret_value() == BEARER
    assert effective.mastodon_access_token is not None
    assert effective.mastodon_access_token.get_secret_value() == MASTODON_TOKEN
    assert effective.x_client_id == "client-id-123"
    assert keyed_shop.app.settings.x_bearer_token is None  # the file's stay the file's


def test_a_blank_secret_leaves_the_stored_one_unchanged(keyed_shop: WebShop) -> None:
    browser = merchant(keyed_shop)
    browser.submit("/merchant/networks", form(x_bearer_token=BEARER))
    sealed = stored_rows(keyed_shop)["x_bearer_token"]
    browser.submit("/merchant/networks", form(x_shop_handle="trailhead", x_bearer_token=""))
    assert stored_rows(keyed_shop)["x_bearer_token"] == sealed
    token = keyed_shop.app.effective_settings().x_bearer_token
    assert token is not None and token.get_secret_value() == BEARER


def test_a_secret_can_be_cleared(tmp_path: Any) -> None:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'c.db'}", token_key=TOKEN_KEY, x_bearer_token="from-the-file"
    )
    try:
        browser = merchant(shop)
        browser.submit("/merchant/networks", form(x_bearer_token=BEARER))
        token = shop.app.effective_settings().x_bearer_token
        assert token is not None and token.get_secret_value() == BEARER
        browser.submit("/merchant/networks", form(clear=["x_bearer_token"]))
        assert "x_bearer_token" not in stored_rows(shop)
        token = shop.app.effective_settings().x_bearer_token
        assert token is not None and token.get_secret_value() == "from-the-file"
        html = browser.get("/merchant/networks").text
        assert row(html, "App bearer token")[1:3] == [
            "set (from the settings file)",
            "settings file",
        ]
    finally:
        shop.close()


def test_without_a_token_key_secrets_are_refused_with_how_to_set_it(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    page = browser.get("/merchant/networks").text
    assert "HASHCART_TOKEN_KEY" in page
    response = browser.submit(
        "/merchant/networks", form(x_shop_handle="trailhead", x_bearer_token=BEARER)
    )
    assert response.status_code == 400
    text = " ".join(parse(response.text).text.split())
    assert "Nothing was saved: no secret was stored: set token_key (HASHCART_TOKEN_KEY)" in text
    assert BEARER not in response.text
    assert stored_rows(web_shop) == {}
    # Plain values alone need no key.
    assert browser.submit("/merchant/networks", form(x_shop_handle="trailhead")).status_code == 303
    assert web_shop.app.effective_settings().x_shop_handle == "trailhead"


def test_a_secret_the_token_key_cannot_read_is_ignored_and_flagged(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'rotated.db'}"
    first = WebShop(url, token_key=TOKEN_KEY, x_bearer_token="from-the-file")
    merchant(first).submit("/merchant/networks", form(x_bearer_token=BEARER))
    first.close()

    # Same database, another key (the operator rotated token_key without re-entering).
    from fastapi.testclient import TestClient

    from hashcart.bootstrap import open_app
    from hashcart.config import Settings
    from hashcart.web import create_app

    rotated = open_app(
        Settings(
            database_url=url,
            token_key=Fernet.generate_key().decode(),
            x_bearer_token="from-the-file",
        ),
        first.clock,
    )
    try:
        token = rotated.effective_settings().x_bearer_token
        assert token is not None and token.get_secret_value() == "from-the-file"
        with TestClient(create_app(rotated), base_url="http://127.0.0.1") as client:
            browser = Browser(client)
            assert browser.merchant_sign_in().status_code == 303
            html = browser.get("/merchant/networks").text
        assert "cannot read them" in html
        assert row(html, "App bearer token")[1] == (
            "unreadable (from the console); the settings file's is used"
        )
    finally:
        rotated.engine.dispose()
