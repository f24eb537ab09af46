"""The merchant's own store on a schedule and in the console (issue 16), with a store that
does not answer (a closed loopback port): nothing here needs the Vendure peer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hashcart.ports import SyncRecord
from hashcart.services.store_sync import sync_if_due
from tests.cli_runner import run_cli
from tests.web.cart_support import bluesky_reply_cart, link_everywhere, signed_in, text_of
from tests.web.conftest import WebShop
from tests.web.console_support import closed_port, stat


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[WebShop]:
    web_shop = WebShop(
        f"sqlite:///{tmp_path / 'hashcart.db'}",
        store="vendure",
        vendure_url=f"http://127.0.0.1:{closed_port()}",
        vendure_admin_token="token",
        store_checkout_url="https://store.example/checkout?token={token}",
        store_sync_minutes=15,
    )
    yield web_shop
    web_shop.close()


def scheduled(shop: WebShop) -> SyncRecord | None:
    app = shop.app
    return sync_if_due(app.unit_of_work, app.commerce_store(), app.clock, 15)


def test_the_scheduled_sync_runs_every_store_sync_minutes_and_keeps_a_failure(
    shop: WebShop,
) -> None:
    first = scheduled(shop)
    assert first is not None and first.error and first.errors == 1
    assert "did not answer" in first.error
    shop.clock.advance(timedelta(minutes=14))
    assert scheduled(shop) is None  # not due yet
    shop.clock.advance(timedelta(minutes=1))
    again = scheduled(shop)
    assert again is not None and again.errors == 2


def test_the_console_shows_the_last_sync_and_its_error(shop: WebShop) -> None:
    scheduled(shop)
    browser = shop.browser()
    browser.merchant_sign_in()
    page = browser.get("/merchant")
    words = text_of(page)
    assert "Your store: Vendure" in words
    assert "failed" in words and "did not answer" in words
    assert stat(page.text, "Orders back") == "0"


def test_the_cart_page_offers_checkout_at_the_store_and_says_when_it_does_not_answer(
    shop: WebShop,
) -> None:
    browser = signed_in(shop)
    link_everywhere(shop)
    bluesky_reply_cart(shop)  # a built-in product: the store sells none of this cart
    page = browser.get("/cart")
    assert "Check out at Vendure" in page.text
    answer = browser.submit("/cart/handoff")
    assert answer.status_code == 409
    assert "nothing in this cart can be bought at Vendure" in text_of(answer)


def test_a_store_no_package_registered_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {"HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "HASHCART_STORE": "acme"}
    refused = run_cli(["store", "status"], env=env, cwd=tmp_path)
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "hashcart: error: invalid settings: store 'acme' is not known: "
        "choose from builtin, vendure, shopify"
    )


def test_vendure_without_its_settings_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {
        "HASHCART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "HASHCART_STORE": "vendure",
        "HASHCART_VENDURE_URL": "http://127.0.0.1:9",
    }
    refused = run_cli(["store", "sync"], env=env, cwd=tmp_path)
    assert refused.exit_code == 2
    assert "needs vendure_admin_token, or vendure_admin_username" in refused.stderr
