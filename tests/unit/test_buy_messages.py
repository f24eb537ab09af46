"""Buy with a post's messages fit each network's limit whatever the product title and the
shop's name, and never lose the code, the total or the card's last four digits (titles
and the shop's name give way first); the code grammar reads `#confirm K7QX` in any case."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashcart.domain.buying import CODE_ALPHABET, code_after_tag, is_code, new_code
from hashcart.domain.messages import BuyFacts, Reason, compose, reference
from hashcart.domain.offers import MAX_TAG_CHARS
from hashcart.domain.posts import Network
from hashcart.domain.text_lengths import limit_for
from tests.unit.test_message_lengths import TITLES, TRIGGER, _context

FACTS = BuyFacts(
    total="1234.50 EUR",
    last4="4242",
    code="K7QX",
    minutes=15,
    order_id=123456,
    payment_url="https://shop.example/account#payment",
    limit="250.00 EUR",
    address_url="https://shop.example/account#address",
)
# A loaded offer on the quote (issue 12): its tag as long as an offer tag may be.
OFFER_FACTS = replace(FACTS, offer_off="123.45 EUR", offer_tag="O" * MAX_TAG_CHARS)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reason=st.sampled_from(
        [
            Reason.BUY_CONFIRM_NEEDED,
            Reason.PURCHASED,
            Reason.PAYMENT_DECLINED,
            Reason.PAYMENT_METHOD_NEEDED,
            Reason.LIMIT_REACHED,
            Reason.CONFIRM_EXPIRED,
            Reason.ADDRESS_NEEDED,
        ]
    ),
    title=TITLES.filter(lambda title: title.strip() != ""),
    shop_name=TITLES.filter(lambda name: name.strip() != ""),
    network=st.sampled_from(list(Network)),
    facts=st.sampled_from([FACTS, OFFER_FACTS]),
)
def test_buy_messages_fit_and_keep_their_facts(
    reason: Reason, title: str, shop_name: str, network: Network, facts: BuyFacts
) -> None:
    limit = limit_for(network)
    assert limit is not None
    text = compose(
        reason,
        _context(handle="b" * 15, shop_name=shop_name),
        title=title,
        quantity=3,
        limit=limit,
        buy=facts,
    )
    assert limit.fits(text)
    assert text.endswith(f"(ref {reference(TRIGGER)})")
    if reason is Reason.BUY_CONFIRM_NEEDED:
        assert "#confirm K7QX within 15 minutes" in text
        assert "1234.50 EUR" in text and "ending in 4242" in text
        if facts.offer_off:
            assert f"(123.45 EUR off with your {'O' * MAX_TAG_CHARS} offer)" in text
    if reason is Reason.PURCHASED:
        assert "order #123456" in text
    if reason is Reason.PAYMENT_METHOD_NEEDED:
        assert "https://shop.example/account#payment" in text
    if reason is Reason.ADDRESS_NEEDED:
        assert "https://shop.example/account#address" in text and "Nothing was bought" in text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("#confirm K7QX", "K7QX"),
        ("#Confirm k7qx", "K7QX"),
        ("@trailhead #CONFIRM k7qx!", "K7QX"),
        ("yes please #confirm K7QX.", "K7QX"),
        ("#confirm", None),
        ("#confirm K7Q", None),
        ("#confirm K7QXX", None),
        ("#confirm 0O1I", None),  # look-alikes are no code letters
        ("#confirmed K7QX", None),
        ("#confirm\x00K7QX", None),
        ("#confirm " + "K" * 100_000, None),
    ],
)
def test_the_code_is_the_word_right_after_the_confirm_tag(text: str, code: str | None) -> None:
    assert code_after_tag(text, ("confirm",)) == code


@given(st.integers(min_value=0, max_value=2**32))
def test_new_codes_are_codes(seed: int) -> None:
    import random

    code = new_code(random.Random(seed).choice)
    assert is_code(code) and set(code) <= set(CODE_ALPHABET)
