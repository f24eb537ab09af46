"""Where a buy with a post ships (issue 12): to the address saved on the shopper's account
page, else to their latest order's; a shopper with neither is answered `address_needed` with
the account page's address section, and nothing is reserved. Through each network's payloads
(on SQLite); where a buy ships, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from hashcart.ports import Address, NewOrder, OrderLine
from hashcart.services.payments import save_test_card
from hashcart.store.orders import add_order
from tests.buying.support import ALICE, MUG, NETWORKS, SHIP_TO, VISA, BuyShop, code_in, own_post
from tests.integration.social import SHOPPERS

EARLIER = Address("Alice", "1 Harbour Street", "", "Portland", "97201", "US")


def _with_card_only(shop: BuyShop) -> int:
    """Alice, linked everywhere, with a saved card, but no saved address and no order."""
    shop.customer(ALICE, *[(s.network, s.account_id, s.handle) for s in SHOPPERS.values()])
    customer_id = shop.customer_id(ALICE)
    save_test_card(shop.app.unit_of_work, customer_id, VISA, shop.clock.now())
    return customer_id


def _buy_and_confirm(shop: BuyShop, network: str = "bluesky") -> dict[str, object]:
    alice = SHOPPERS[network]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#buy")])
    asked = shop.outbox()[-1]
    assert asked["reason"] == "buy_confirm_needed", asked
    shop.ingest([own_post(alice, alice.key(), f"#confirm {code_in(asked['text'])}")])
    return shop.orders()[-1]


def _shipped_to(order: dict[str, object]) -> Address:
    return Address(
        str(order["ship_name"]),
        str(order["ship_line1"]),
        str(order["ship_line2"] or ""),
        str(order["ship_city"]),
        str(order["ship_postcode"]),
        str(order["ship_country"]),
    )


@pytest.mark.parametrize("network", NETWORKS)
def test_no_address_and_no_order_answers_address_needed_and_holds_nothing(
    tmp_path: Path, network: str
) -> None:
    # Each network's payloads on SQLite; the address is read on both databases below.
    shop = BuyShop(f"sqlite:///{tmp_path / 'buy.db'}")
    _with_card_only(shop)
    shop.stock("mug", 3)
    alice = SHOPPERS[network]
    parent, buy = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(buy, parent, "#buy")])

    message = shop.outbox()[-1]
    assert message["reason"] == "address_needed"
    assert message["in_reply_to"] == alice.post_id(buy)
    assert "http://127.0.0.1:8000/account#address" in message["text"]
    assert "Nothing was bought" in message["text"]
    assert shop.requests() == [] and shop.orders() == []
    assert shop.free("mug") == 3  # nothing reserved


def test_a_buy_ships_to_the_saved_address_else_to_the_latest_order(database_url: str) -> None:
    shop = BuyShop(database_url)
    customer_id = _with_card_only(shop)
    with shop.app.unit_of_work() as uow:
        add_order(
            uow.connection,
            NewOrder(
                customer_id,
                "web-1",
                "paid",
                ALICE,
                EARLIER,
                "test_card",
                "ref-web-1",
                Decimal("24.00"),
                "EUR",
                shop.clock.now(),
                [OrderLine("mug", "Mug", Decimal("24.00"), "EUR", 1, None, None)],
            ),
        )
    # No saved address: the latest order's, as before.
    assert _shipped_to(_buy_and_confirm(shop)) == EARLIER
    # Saved on the account page: it wins over the latest order's.
    shop.save_address(customer_id)
    shop.later(1)
    assert _shipped_to(_buy_and_confirm(shop, "x")) == SHIP_TO
