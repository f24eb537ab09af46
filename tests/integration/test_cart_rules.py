"""The web's Add button and a `#cart` reply change one cart by the same rules
(domain/carts), and differ where they are meant to. SQLite and PostgreSQL each."""

from __future__ import annotations

import pytest

from hashcart.domain.posts import Network
from hashcart.store import shopping
from hashcart.store.repository import transaction
from hashcart.store.shopping import AddOutcome
from tests.harness import HOST, Shop
from tests.payloads import SHOP_DID, jetstream_post, post_uri

ALICE_DID = "did:plc:alice0000000000000000000"
ALICE = "alice@example.com"
BRAND_POST = post_uri(SHOP_DID, "3mmbrand00001")


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url, max_quantity=3)
    shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    return shop


def product_post(path: str) -> bytes:
    link = f"https://{HOST}/products/{path}"
    return jetstream_post(SHOP_DID, "3mmbrand00001", f"New in: {link}", links=(link,))


def reply(rkey: str, text: str) -> bytes:
    return jetstream_post(ALICE_DID, rkey, text, reply_to=BRAND_POST, minutes=5)


def web_add(shop: Shop, product_id: str) -> AddOutcome:
    with transaction(shop.app.engine) as repo:
        customer_id = repo.customer_id(ALICE)
        assert customer_id is not None
        return shopping.add_to_cart(
            repo.connection, customer_id, product_id, "", 3, shop.clock.now()
        )


def test_a_web_add_of_a_product_a_reply_put_in_the_cart_is_one_more(shop: Shop) -> None:
    shop.ingest([product_post("enamel-mug"), reply("3mmreply00001", "#cart x2")])

    assert web_add(shop, "mug") is AddOutcome.ONE_MORE
    assert shop.cart(ALICE) == [("mug", 3)]
    assert web_add(shop, "mug") is AddOutcome.AT_MOST  # never past max_quantity
    assert shop.cart(ALICE) == [("mug", 3)]


def test_a_reply_for_a_product_the_web_put_in_the_cart_changes_nothing(shop: Shop) -> None:
    assert web_add(shop, "mug") is AddOutcome.ADDED

    shop.ingest([product_post("enamel-mug"), reply("3mmreply00001", "#cart x2")])

    assert shop.cart(ALICE) == [("mug", 1)]
    assert shop.reasons() == ["already_in_cart"]


def test_neither_way_puts_an_out_of_stock_product_in_the_cart(shop: Shop) -> None:
    assert web_add(shop, "kettle") is AddOutcome.UNAVAILABLE
    shop.ingest([product_post("gooseneck-kettle"), reply("3mmreply00001", "#cart")])

    assert shop.cart(ALICE) == []
    assert shop.reasons() == ["unavailable"]


def test_a_reply_asks_for_its_quantity_within_max_quantity_where_the_web_adds_one(
    shop: Shop,
) -> None:
    shop.ingest([product_post("enamel-mug"), reply("3mmreply00001", "#cart x7")])
    assert web_add(shop, "beans") is AddOutcome.ADDED

    assert sorted(shop.cart(ALICE)) == [("beans", 1), ("mug", 3)]
