"""The funnel counts buys with a post per source post (issue 12): requested, confirmed and
revenue from buys, on the merchant's page, in the CSV and in `GET /api/posts`, beside the
columns there were (which keep their names and values)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest

from hashcart.services.payments import save_test_card
from hashcart.store.repository import transaction
from hashcart.views.funnel import funnel
from tests.buying.support import SHIP_TO, code_in, own_post, parent_id
from tests.harness import HOST
from tests.integration.social import SHOPPERS, UNLINKED, Shopper
from tests.web.conftest import WebShop
from tests.web.funnel_support import api_token

MUG = f"https://{HOST}/products/enamel-mug"


@pytest.fixture
def shop(database_url: str) -> Iterator[WebShop]:
    shop = WebShop(database_url)
    yield shop
    shop.close()


def _with_card(shop: WebShop, email: str, shopper: Shopper) -> None:
    shop.customer(email, (shopper.network, shopper.account_id, shopper.handle))
    with transaction(shop.app.engine) as repo:
        customer_id = repo.customer_id(email)
    assert customer_id is not None
    save_test_card(shop.app.unit_of_work, customer_id, "4242424242424242", shop.clock.now())
    with shop.app.unit_of_work() as uow:  # the account page's shipping address
        uow.buys.save_address(customer_id, SHIP_TO, shop.clock.now())


def test_buys_requested_confirmed_and_their_revenue_per_source_post(shop: WebShop) -> None:
    alice, bob = SHOPPERS["bluesky"], UNLINKED["bluesky"]
    _with_card(shop, "alice@example.com", alice)
    _with_card(shop, "bob@example.com", bob)
    parent = alice.key()
    shop.ingest(
        [
            alice.parent(parent, (MUG,)),
            alice.reply(alice.key(), parent, "#buy x2"),
            bob.reply(bob.key(), parent, "#buy", minutes=6),
        ]
    )
    alice_code = code_in(
        next(m for m in shop.outbox() if m["account_id"] == alice.account_id)["text"]
    )
    shop.ingest([own_post(alice, alice.key(), f"#confirm {alice_code}", minutes=8)])

    with shop.app.engine.connect() as connection:
        found = funnel(connection, shop.clock.now())
    [row] = [r for r in found.rows if r.post_id == parent_id(alice, parent)]
    assert (row.buys_requested, row.buys_confirmed) == (2, 1)
    assert row.buy_revenue == {"USD": Decimal("36.00")}  # 2 × the mug's 18.00
    assert row.orders == 1 and row.revenue == {"USD": Decimal("36.00")}
    assert found.totals.buys_requested == 2 and found.totals.buys_confirmed == 1

    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    page = browser.get("/merchant/posts")
    assert page.status_code == 200 and "Revenue from buys" in page.text
    assert "Buys with a post: 1 of 2 confirmed, $36.00" in page.text
    sheet = list(csv.DictReader(io.StringIO(browser.get("/merchant/posts.csv").text)))
    [line] = [r for r in sheet if r["post_id"] == parent_id(alice, parent)]
    assert (line["buys_requested"], line["buys_confirmed"]) == ("2", "1")
    assert (line["buy_revenue"], line["buy_currency"]) == ("36.00", "USD")
    assert (line["orders"], line["revenue"], line["currency"]) == ("1", "36.00", "USD")

    token = api_token(shop)
    posts = browser.get("/api/posts", headers={"Authorization": f"Bearer {token}"}).json()
    [post] = [p for p in posts if p["post_id"] == parent_id(alice, parent)]
    assert post["buys_requested"] == 2 and post["buys_confirmed"] == 1
    assert post["buy_revenue"] == [{"currency": "USD", "amount": "36.00"}]
    assert post["orders"] == 1
