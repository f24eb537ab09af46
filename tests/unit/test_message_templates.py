"""The merchant's words (issue 14): the defaults in code are valid templates that fit every
network, substitution never reaches into objects, and stored words replace the default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hashcart.domain.message_previews import ShopWords, check_fits, previews
from hashcart.domain.message_templates import TEMPLATES, TemplateProblem, check_template, fill
from hashcart.domain.messages import MessageContext, Reason, SaleFacts, compose
from hashcart.domain.order_care import (
    OrderState,
    cancelled_text,
    order_status_text,
    shipped_text,
)

SHOP = ShopWords("Trailhead Coffee Roasters & Co.", "https://trailhead-coffee.example/account")


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_default_keeps_what_it_must_and_fits_every_network(key: str) -> None:
    spec = TEMPLATES[key]
    assert check_fits(key, spec.default, SHOP) == spec.default
    assert set(spec.required) <= set(spec.placeholders)
    assert all(preview.fits for preview in previews(key, spec.default, SHOP))


# Every reason's words are the merchant's (issue 14): order status, order cancelled and
# the live sales' reasons became templates too, so nothing is left out.
NOT_EDITABLE_YET: set[Reason] = set()


def test_every_reason_composed_has_a_template() -> None:
    composed = set(Reason) - NOT_EDITABLE_YET
    assert {str(reason) for reason in composed} <= set(TEMPLATES)


def test_substitution_is_text_only() -> None:
    with pytest.raises(TemplateProblem, match=r"a \$ must start a placeholder"):
        check_template("added", "${item.__class__.__mro__}")
    with pytest.raises(TemplateProblem, match=r"no placeholder \$__class__"):
        check_template("added", "$__class__")
    # Braces and percent signs are text, never format fields.
    assert fill("added", {"added": "{item} {0} %s $item"}, {"item": "Mug"}) == "{item} {0} %s Mug"


def test_stored_words_replace_the_default_and_the_greeting_and_reference_stay() -> None:
    context = MessageContext(
        handle="sam",
        trigger_post_id="42",
        shop_name="Trailhead",
        account_url="https://shop.example/account",
        sanitize=lambda text: text,
        templates={"added": "In the basket: $item ($$2 off at $shop)."},
    )
    text = compose(Reason.ADDED, context, title="Mug", quantity=2)
    assert text.startswith("@sam In the basket: 2 × Mug ($2 off at Trailhead). (ref ")


def test_a_stored_template_with_a_placeholder_since_removed_keeps_its_text() -> None:
    assert fill("added", {"added": "Hi $gone, $item"}, {"item": "Mug"}) == "Hi $gone, Mug"


def test_a_trigger_tag_in_the_merchants_words_loses_its_sign() -> None:
    context = MessageContext(
        handle="sam",
        trigger_post_id="42",
        shop_name="Trailhead",
        account_url="https://shop.example/account",
        sanitize=lambda text: text.replace("#cart", "cart"),
        templates={"added": "$item is in! Reply #cart to add more."},
    )
    text = compose(Reason.ADDED, context, title="Mug")
    assert "#cart" not in text and "Reply cart to add more." in text


def test_the_shipped_news_speaks_in_the_merchants_words() -> None:
    def context(templates: dict[str, str]) -> MessageContext:
        return MessageContext(
            handle="sam",
            trigger_post_id="42",
            shop_name="Trailhead",
            account_url="https://shop.example/account",
            sanitize=lambda text: text,
            templates=templates,
        )

    page, tracking = "https://shop.example/orders/7", "https://carrier.example/t/1Z9"
    default = shipped_text(context({}), 7, tracking, page, public=True)
    assert default.startswith(f"@sam Your order 7 at Trailhead has shipped. Details: {page} (ref ")
    words = {"shipped_tracking": "On its way from $shop (order $order): $tracking_url"}
    private = shipped_text(context(words), 7, tracking, page, public=False)
    assert private.startswith(f"@sam On its way from Trailhead (order 7): {tracking} (ref ")
    # In public the tracking link is never shown: the `shipped` words (default here) go.
    assert shipped_text(context(words), 7, tracking, page, public=True) == default


def _context(templates: dict[str, str]) -> MessageContext:
    return MessageContext(
        handle="sam",
        trigger_post_id="42",
        shop_name="Trailhead",
        account_url="https://shop.example/account",
        sanitize=lambda text: text,
        templates=templates,
    )


def test_order_news_speaks_in_the_merchants_words() -> None:
    page = "https://shop.example/orders/7"
    words = {"order_cancelled": "Order $order is off.$money_note See $order_url"}
    public = cancelled_text(_context(words), 7, page, public=True)
    assert public.startswith(f"@sam Order 7 is off. See {page} (ref ")
    private = cancelled_text(_context(words), 7, page, public=False)
    assert private.startswith("@sam Order 7 is off. Nothing more is charged")
    # The default is the words the shop always sent.
    default = cancelled_text(_context({}), 7, page, public=True)
    assert default.startswith(f"@sam Your order 7 at Trailhead has been cancelled. Details: {page}")

    orders = [OrderState(7, datetime(2026, 12, 1, tzinfo=UTC), "paid")]
    listing = {
        "order_status": "$shop has: $orders. More: $orders_url",
        "order_status_none": "None.",
    }
    said = order_status_text(_context(listing), orders, 4, "https://shop.example/orders")
    assert said.startswith("@sam Trailhead has: order 7, 1 Dec 2026, paid and 3 more. More: ")
    assert order_status_text(_context(listing), [], 0, "u").startswith("@sam None. (ref ")


def test_live_sale_messages_speak_in_the_merchants_words() -> None:
    sale = SaleFacts(item="12", variant="Red", price="24.00 EUR", pay_by="Mon", link="https://i/9")
    words = {"claim_won": "Yours: $priced. Pay at $invoice_url by $pay_by ($shop)."}
    text = compose(Reason.CLAIM_WON, _context(words), title="Mug", sale=sale)
    assert text.startswith("@sam Yours: #12 Mug, Red, 24.00 EUR. Pay at https://i/9 by Mon (Trail")
    default = compose(Reason.CLAIM_WON, _context({}), title="Mug", sale=sale)
    assert default.startswith("@sam You got #12 Mug, Red, 24.00 EUR at Trailhead; pay by Mon: ")
    unlinked = compose(Reason.LINK_NEEDED, _context({}), title="Mug", sale=sale)
    assert "Link this account at https://shop.example/account within 30 minutes" in unlinked


@pytest.mark.parametrize(
    ("key", "words", "kept"),
    [
        ("claim_won", "You got $priced; pay soon.", "invoice_url"),
        ("invoice_due", "Pay for $won by $pay_by.", "invoice_url"),
        ("order_cancelled", "Order $order is off.", "order_url"),
        ("order_status", "Your orders: $orders.", "orders_url"),
        ("claim_unknown_item", "No $asked here.", "exists"),
    ],
)
def test_words_that_drop_the_link_or_list_are_refused(key: str, words: str, kept: str) -> None:
    with pytest.raises(TemplateProblem, match=rf"must keep \${kept}"):
        check_fits(key, words, SHOP)
