"""Buy with a post (issue 12): `#buy` under a product post, then `#confirm CODE` from the same
account within the window, through each network's payloads, on SQLite and PostgreSQL. The
test-card gateway charges the saved card (`hashcart payment-methods add`); Stripe's run is in
tests/buying/test_buy_stripe.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.buying.support import (
    ALICE,
    MUG,
    NETWORKS,
    BuyShop,
    code_in,
    own_post,
    parent_id,
)
from tests.integration.social import SHOPPERS


@pytest.fixture
def shop(database_url: str) -> BuyShop:
    shop = BuyShop(database_url)
    shop.shopper_with_card(ALICE, *SHOPPERS.values())
    return shop


@pytest.mark.parametrize("network", NETWORKS)
def test_buy_then_confirm_buys_with_the_saved_card(shop: BuyShop, network: str) -> None:
    alice = SHOPPERS[network]
    parent, buy = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(buy, parent, "#buy x2")])

    asked = shop.outbox()[-1]
    assert asked["reason"] == "buy_confirm_needed"
    assert asked["in_reply_to"] == alice.post_id(buy)
    assert "2 × Trailhead Enamel Mug for 48.00 EUR" in asked["text"]
    assert "ending in 4242" in asked["text"]
    assert "within 15 minutes" in asked["text"]
    code = code_in(asked["text"])
    assert shop.orders() == []

    confirm = alice.key()
    shop.later(3)
    shop.ingest([own_post(alice, confirm, f"#confirm {code.lower()}")])

    [order] = shop.orders()
    assert order["total_amount"] == Decimal("48.00") and order["currency"] == "EUR"
    assert order["status"] == "paid"
    [line] = shop.order_lines()
    assert (line["product_id"], line["quantity"]) == ("mug", 2)
    assert line["post_id"] == parent_id(alice, parent)
    assert line["trigger_post_id"] == alice.post_id(buy)
    [payment] = shop.payments()
    assert payment["status"] == "captured"
    reasons = shop.reasons()
    assert reasons[-2:] == ["order_confirmed", "purchased"] or reasons[-2:] == [
        "purchased",
        "order_confirmed",
    ]
    purchased = next(m for m in shop.outbox() if m["reason"] == "purchased")
    assert purchased["in_reply_to"] == alice.post_id(confirm)
    assert f"order #{order['id']}" in purchased["text"]
    assert shop.cart(ALICE) == []  # a buy never goes through the cart
    [request] = shop.requests()
    assert request.status == "bought" and request.order_id == order["id"]
