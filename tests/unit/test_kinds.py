"""The trigger-kind registry: built-in kinds, their tags from the settings, and the checks
that keep two kinds from answering to the same tag."""

from __future__ import annotations

import pytest

from hashcart.config import Settings
from hashcart.domain.kinds import (
    BUY,
    CART,
    CONFIRM,
    KINDS,
    LINK,
    OFFER,
    ORDER_STATUS,
    REMOVE,
    WISHLIST,
    Grammar,
    KindRegistry,
    TriggerKind,
)
from hashcart.domain.triggers import TriggerWords, parse_trigger

SAMPLE = TriggerKind("sample", ("sample",))


def test_the_built_in_kinds_are_cart_wishlist_link_remove_and_order_status_in_order() -> None:
    assert list(KINDS)[:5] == [CART, WISHLIST, LINK, REMOVE, ORDER_STATUS]
    # Buy with a post and offers by hashtag (issue 12) came after them.
    assert list(KINDS)[5:8] == [BUY, CONFIRM, OFFER]
    assert KINDS.of(Grammar.POST)[:4] == [LINK, ORDER_STATUS, CONFIRM, OFFER]
    # The offer kind's tags are the merchant's offers (data), never a setting.
    assert OFFER.setting is None and OFFER.tags(Settings()) == ()


def test_each_kinds_tags_come_from_its_setting() -> None:
    settings = Settings(cart_tags=("grab",), link_tags=("joinus",))
    assert KINDS.tags_by_kind(settings) == {
        "cart": ("grab",),
        "wishlist": ("wishlist",),
        "link": ("joinus",),
        "order_status": ("order",),
        "buy": ("buy",),
        "confirm": ("confirm",),
        "offer": (),  # the offers' tags are data: services/shop adds them
        "claim": (),  # live sales' claims carry no tag: the sale's posts decide (issue 13)
    }
    assert KINDS.tags_by_kind({"cart_tags": ("grab",)}, Grammar.REPLY) == {
        "cart": ("grab",),
        "wishlist": ("wishlist",),
        "buy": ("buy",),
    }


def test_turning_buying_off_takes_the_buy_and_confirm_tags_away() -> None:
    """`buy_enabled = false`: a `#buy` or `#confirm` is no trigger at all (nothing acts,
    nobody is told); the console's switch is the same setting."""
    settings = Settings(buy_enabled=False)
    by_kind = KINDS.tags_by_kind(settings)
    assert by_kind["buy"] == () and by_kind["confirm"] == ()
    assert KINDS.tags_by_kind({"buy_enabled": False})["buy"] == ()
    assert by_kind["cart"] == ("cart",)


def test_a_kind_without_a_setting_answers_to_its_default_tags() -> None:
    assert SAMPLE.tags(Settings()) == ("sample",)


def test_a_kind_added_for_a_block_is_gone_after_it() -> None:
    registry = KindRegistry([CART])
    with registry.added(SAMPLE):
        assert "sample" in registry
    assert "sample" not in registry and list(registry) == [CART]


def test_two_different_kinds_may_not_share_a_name() -> None:
    registry = KindRegistry([CART])
    registry.add(CART)  # the same kind again changes nothing
    with pytest.raises(ValueError, match="different trigger kind named 'cart'"):
        registry.add(TriggerKind("cart", ("basket",)))


@pytest.mark.parametrize("name", ["", "Cart", "order-status", "a" * 17, "2buy"])
def test_a_kind_name_fits_the_column_that_stores_it(name: str) -> None:
    with pytest.raises(ValueError, match="trigger kind name"):
        TriggerKind(name, ("x",))


def test_words_of_any_kinds_parse_each_kinds_tag() -> None:
    words = TriggerWords.of({"cart": ("cart",), "sample": ("sample", "probe")})
    request = parse_trigger("#Probe 2", None, words, 10)
    assert request is not None and request.kind == "sample" and request.position == 2
    assert words.every_tag == ("cart", "sample", "probe")


def test_no_tag_may_ask_for_two_kinds() -> None:
    with pytest.raises(ValueError, match="configured for both cart and sample"):
        TriggerWords.of({"cart": ("cart",), "sample": ("CART",)})


def test_a_kind_that_yields_its_defaults_leaves_a_taken_tag_to_the_other_kind() -> None:
    assert KINDS.tags_by_kind(Settings(cart_tags=("order",)))["order_status"] == ()
    assert KINDS.tags_by_kind(Settings(order_status_tags=("wheresmyorder",)))["order_status"] == (
        "wheresmyorder",
    )
    with pytest.raises(ValueError, match="both cart and order_status"):
        Settings(cart_tags=("order",), order_status_tags=("order", "status"))
