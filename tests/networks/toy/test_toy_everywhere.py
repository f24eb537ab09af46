"""Every place that lists networks reads the registry: the toy network (tests/networks/toy)
registered in one line shows up in the `listeners` setting, `ingest --format`, the API's
network filter and its document, the console's Networks card (generated from its settings
model, its secret masked) and the account page's link forms - and no file under src/ names
it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from hashcart.bootstrap import open_app
from hashcart.config import Settings
from hashcart.domain.posts import Network
from hashcart.domain.shop_accounts import parse_shop_account
from hashcart.networks import registry
from hashcart.networks.setting_fields import NETWORK_SETTING_FIELDS
from hashcart.outbox.dispatcher import dispatch_once
from hashcart.store import network_config
from tests.cli_runner import run_cli
from tests.harness import HOST
from tests.loopback import LiveServer
from tests.networks.toy.toy import (
    LISTENER,
    NAME,
    ToyNetworkServer,
    ToySettings,
    toy_line,
    toy_network,
)
from tests.payloads import BASE_TIME
from tests.web.conftest import WebShop
from tests.web.console_support import parse
from tests.web.funnel_support import api_token

SRC = Path(__file__).resolve().parents[3] / "src"
AT = BASE_TIME.isoformat()
MUG_LINK = f"https://{HOST}/products/enamel-mug"
PARENT = toy_line("t1", "shop-1", "trailhead", f"Our new mug {MUG_LINK}", AT)
REPLY = toy_line("t2", "u7", "ana", "@trailhead #cart", AT, answers="t1")
API_URL = "http://127.0.0.1:9"
TOKEN_KEY = Fernet.generate_key().decode()
SECRET_TOKEN = "toy-secret-Qv81zz"


@pytest.fixture
def toy() -> Iterator[None]:
    registry.register(toy_network(API_URL))  # the one line that adds the network
    try:
        yield
    finally:
        registry.unregister(NAME)


@pytest.fixture
def toy_shop(toy: None, tmp_path: Path) -> Iterator[WebShop]:
    """A web shop made once the toy is registered (as a plugin registers before start)."""
    shop = WebShop(f"sqlite:///{tmp_path / 'toy.db'}", token_key=TOKEN_KEY)
    yield shop
    shop.close()


def test_no_file_under_src_names_the_toy_network() -> None:
    naming = [
        path.relative_to(SRC)
        for path in SRC.rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".html", ".toml", ".js", ".css")
        and re.search(r"\btoy\b", path.read_text(encoding="utf-8"), re.IGNORECASE)
    ]
    assert naming == []


# --- the listeners setting --------------------------------------------------------------


def test_the_toy_s_listener_is_a_listener_the_settings_may_name(toy: None, tmp_path: Path) -> None:
    assert registry.listener_names() == (
        "x_stream",
        "mastodon",
        "jetstream",
        "bluesky_firehose",
        LISTENER,
    )
    app = open_app(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", listeners=(LISTENER,)))
    assert app.settings.listeners == (LISTENER,)
    assert network_config.check_plain(
        "listeners", [LISTENER, "mastodon"], networks=NETWORK_SETTING_FIELDS
    ) == (
        "mastodon",
        LISTENER,
    )


def test_without_the_toy_its_listener_is_refused_at_start(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", listeners=(LISTENER,))
    with pytest.raises(registry.UnknownListeners, match="unknown listeners \\['toy_stream'\\]"):
        open_app(settings)
    with pytest.raises(network_config.NetworkConfigError, match="unknown listeners toy_stream"):
        network_config.check_plain("listeners", [LISTENER], networks=NETWORK_SETTING_FIELDS)


@pytest.mark.parametrize("name", ["x_stream\x00", "X_STREAM", "a" * 33, "", "toy stream"])
def test_a_listener_name_that_is_no_name_is_refused_with_the_settings(name: str) -> None:
    with pytest.raises(ValueError, match="are not listener names"):
        Settings(listeners=(name,))


def test_a_command_refuses_an_unknown_listener_in_one_line(tmp_path: Path) -> None:
    result = run_cli(
        ["--db", f"sqlite:///{tmp_path / 'a.db'}", "carts"], env={"HASHCART_LISTENERS": "irc"}
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "hashcart: error: invalid settings: unknown listeners ['irc']: choose from x_stream, "
        "mastodon, jetstream, bluesky_firehose"
    )


# --- ingest --format ----------------------------------------------------------------------


def test_ingest_offers_the_built_in_formats_then_the_toy_s(toy: None) -> None:
    result = run_cli(["ingest", "--help"])
    assert result.exit_code == 0
    assert "<auto|x|x-v2|mastodon|jetstream|toy>" in result.stdout


def test_ingest_reads_a_file_of_toy_lines_as_the_toy_format(toy: None, tmp_path: Path) -> None:
    replay = tmp_path / "toy.jsonl"
    replay.write_bytes(PARENT + b"\n" + REPLY + b"\n")
    database = f"sqlite:///{tmp_path / 'ingest.db'}"
    result = run_cli(["--db", database, "ingest", "--format", "toy", str(replay)])
    assert result.exit_code == 0, result.stderr
    assert re.search(r"posts read\s*│\s*2\b", result.stdout)
    assert re.search(r"dead-lettered\s*│\s*0\b", result.stdout)


def test_ingest_refuses_a_format_no_network_has() -> None:
    result = run_cli(["ingest", "--format", "toy", "-"])
    assert result.exit_code == 2
    assert "'toy' is not one of 'auto', 'x', 'x-v2', 'mastodon', 'jetstream'." in result.stderr


# --- the API --------------------------------------------------------------------------------


def test_the_api_document_lists_the_toy_after_the_built_in_networks(toy_shop: WebShop) -> None:
    document = toy_shop.browser().get("/api/openapi.json").json()
    network = document["components"]["schemas"]["Network"]
    assert network["enum"] == ["x", "mastodon", "bluesky", "toy"]


def test_the_api_filters_posts_by_the_toy_network(toy_shop: WebShop) -> None:
    toy_shop.customer("ana@example.com", (Network(NAME), "u7", "ana"))
    toy_shop.ingest([PARENT, REPLY])
    browser = toy_shop.browser()
    token = {"Authorization": f"Bearer {api_token(toy_shop)}"}
    posts = browser.get(f"/api/posts?network={NAME}", headers=token).json()
    assert [(post["network"], post["post_id"], post["url"]) for post in posts] == [
        (NAME, "t1", f"{API_URL}/posts/t1")
    ]
    assert browser.get("/api/posts?network=x", headers=token).json() == []
    for hostile in ("irc", "toy%00", "TOY", "t" * 5000):
        assert browser.get(f"/api/posts?network={hostile}", headers=token).status_code == 422


def test_the_console_s_posts_filter_offers_the_toy(toy_shop: WebShop) -> None:
    browser = toy_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    page = browser.get(f"/merchant/posts?network={NAME}")
    assert page.status_code == 200
    assert f'href="/merchant/posts?network={NAME}' in page.text
    refused = browser.get("/merchant/posts?network=irc")
    assert refused.status_code == 400
    assert "choose X, Mastodon, Bluesky or Toy" in refused.text


def test_a_shop_account_may_be_on_the_toy_network_while_it_is_registered(toy: None) -> None:
    assert str(parse_shop_account("toy:trailhead")) == "toy:trailhead"


def test_a_shop_account_on_an_unregistered_network_is_refused() -> None:
    with pytest.raises(ValueError, match=r"one of x, mastodon, bluesky\)"):
        parse_shop_account("toy:trailhead")


# --- the console's Networks card ----------------------------------------------------------


def _networks_form(**changes: Any) -> dict[str, Any]:
    return {
        "bluesky_pds_url": "https://bsky.social",
        "bluesky_jetstream_url": "wss://jetstream2.us-east.bsky.network/subscribe",
        **changes,
    }


def _toy_rows(html: str) -> dict[str, list[str]]:
    """The toy card's rows by field: [label and hint, in force, from, change]."""
    return {row[0].split(" ")[2]: row for row in parse(html).rows if row[0].startswith("Toy API ")}


def test_the_toy_s_card_is_generated_from_its_settings_model(toy_shop: WebShop) -> None:
    browser = toy_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    page = browser.get("/merchant/networks").text
    rows = _toy_rows(page)
    assert rows["address"][:3] == [
        "Toy API address Where the toy network's API answers.",
        "not set",
        "default",
    ]
    assert rows["token"][:3] == [
        "Toy API token The shop account's token on the toy network.",
        "not set",
        "default",
    ]
    assert 'name="toy_api_url"' in page
    # The secret is a password field, empty, never filled in.
    assert re.search(r'<input type="password" name="toy_api_token" value=""', page)
    assert 'name="listeners" value="toy_stream"' in page


def test_the_toy_s_values_are_saved_its_secret_sealed_and_never_shown(
    toy_shop: WebShop,
) -> None:
    browser = toy_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    sent = _networks_form(
        toy_api_url="http://127.0.0.1:9/api", toy_api_token=SECRET_TOKEN, listeners=[LISTENER]
    )
    saved = browser.submit("/merchant/networks", sent)
    assert saved.status_code == 303, saved.text
    page = browser.get("/merchant/networks").text
    assert SECRET_TOKEN not in page
    rows = _toy_rows(page)
    assert rows["address"][1:3] == ["http://127.0.0.1:9/api", "console"]
    assert rows["token"][1:3] == ["set (from the console)", "console"]
    with toy_shop.app.engine.connect() as connection:
        found = network_config.stored(connection, networks=NETWORK_SETTING_FIELDS)
    assert found.plain["toy_api_url"] == "http://127.0.0.1:9/api"
    assert found.plain["listeners"] == (LISTENER,)
    assert SECRET_TOKEN not in found.sealed["toy_api_token"]
    # A plugin's values are the console's: the Settings stay as they are.
    assert toy_shop.app.effective_settings().listeners == (LISTENER,)


def test_the_toy_s_sender_answers_at_the_address_set_in_the_console(toy_shop: WebShop) -> None:
    """A plugin network's own settings are no `Settings` fields: its parts read them through
    the host (`network_settings`), the console's values with the secrets opened."""
    api = ToyNetworkServer()
    with LiveServer(api.app) as served:
        browser = toy_shop.browser()
        assert browser.merchant_sign_in().status_code == 303
        sent = _networks_form(toy_api_url=served.url, toy_api_token=SECRET_TOKEN)
        assert browser.submit("/merchant/networks", sent).status_code == 303
        values = toy_shop.app.network_settings(ToySettings)
        assert values.toy_api_url == served.url
        assert values.toy_api_token is not None
        assert values.toy_api_token.get_secret_value() == SECRET_TOKEN

        toy_shop.customer("ana@example.com", (Network(NAME), "u7", "ana"))
        toy_shop.ingest([PARENT, REPLY])
        run = dispatch_once(toy_shop.app)
        # Registered with a dead address (127.0.0.1:9): the console's one was used.
        assert (run.sent, run.failed, run.retried) == (1, 0, 0)
        assert [reply["in_reply_to"] for reply in api.replies] == ["t2"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        # The toy's settings model says what its values must look like.
        ("ftp://toy.example", "Toy API address 'ftp://toy.example' must be an http(s) address"),
        # Whatever a model lets through, no value stored may hold a control character.
        ("http://a\x00b", "toy_api_url has control characters"),
        ("http://" + "a" * 2000, "toy_api_url is longer than 2000 characters"),
    ],
)
def test_a_toy_value_its_settings_model_refuses_is_not_saved(
    toy_shop: WebShop, typed: str, message: str
) -> None:
    browser = toy_shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    refused = browser.submit("/merchant/networks", _networks_form(toy_api_url=typed))
    assert refused.status_code == 400
    assert message in html.unescape(refused.text)
    with toy_shop.app.engine.connect() as connection:
        assert network_config.stored(connection, networks=NETWORK_SETTING_FIELDS).plain == {}


# --- the account page -------------------------------------------------------------------


def test_the_account_page_offers_to_link_a_toy_account(toy_shop: WebShop) -> None:
    browser = toy_shop.browser()
    assert browser.sign_up("ana@example.com").status_code == 303
    page = browser.get("/account").text
    assert 'action="/account/oauth/toy/start"' in page
    assert "Link Toy" in page and "Your toy name" in page
    assert "Link your X, Mastodon, Bluesky or Toy account once" in page
    assert "carts that fill from your replies on X, Mastodon, Bluesky and Toy" in page
    started = browser.submit("/account/oauth/toy/start", {"handle": "ana"}, follow_redirects=False)
    assert started.status_code == 303
    assert started.headers["location"].startswith(f"{API_URL}/authorize?state=")
    assert started.headers["location"].endswith("&who=ana")
