"""The merchant turns buying with a post off and on from the console's settings page
(`buy_enabled`, stored over the settings file like the console's other values)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hashcart.services.payments import save_test_card
from hashcart.store.repository import transaction
from tests.buying.support import SHIP_TO
from tests.harness import HOST
from tests.integration.social import SHOPPERS
from tests.web.conftest import WebShop

MUG = f"https://{HOST}/products/enamel-mug"


@pytest.fixture
def shop(database_url: str) -> Iterator[WebShop]:
    shop = WebShop(database_url)
    alice = SHOPPERS["x"]
    shop.customer("alice@example.com", (alice.network, alice.account_id, alice.handle))
    with transaction(shop.app.engine) as repo:
        customer_id = repo.customer_id("alice@example.com")
    assert customer_id is not None
    save_test_card(shop.app.unit_of_work, customer_id, "4242424242424242", shop.clock.now())
    with shop.app.unit_of_work() as uow:  # the account page's shipping address
        uow.buys.save_address(customer_id, SHIP_TO, shop.clock.now())
    yield shop
    shop.close()


def test_the_console_turns_buying_off_and_on(shop: WebShop) -> None:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    assert "Buying with a post is <strong>on</strong>" in browser.get("/merchant/settings").text

    answer = browser.submit("/merchant/settings/buying", {"buy_enabled": "off"})
    assert answer.status_code == 303
    page = browser.get("/merchant/settings").text
    assert "Buying with a post is <strong>off</strong>" in page and "Turn buying on" in page
    assert "buy" not in shop.app.shop().every_tag

    alice = SHOPPERS["x"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#buy")])
    assert shop.outbox() == []

    assert browser.submit("/merchant/settings/buying", {"buy_enabled": "on"}).status_code == 303
    shop.ingest([alice.reply(alice.key(), parent, "#buy", minutes=7)])
    assert shop.reasons() == ["buy_confirm_needed"]


@pytest.mark.parametrize("value", ["", "yes", "\x00", "on" * 10])
def test_anything_but_on_or_off_is_refused(shop: WebShop, value: str) -> None:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    answer = browser.submit("/merchant/settings/buying", {"buy_enabled": value})
    assert answer.status_code in (400, 422)
    assert "buy" in shop.app.shop().every_tag


def test_without_the_merchants_csrf_token_nothing_changes(shop: WebShop) -> None:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    answer = browser.client.post(
        "/merchant/settings/buying", data={"buy_enabled": "off"}, follow_redirects=False
    )
    assert answer.status_code in (400, 403)
    assert "buy" in shop.app.shop().every_tag
