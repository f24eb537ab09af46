"""Cancelling and carriers in words (issue 14): the `order_cancelled` message fits every
network's limit as that network counts it (X 280 weighted characters,
docs.x.com/resources/fundamentals/counting-characters; Bluesky 300 graphemes,
lexicons/app/bsky/feed/post.json; Mastodon's default 500, entities/Instance/#max_characters)
however long the shop's name and the handle; a public reply never says more than that the
order was cancelled; the carrier's name is tidied and checked; the orders list's page key
reads back what it wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashcart.domain.messages import MessageContext, Reason, email_subject
from hashcart.domain.order_care import (
    MAX_CARRIER,
    CarrierError,
    OrderState,
    cancelled_email,
    cancelled_text,
    check_carrier,
)
from hashcart.domain.posts import Network
from hashcart.domain.text_lengths import limit_for
from hashcart.views.console_orders import OrderKey

ORDER_URL = "https://shop.example/orders/123456789"


def _context(handle: str, shop_name: str) -> MessageContext:
    return MessageContext(
        handle, "1700000000000000042", shop_name, "https://shop.example/account", str
    )


@pytest.mark.parametrize("network", [Network.X, Network.BLUESKY, Network.MASTODON])
@pytest.mark.parametrize("public", [True, False])
@settings(deadline=None, max_examples=40)
@given(
    shop_name=st.text(min_size=1, max_size=400),
    handle=st.from_regex(r"[a-z0-9_.]{1,60}", fullmatch=True),
)
def test_the_cancelled_message_fits_every_network(
    network: Network, public: bool, shop_name: str, handle: str
) -> None:
    limit = limit_for(network)
    assert limit is not None
    text = cancelled_text(_context(handle, shop_name), 123456789, ORDER_URL, public=public)
    assert limit.fits(text), (limit.length(text), text)
    assert ORDER_URL in text and "123456789" in text


def test_a_public_reply_says_only_that_it_was_cancelled() -> None:
    public = cancelled_text(_context("ann", "Trailhead"), 7, ORDER_URL, public=True)
    private = cancelled_text(_context("ann", "Trailhead"), 7, ORDER_URL, public=False)
    assert "goes back" not in public and "goes back" in private
    assert public.startswith("@ann Your order 7 at Trailhead has been cancelled.")


def test_the_email_and_its_subject() -> None:
    body = cancelled_email(_context("", "Trailhead"), 7, ORDER_URL)
    assert "order 7" in body and ORDER_URL in body and "goes back" in body
    assert email_subject(Reason.ORDER_CANCELLED, "Trailhead") == (
        "Your order has been cancelled at Trailhead"
    )
    assert str(Reason.ORDER_CANCELLED) == "order_cancelled"


def test_a_cancelled_order_never_reads_as_shipped() -> None:
    moment = datetime(2026, 12, 6, tzinfo=UTC)
    assert OrderState(1, moment, "cancelled", shipped_at=None).shown_status == "cancelled"


@pytest.mark.parametrize(
    ("written", "kept"),
    [(None, None), ("", None), ("   ", None), ("  Royal \t Mail ", "Royal Mail"), ("DHL", "DHL")],
)
def test_the_carrier_is_tidied(written: str | None, kept: str | None) -> None:
    assert check_carrier(written) == kept


@pytest.mark.parametrize(
    "written", ["UPS\n", "UPS\u202e", "\x00DHL", "U\u200bPS", "x" * (MAX_CARRIER + 1)]
)
def test_a_carrier_with_controls_or_too_long_is_refused(written: str) -> None:
    with pytest.raises(CarrierError):
        check_carrier(written)


@given(
    moment=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    number=st.integers(min_value=1, max_value=10**12 - 1),
)
def test_the_page_key_reads_back_what_it_wrote(moment: datetime, number: int) -> None:
    key = OrderKey(moment, number)
    assert OrderKey.parse(key.token()) == key


@pytest.mark.parametrize(
    "token", ["", "x", "1.2.3", "12", "1." + "9" * 13, "9" * 19 + ".1", "-1.-1", "1e5.2"]
)
def test_a_page_key_that_is_not_one_starts_over(token: str) -> None:
    assert OrderKey.parse(token) is None


def test_a_key_past_the_year_9999_starts_over() -> None:
    assert OrderKey.parse(f"{10**18 - 1}.1") is None
