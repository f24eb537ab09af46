"""Buying with a post charged through Stripe: the `stripe` library against localstripe on
loopback (tests/peers/fake_stripe), on SQLite and PostgreSQL. The buy's key is the
PaymentIntent's idempotency key and hashcart's own key -> PaymentIntent record, so a gateway
that does not answer is asked again later on the same intent, and two confirms at once hold
the money once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from hashcart.payments import stripe_client
from tests.buying.support import ALICE, MUG, BuyShop, code_in, own_post
from tests.integration.social import SHOPPERS
from tests.payments.stripe_support import WEBHOOK_SECRET
from tests.peers.fake_stripe.fixture import LocalStripe


class StripeBuyShop(BuyShop):
    def save_stripe_card(self, email: str, number: str) -> None:
        cards = self.app.stripe_cards()
        assert cards is not None
        cards.save_test_card(self.customer_id(email), email, number)

    def intents(self) -> list[object]:
        gateway = self.app.stripe_gateway()
        assert gateway is not None
        return list(gateway.client.v1.payment_intents.list().data)


@pytest.fixture
def shop(database_url: str, localstripe: LocalStripe) -> Iterator[StripeBuyShop]:
    shop = StripeBuyShop(
        database_url,
        stripe_secret_key=localstripe.secret_key,
        stripe_publishable_key=localstripe.publishable_key,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=localstripe.url,
    )
    alice = SHOPPERS["mastodon"]
    shop.customer(ALICE, (alice.network, alice.account_id, alice.handle))
    shop.save_address(shop.customer_id(ALICE))
    yield shop
    shop.app.engine.dispose()


def _buy(shop: StripeBuyShop) -> str:
    alice = SHOPPERS["mastodon"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#buy x2")])
    asked = shop.outbox()[-1]
    assert asked["reason"] == "buy_confirm_needed", asked
    return code_in(asked["text"])


def test_a_confirmed_buy_is_held_then_captured_on_one_payment_intent(
    shop: StripeBuyShop,
) -> None:
    shop.save_stripe_card(ALICE, "4242424242424242")
    code = _buy(shop)
    assert "ending in 4242" in shop.outbox()[-1]["text"]
    alice = SHOPPERS["mastodon"]
    shop.ingest([own_post(alice, alice.key(), f"#confirm {code}")])

    [order] = shop.orders()
    [intent] = shop.intents()
    assert intent.status == "succeeded"  # type: ignore[attr-defined]
    assert intent.amount == 4800 and intent.currency == "eur"  # type: ignore[attr-defined]
    assert intent.capture_method == "manual"  # type: ignore[attr-defined]
    assert order["payment_gateway"] == "stripe"
    assert shop.reasons().count("purchased") == 1


def test_a_card_stripe_declines_orders_nothing(shop: StripeBuyShop) -> None:
    # Stripe's documented test card that attaches but declines its charges.
    shop.save_stripe_card(ALICE, "4000000000000341")
    code = _buy(shop)
    alice = SHOPPERS["mastodon"]
    shop.ingest([own_post(alice, alice.key(), f"#confirm {code}")])
    assert shop.orders() == []
    assert shop.outbox()[-1]["reason"] == "payment_declined"
    assert shop.requests()[0].status == "declined"


def test_stripe_not_answering_is_asked_again_on_the_same_payment_intent(
    shop: StripeBuyShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.save_stripe_card(ALICE, "4242424242424242")
    code = _buy(shop)
    real_client = stripe_client.make_client
    monkeypatch.setattr(
        stripe_client,
        "make_client",
        # Port 9 (discard) on loopback: nothing listens there.
        lambda key, _base: real_client(key, "http://127.0.0.1:9", network_retries=0),
    )
    alice = SHOPPERS["mastodon"]
    shop.ingest([own_post(alice, alice.key(), f"#confirm {code}")])
    assert shop.orders() == []
    assert shop.requests()[0].status == "confirmed"  # no decline: an unknown outcome
    assert "payment_declined" not in shop.reasons()

    monkeypatch.undo()
    shop.later(3)  # past the settling lease: the sweep asks again, same key
    assert shop.app.settle_buys() == 1
    shop.later(3)
    assert shop.app.settle_buys() == 0
    assert len(shop.orders()) == 1
    [intent] = shop.intents()
    assert intent.status == "succeeded"  # type: ignore[attr-defined]


def test_two_settling_processes_at_once_hold_the_money_once(shop: StripeBuyShop) -> None:
    from hashcart.services.ingest import Ingestor

    shop.save_stripe_card(ALICE, "4242424242424242")
    code = _buy(shop)
    alice = SHOPPERS["mastodon"]
    Ingestor(
        shop.app.unit_of_work, shop.app.shop(), shop.clock, reader=shop.app.payload_reader
    ).ingest_lines("confirm", [own_post(alice, alice.key(), f"#confirm {code}")])
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def settle() -> None:
        try:
            barrier.wait(timeout=60)
            shop.app.settle_buys()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=settle) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert len(shop.orders()) == 1
    assert len(shop.intents()) == 1


def test_a_buy_its_offer_pays_in_full_is_ordered_without_asking_stripe(
    shop: StripeBuyShop,
) -> None:
    from decimal import Decimal

    from hashcart.services.offers import add_offer

    shop.save_stripe_card(ALICE, "4242424242424242")
    add_offer(shop.app.unit_of_work, shop.app.settings, shop.clock.now(), tag="free", percent="100")
    alice = SHOPPERS["mastodon"]
    shop.ingest([own_post(alice, alice.key(), "#free", minutes=1)])
    assert shop.reasons() == ["offer_loaded"]
    code = _buy(shop)
    shop.ingest([own_post(alice, alice.key(), f"#confirm {code}")])

    [order] = shop.orders()
    assert shop.intents() == []  # no PaymentIntent of 0.00 (nor of anything) at Stripe
    assert (order["status"], order["payment_gateway"]) == ("paid", "no_charge")
    assert order["total_amount"] == Decimal("0.00")
    assert order["discount_amount"] == Decimal("48.00")
    assert shop.reasons().count("purchased") == 1
    receipt = [m for m in shop.outbox() if m["reason"] == "order_confirmed"]
    assert "No charge was needed" in receipt[0]["text"]
