"""`hashcart payment-methods add --customer EMAIL --card NUMBER` and `payment-methods list
[--json]`: a test card saved for scripts and the demo, Stripe's test PaymentMethod when
Stripe is set up (against localstripe), the test-card gateway's otherwise; never a number
stored or printed."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from hashcart.ports import PaymentDetails
from hashcart.services.payments import TestCardGateway
from hashcart.store import schema as t
from tests.cli_runner import Result, run_cli
from tests.harness import Shop
from tests.payments.stripe_support import SAM, StripeShop
from tests.peers.fake_stripe.fixture import LocalStripe

NUMBER = "4242424242424242"


def _run(url: str, *args: str, **settings: str) -> Result:
    env = {"HASHCART_DATABASE_URL": url}
    env.update({f"HASHCART_{name.upper()}": value for name, value in settings.items()})
    return run_cli(list(args), env=env)


def _stripe_env(localstripe: LocalStripe) -> dict[str, str]:
    return {"stripe_secret_key": localstripe.secret_key, "stripe_api_base": localstripe.url}


def _no_number_anywhere(shop: Shop, *outputs: str) -> None:
    for output in outputs:
        assert NUMBER not in output and "424242424242" not in output
    with shop.app.engine.connect() as connection:
        for table in t.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                assert "424242424242" not in " ".join(map(str, row)), table.name


def test_without_stripe_the_test_card_gateway_keeps_the_card(database_url: str) -> None:
    shop = Shop(database_url)
    shop.customer(SAM)
    added = _run(database_url, "payment-methods", "add", "--customer", SAM, "--card", NUMBER)
    assert added.exit_code == 0, added.stderr
    assert "saved Visa ending in 4242 for sam@example.com (test_card)" in added.stdout
    listed = _run(database_url, "payment-methods", "list", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["customer"], r["gateway"], r["brand"], r["last4"]) for r in rows] == [
        (SAM, "test_card", "Visa", "4242")
    ]
    # The saved card pays through the test-card gateway without its number.
    details = PaymentDetails({"saved_method": rows[0]["payment_method"]}, "k" * 24, date.today())
    answer = TestCardGateway().authorise(Decimal("5"), "USD", details)
    assert answer.approved and answer.message == "Paid by Visa ending in 4242."
    _no_number_anywhere(shop, added.stdout, added.stderr, listed.stdout)
    shop.app.engine.dispose()


def test_with_stripe_the_card_is_stripe_s_test_payment_method(
    database_url: str, localstripe: LocalStripe
) -> None:
    shop = StripeShop(database_url, localstripe)
    shop.customer(SAM)
    env = _stripe_env(localstripe)
    added = _run(database_url, "payment-methods", "add", "--customer", SAM, "--card", NUMBER, **env)
    assert added.exit_code == 0, added.stderr
    assert "(stripe)" in added.stdout
    rows = json.loads(_run(database_url, "payment-methods", "list", "--json").stdout)
    method = shop.stripe.v1.payment_methods.retrieve(rows[0]["payment_method"])
    assert method.customer == shop.cards.customer_for(shop.customer_id(), SAM)
    assert (rows[0]["gateway"], rows[0]["last4"]) == ("stripe", "4242")
    _no_number_anywhere(shop, added.stdout, added.stderr)
    shop.app.engine.dispose()


def test_a_second_card_replaces_the_first(database_url: str) -> None:
    shop = Shop(database_url)
    shop.customer(SAM)
    _run(database_url, "payment-methods", "add", "--customer", SAM, "--card", NUMBER)
    _run(database_url, "payment-methods", "add", "--customer", SAM, "--card", "5555555555554444")
    rows = json.loads(_run(database_url, "payment-methods", "list", "--json").stdout)
    assert [(r["brand"], r["last4"]) for r in rows] == [("Mastercard", "4444")]
    shop.app.engine.dispose()


@pytest.mark.parametrize(
    ("card", "says"),
    [
        ("4000000000000002", "card not saved: The card was declined."),
        ("4242424242424241", "card not saved: That card number is not valid"),
        ("4111111111111111", "card not saved: The test-card gateway takes test cards only"),
        ("4242\x004242", "--card: a card number is 12 to 19 digits"),
        ("४२४२४२४२४२४२४२४२", "--card: a card number is 12 to 19 digits"),
        ("4" * 5000, "--card: a card number is 12 to 19 digits"),
        ("", "--card: a card number is 12 to 19 digits"),
    ],
)
def test_a_card_that_cannot_be_saved_is_one_line_exit_2(
    tmp_path: object, card: str, says: str
) -> None:
    url = f"sqlite:///{tmp_path}/cards.db"
    shop = Shop(url)
    shop.customer(SAM)
    result = _run(url, "payment-methods", "add", "--customer", SAM, "--card", card)
    assert result.exit_code == 2 and says in result.stderr
    if card.isdigit() and len(card) < 20:
        assert card not in result.stderr
    with shop.app.engine.connect() as connection:
        assert connection.execute(text("select count(*) from saved_payment_methods")).scalar() == 0
    shop.app.engine.dispose()


def test_an_unknown_customer_is_one_line_exit_2(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/cards.db"
    Shop(url).app.engine.dispose()
    result = _run(url, "payment-methods", "add", "--customer", "who@example.com", "--card", NUMBER)
    assert result.exit_code == 2 and "no customer with the email" in result.stderr


def test_stripe_declining_the_card_saves_nothing(
    tmp_path: object, localstripe: LocalStripe
) -> None:
    url = f"sqlite:///{tmp_path}/cards.db"
    shop = StripeShop(url, localstripe)
    shop.customer(SAM)
    result = _run(
        url,
        "payment-methods",
        "add",
        "--customer",
        SAM,
        "--card",
        "4000000000000002",
        **_stripe_env(localstripe),
    )
    assert result.exit_code == 2 and "card not saved: Your card was declined." in result.stderr
    assert json.loads(_run(url, "payment-methods", "list", "--json").stdout) == []
    shop.app.engine.dispose()
