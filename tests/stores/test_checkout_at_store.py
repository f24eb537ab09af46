"""`checkout_at_store = true` (issue 16) against the real Vendure (tests/peers/vendure): a
`#buy` of the store's product asks for no card, its `#confirm` hands the line to Vendure
instead of charging in hashcart and answers with the store's checkout link, and the order
placed there comes back to hashcart's funnel. With the built-in store the setting changes
nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.services.store_sync import poll_orders, sync_catalog
from hashcart.store import schema as t
from hashcart.views.funnel import funnel
from hashcart.web.app import create_app
from tests.buying.support import BuyShop
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.peers.vendure.fixture import VendurePeer, unique
from tests.sales.support import SaleShop, claim, key, shopper
from tests.stores.test_vendure_store import EMAIL, store_settings
from tests.stores.vendure_catalog import check_out_as_shopper, make_product
from tests.web.cart_support import SHOPPER_DID, signed_in, text_of
from tests.web.conftest import Browser, WebShop


@pytest.fixture
def shop(vendure: VendurePeer, tmp_path: Path) -> Iterator[WebShop]:
    web_shop = WebShop(
        f"sqlite:///{tmp_path / 'hashcart.db'}", checkout_at_store=True, **store_settings(vendure)
    )
    yield web_shop
    web_shop.close()


def _messages(shop: WebShop, reason: str) -> list[str]:
    return [message["text"] for message in shop.outbox() if message["reason"] == reason]


def test_a_confirmed_buy_is_handed_to_vendure_and_answered_with_its_checkout_link(
    vendure: VendurePeer, shop: WebShop
) -> None:
    made = make_product(vendure, "Ridge Lantern", {"s": 5, "m": 5})
    sync_catalog(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock)
    signed_in(shop, EMAIL)  # no saved card, no address: the store's checkout asks
    shop.link(EMAIL, Network.BLUESKY, SHOPPER_DID, "sam.bsky.social")
    link = made.url("m")
    brand = unique("3brand")
    post = post_uri(SHOP_DID, brand)
    shop.ingest(
        [
            jetstream_post(SHOP_DID, brand, f"Light up: {link}", links=(link,)),
            jetstream_post(SHOPPER_DID, unique("3buy"), "#buy x2 M", reply_to=post, minutes=5),
        ]
    )
    (asked,) = _messages(shop, "buy_confirm_needed")
    assert "pay at the store's checkout" in asked and "card" not in asked
    code = re.search(r"#confirm ([A-Z0-9]{4})", asked)
    assert code is not None, asked

    shop.ingest(
        [jetstream_post(SHOPPER_DID, unique("3ok"), f"#confirm {code.group(1)}", minutes=6)]
    )

    (told,) = _messages(shop, "finish_at_store")
    found = re.search(r"https://store\.example/checkout\?token=([^&\s]+)&order=(\w+)", told)
    assert found is not None, told
    assert "Vendure" in told
    with shop.app.engine.connect() as connection:
        assert connection.scalar(select(t.orders.c.id)) is None  # nothing charged here
        assert connection.scalar(select(t.buy_requests.c.status)) == "handed_off"
    shopper = vendure.shopper(found.group(1))
    order = shopper.call("{ activeOrder { code lines { quantity productVariant { id } } } }")[
        "activeOrder"
    ]
    assert order["code"] == found.group(2)
    assert [(line["productVariant"]["id"], line["quantity"]) for line in order["lines"]] == [
        (made.variant_ids["m"], 2)
    ]

    assert check_out_as_shopper(shopper)["state"] == "PaymentAuthorized"
    assert poll_orders(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock) == 1
    with shop.app.engine.connect() as connection:
        row = next(
            row
            for row in funnel(connection, shop.clock.now()).rows
            if (row.network, row.post_id) == ("bluesky", post)
        )
    assert (row.orders, row.units, row.revenue) == (1, 2, {"USD": Decimal("30.00")})


def test_with_the_builtin_store_checkout_at_store_changes_nothing(tmp_path: Path) -> None:
    shop = BuyShop(f"sqlite:///{tmp_path / 'h.db'}", checkout_at_store=True)
    shop.customer(EMAIL, (Network.BLUESKY, SHOPPER_DID, "sam.bsky.social"))
    link = "https://shop.example/products/enamel-mug"
    brand = unique("3brand")
    shop.ingest(
        [
            jetstream_post(SHOP_DID, brand, f"Mugs: {link}", links=(link,)),
            jetstream_post(
                SHOPPER_DID, unique("3buy"), "#buy", reply_to=post_uri(SHOP_DID, brand), minutes=5
            ),
        ]
    )
    assert shop.reasons() == ["payment_method_needed"]  # a card, as without the setting


def test_a_live_sale_invoice_is_paid_at_vendure_and_comes_back_paid(
    vendure: VendurePeer, tmp_path: Path
) -> None:
    shop = SaleShop(
        f"sqlite:///{tmp_path / 'sale.db'}", checkout_at_store=True, **store_settings(vendure)
    )
    made = make_product(vendure, "Live Scarf", {"one": 4})
    sync_catalog(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock)
    product_id = f"vendure:{made.variant_ids['one']}"
    with TestClient(create_app(shop.app), base_url="http://127.0.0.1") as client:
        winner = Browser(client, shop.app.engine)
        winner.sign_up(EMAIL)
        who = shopper("x", 1)
        shop.link(EMAIL, who.network, who.account_id, who.handle)
        shop.open("x", {"12": (product_id, 3)})
        shop.ingest([claim("x", 1, key("x", 1), "sold 12 x2", seconds=0)])
        (invoice,) = shop.invoices()

        page = winner.get(f"/orders/invoice/{invoice['id']}")
        assert "Pay at Vendure" in text_of(page)
        assert "https://store.example" in page.headers["content-security-policy"]
        answer = winner.submit(f"/orders/invoice/{invoice['id']}/store")
        assert answer.status_code == 303, answer.text
        found = re.search(r"token=([^&]+)&order=(\w+)", answer.headers["location"])
        assert found is not None

    buyer = vendure.shopper(found.group(1))
    order = buyer.call("{ activeOrder { lines { quantity productVariant { id } } } }")
    assert [
        (line["productVariant"]["id"], line["quantity"]) for line in order["activeOrder"]["lines"]
    ] == [(made.variant_ids["one"], 2)]
    assert check_out_as_shopper(buyer)["state"] == "PaymentAuthorized"
    assert poll_orders(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock) == 1
    assert [row["status"] for row in shop.invoices()] == ["paid"]
    assert {c["status"] for c in shop.claims()} == {"paid"}
