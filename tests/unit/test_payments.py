"""The built-in payment gateways: pay on invoice, and the test card gateway that takes the
well-known test numbers and declines every other one, never keeping a card number."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashcart.services.payments import (
    GATEWAYS,
    TEST_CARDS_APPROVED,
    TEST_CARDS_DECLINED,
    InvoiceGateway,
    PaymentDetails,
    PaymentGateway,
    TestCardGateway,
    gateway_named,
    luhn_valid,
)

TODAY = date(2026, 11, 20)
KEY = "a-checkout-key-of-some-length"


def _card(number: str, expiry: str = "12/30", cvc: str = "123", key: str = KEY) -> PaymentDetails:
    return PaymentDetails(
        fields={"card_number": number, "card_expiry": expiry, "card_cvc": cvc},
        idempotency_key=key,
        today=TODAY,
    )


def _charge(details: PaymentDetails) -> tuple[bool, str, str, bool]:
    result = TestCardGateway().authorise(Decimal("42.50"), "USD", details)
    return result.approved, result.reference, result.message, result.paid


def test_both_gateways_are_registered_by_name() -> None:
    assert set(GATEWAYS) == {"invoice", "test_card"}
    assert gateway_named("invoice") is GATEWAYS["invoice"]
    assert gateway_named("cash") is None
    gateways: list[PaymentGateway] = [InvoiceGateway(), TestCardGateway()]
    assert all(gateway.label for gateway in gateways)


def test_invoice_approves_owing_the_money_with_a_stable_reference() -> None:
    gateway = InvoiceGateway()
    details = PaymentDetails(fields={}, idempotency_key=KEY, today=TODAY)

    first = gateway.authorise(Decimal("10"), "USD", details)
    again = gateway.authorise(Decimal("10"), "USD", details)
    other = gateway.authorise(Decimal("10"), "USD", PaymentDetails({}, "another-key", TODAY))

    assert first.approved and not first.paid
    assert first.reference.startswith("INV-20261120-")
    assert first.reference == again.reference  # the same checkout, the same charge
    assert other.reference != first.reference
    assert first.reference in first.message


@pytest.mark.parametrize("number", sorted(TEST_CARDS_APPROVED))
def test_every_well_known_test_number_is_approved(number: str) -> None:
    cvc = "1234" if number.startswith(("34", "37")) else "123"
    approved, reference, message, paid = _charge(_card(number, cvc=cvc))
    assert approved and paid
    assert reference.startswith(f"CARD-{number[-4:]}-")
    assert number not in reference and number[:-4] not in reference
    assert message.endswith(f"ending in {number[-4:]}.")


def test_test_numbers_are_read_with_spaces_or_hyphens() -> None:
    assert _charge(_card("4242 4242 4242 4242"))[0]
    assert _charge(_card("5555-5555-5555-4444"))[0]
    assert _charge(_card("3782 822463 10005", cvc="1234"))[0]
    assert _charge(_card("4000 0566 5566 5556"))[0]


def test_the_same_checkout_key_gives_the_same_reference() -> None:
    assert _charge(_card("4242424242424242"))[1] == _charge(_card("4242424242424242"))[1]
    assert _charge(_card("4242424242424242"))[1] != _charge(_card("4242424242424242", key="x"))[1]


@pytest.mark.parametrize("number", sorted(TEST_CARDS_DECLINED))
def test_the_decline_test_numbers_are_declined_with_their_reason(number: str) -> None:
    approved, reference, message, paid = _charge(_card(number))
    assert not approved and not paid and reference == ""
    assert message == TEST_CARDS_DECLINED[number]


def test_the_generic_decline_number_says_declined() -> None:
    assert _charge(_card("4000 0000 0000 0002"))[2] == "The card was declined."


def test_any_other_valid_number_is_declined_saying_test_cards_only() -> None:
    approved, _, message, _ = _charge(_card("4111 1111 1111 1111"))
    assert not approved
    assert "test cards only" in message and "4242 4242 4242 4242" in message


@pytest.mark.parametrize(
    ("details", "message"),
    [
        (_card("4242 4242 4242 4241"), "not valid"),
        (_card(""), "not valid"),
        (_card("4242"), "not valid"),
        (_card("abcd abcd abcd abcd"), "not valid"),
        (_card("4242424242424242", expiry="10/26"), "expired"),
        (_card("4242424242424242", expiry="13/30"), "MM/YY"),
        (_card("4242424242424242", expiry="soon"), "MM/YY"),
        (_card("4242424242424242", cvc=""), "3-digit security code"),
        (_card("4242424242424242", cvc="12a"), "3-digit security code"),
        (_card("378282246310005", cvc="123"), "4-digit security code"),
    ],
)
def test_bad_card_details_are_declined_with_a_clear_message(
    details: PaymentDetails, message: str
) -> None:
    approved, reference, said, _ = _charge(details)
    assert not approved and reference == ""
    assert message in said


def test_an_expiry_this_month_is_still_good_and_four_digit_years_work() -> None:
    assert _charge(_card("4242424242424242", expiry="11/26"))[0]
    assert _charge(_card("4242424242424242", expiry="11/2026"))[0]


def test_luhn_accepts_the_test_numbers_and_refuses_a_changed_digit() -> None:
    for number in (*TEST_CARDS_APPROVED, *TEST_CARDS_DECLINED):
        assert luhn_valid(number), number
        changed = number[:-1] + str((int(number[-1]) + 1) % 10)
        assert not luhn_valid(changed), changed


@given(st.text(alphabet="0123456789", min_size=12, max_size=19))
def test_luhn_exactly_one_check_digit_fits_any_number(body: str) -> None:
    fits = [digit for digit in "0123456789" if luhn_valid(body[:-1] + digit)]
    assert len(fits) == 1
