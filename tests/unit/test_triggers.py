"""The trigger grammar: tags, normal forms, quantity, position, stripping, prefilter bytes."""

from __future__ import annotations

import string
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashcart.domain.triggers import (
    TriggerRequest,
    TriggerWords,
    normalize_tag,
    parse_trigger,
    strip_trigger_tags,
)

WORDS = TriggerWords()
CAP = 10


def parse(
    text: str, tags: list[str] | None = None, words: TriggerWords = WORDS
) -> TriggerRequest | None:
    return parse_trigger(text, tags, words, CAP)


def quantity(text: str) -> int:
    request = parse(text)
    assert request is not None
    return request.quantity


def position(text: str) -> int | None:
    request = parse(text)
    assert request is not None
    return request.position


# normal forms


def test_normal_form_lowercases() -> None:
    assert normalize_tag("CART") == normalize_tag("Cart") == "cart"


def test_normal_form_folds_fullwidth_letters() -> None:
    assert normalize_tag("ｃａｒｔ") == "cart"


def test_normal_form_casefolds_beyond_lowercase() -> None:
    assert normalize_tag("STRASSE") == normalize_tag("Straße")


def test_normal_form_keeps_zero_width_space() -> None:
    assert normalize_tag("ca\u200brt") != "cart"


# trigger words


def test_default_words_are_cart_and_wishlist() -> None:
    assert (WORDS.cart, WORDS.wishlist) == (("cart",), ("wishlist",))


def test_configured_word_matches_any_case() -> None:
    words = TriggerWords(cart=("AmazonCart",))
    assert words.kind_of("amazoncart") == "cart"


def test_words_from_a_config_list_become_a_tuple() -> None:
    words = TriggerWords(cart=["basket"])  # type: ignore[arg-type]
    assert words.cart == ("basket",)


@pytest.mark.parametrize("bad", ["#cart", "amazon cart", "2024", ""])
def test_word_that_is_not_a_hashtag_is_a_configuration_error(bad: str) -> None:
    with pytest.raises(ValueError, match="not a hashtag"):
        TriggerWords(cart=(bad,))


def test_word_in_both_lists_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="both"):
        TriggerWords(cart=("cart",), wishlist=("CART",))


def test_single_string_instead_of_a_list_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="list"):
        TriggerWords(cart="cart")  # type: ignore[arg-type]


# which tag triggers what


def test_cart_tag_asks_for_the_cart() -> None:
    assert parse("#cart") == TriggerRequest("cart", "cart", 1, None)


def test_wishlist_tag_asks_for_the_wishlist() -> None:
    assert parse("#wishlist") == TriggerRequest("wishlist", "wishlist", 1, None)


def test_uppercase_tag_is_a_trigger_kept_as_written() -> None:
    assert parse("#CART") == TriggerRequest("cart", "CART", 1, None)


def test_capitalised_tag_is_a_trigger() -> None:
    assert parse("#Cart") == TriggerRequest("cart", "Cart", 1, None)


def test_fullwidth_sign_is_a_trigger() -> None:
    assert parse("＃cart") == TriggerRequest("cart", "cart", 1, None)


def test_fullwidth_letters_are_a_trigger() -> None:
    assert parse("＃ｃａｒｔ") == TriggerRequest("cart", "ｃａｒｔ", 1, None)


def test_plural_is_not_a_trigger() -> None:
    assert parse("#carts") is None


def test_longer_word_is_not_a_trigger() -> None:
    assert parse("#cartel") is None


def test_tag_with_digits_glued_on_is_not_a_trigger() -> None:
    assert parse("#cart2") is None


def test_zero_width_space_inside_is_not_a_trigger() -> None:
    assert parse("#ca\u200brt") is None


def test_zero_width_space_inside_metadata_tag_is_not_a_trigger() -> None:
    assert parse("", tags=["ca\u200brt"]) is None


def test_cyrillic_lookalike_is_not_a_trigger() -> None:
    assert parse("#\u0441art") is None


def test_word_without_sign_is_not_a_trigger() -> None:
    assert parse("add to cart please") is None


def test_sign_after_a_letter_is_not_a_trigger() -> None:
    assert parse("my#cart") is None


def test_tag_inside_a_link_is_not_a_trigger() -> None:
    assert parse("https://shop.example/p/1#cart https://shop.example/#cart") is None


def test_configured_tag_is_a_trigger() -> None:
    words = TriggerWords(cart=("AmazonCart",))
    assert parse("#AmazonCart", words=words) == TriggerRequest("cart", "AmazonCart", 1, None)


def test_default_tag_is_not_a_trigger_when_the_shop_replaced_it() -> None:
    assert parse("#cart", words=TriggerWords(cart=("AmazonCart",))) is None


def test_first_trigger_tag_decides_the_kind() -> None:
    request = parse("#wishlist or #cart?")
    assert request is not None and request.kind == "wishlist"


def test_other_tags_before_the_trigger_are_skipped() -> None:
    request = parse("#sale #blackfriday #cart")
    assert request is not None and request.kind == "cart"


def test_metadata_tags_decide_when_given() -> None:
    assert parse("love it", tags=["Cart"]) == TriggerRequest("cart", "Cart", 1, None)


def test_empty_metadata_means_no_tags_even_if_text_has_one() -> None:
    assert parse("#cart", tags=[]) is None


def test_metadata_tag_takes_its_written_form_and_position_from_the_text() -> None:
    assert parse("#CART 2", tags=["cart"]) == TriggerRequest("cart", "CART", 1, 2)


# quantity


def test_quantity_defaults_to_one() -> None:
    assert quantity("#cart") == 1


def test_x_before_number_is_a_quantity() -> None:
    assert quantity("#cart x2") == 2


def test_uppercase_x_is_a_quantity() -> None:
    assert quantity("#cart X3") == 3


def test_x_after_number_is_a_quantity() -> None:
    assert quantity("#cart 2x") == 2


def test_quantity_may_come_before_the_tag() -> None:
    assert quantity("2x #cart") == 2


def test_multiplication_sign_is_a_quantity() -> None:
    assert quantity("#cart ×4") == quantity("#cart 4×") == 4


def test_qty_is_a_quantity() -> None:
    assert quantity("#cart qty 2") == 2


def test_qty_in_capitals_is_a_quantity() -> None:
    assert quantity("#cart QTY 5") == 5


def test_qty_with_colon_is_a_quantity() -> None:
    assert quantity("#cart qty: 2") == quantity("#cart Qty:2") == 2


def test_quantity_word_is_a_quantity() -> None:
    assert quantity("#cart quantity 3") == 3


def test_x_and_number_apart_is_not_a_quantity() -> None:
    assert quantity("#cart the 3 x 2 m rug") == 1


def test_glued_dimensions_are_not_a_quantity() -> None:
    assert quantity("#cart 4x4 and 0x2 and ps2x") == 1


def test_first_quantity_wins() -> None:
    assert quantity("#cart x3 no wait x5") == 3


def test_quantity_above_the_cap_gives_the_cap() -> None:
    assert quantity("#cart x11") == CAP


def test_absurd_quantity_gives_the_cap() -> None:
    assert quantity("#cart x" + "9" * 10_000) == CAP


def test_quantity_at_the_cap_is_kept() -> None:
    assert quantity(f"#cart x{CAP}") == CAP


def test_zero_quantity_is_ignored() -> None:
    assert quantity("#cart x0") == 1


def test_zero_quantity_lets_a_later_one_count() -> None:
    assert quantity("#cart x0 x2") == 2


def test_price_is_not_a_quantity() -> None:
    assert quantity("#cart $2x, x5€ or x5 €") == 1


def test_quantity_next_to_a_price_counts() -> None:
    assert quantity("#cart 2x $20") == 2


def test_decimal_is_not_a_quantity() -> None:
    assert quantity("#cart 2.5x zoom, 1,5x") == 1


def test_quantity_inside_a_link_does_not_count() -> None:
    assert quantity("#cart https://shop.example/p/x2 shop.example/2x") == 1


def test_domain_is_not_a_quantity() -> None:
    assert quantity("#cart x2.com") == 1


def test_mention_is_not_a_quantity() -> None:
    assert quantity("@x2 @shop_2x #cart") == 1


def test_email_address_is_not_a_quantity() -> None:
    assert quantity("#cart write to x2@shop.example") == 1


def test_hashtag_is_not_a_quantity() -> None:
    assert quantity("#cart #x2") == 1


def test_sentence_punctuation_after_quantity_is_fine() -> None:
    assert quantity("#cart x2. Thanks!") == 2


def test_max_quantity_below_one_is_an_error() -> None:
    with pytest.raises(ValueError, match="max_quantity"):
        parse_trigger("#cart", None, WORDS, 0)


# position


def test_number_after_the_tag_is_the_position() -> None:
    assert parse("#cart 2") == TriggerRequest("cart", "cart", 1, 2)


def test_number_with_sign_after_the_tag_is_the_position() -> None:
    assert position("#cart #2") == 2


def test_number_with_x_after_the_tag_is_a_quantity_not_a_position() -> None:
    assert parse("#cart 2x") == TriggerRequest("cart", "cart", 2, None)


def test_position_and_quantity_together() -> None:
    assert parse("#cart 2 x3") == TriggerRequest("cart", "cart", 3, 2)


def test_position_before_sentence_punctuation() -> None:
    assert position("#cart 2. thanks") == position("#cart 2!") == 2


def test_two_digit_position() -> None:
    assert position("#cart 12") == 12


def test_position_after_wishlist_tag() -> None:
    request = parse("#wishlist 3")
    assert request is not None and request.position == 3


def test_no_number_no_position() -> None:
    assert position("#cart please") is None


def test_zero_is_not_a_position() -> None:
    assert position("#cart 0") is None


def test_three_digit_number_is_not_a_position() -> None:
    assert position("#cart 2024 collection") is None


def test_decimal_is_not_a_position() -> None:
    assert position("#cart 2.5") is None


def test_price_is_not_a_position() -> None:
    assert position("#cart 20€") is None


def test_price_with_space_is_not_a_position() -> None:
    assert position("#cart 20 €") is None


def test_price_before_the_number_is_not_a_position() -> None:
    assert position("#cart $2") is None


def test_percentage_is_not_a_position() -> None:
    assert position("#cart 20%") is None


def test_time_is_not_a_position() -> None:
    assert position("#cart 10:30") is None


def test_ordinal_is_not_a_position() -> None:
    assert position("#cart 2nd") is None


def test_number_on_the_next_line_is_not_a_position() -> None:
    assert position("#cart\n2") is None


def test_number_before_the_tag_is_not_a_position() -> None:
    assert position("2 #cart") is None


def test_number_elsewhere_is_not_a_position() -> None:
    assert position("#cart the 2 blue ones") is None


def test_position_is_read_after_the_first_trigger_tag() -> None:
    assert position("#sale 4 #cart 2 #cart 3") == 2


# stripping trigger tags from what we send


def strip(text: str, words: TriggerWords = WORDS) -> str:
    return strip_trigger_tags(text, words)


def test_strip_removes_the_sign_of_a_trigger_tag() -> None:
    assert strip("Added to your #cart!") == "Added to your cart!"


def test_strip_removes_fullwidth_sign_and_any_case() -> None:
    assert strip("＃ＣＡＲＴ and #WishList") == "ＣＡＲＴ and WishList"


def test_strip_removes_configured_tag() -> None:
    assert strip("#AmazonCart", TriggerWords(cart=("AmazonCart",))) == "AmazonCart"


def test_strip_keeps_other_tags() -> None:
    assert strip("#carts #cartel #sale") == "#carts #cartel #sale"


def test_strip_removes_a_run_of_signs() -> None:
    assert strip("##cart ＃#cart") == "cart cart"


def test_strip_removes_signs_other_networks_might_read_as_a_tag() -> None:
    assert strip("x#cart &#cart #cart\u200dx #cart.x") == "xcart &cart cart\u200dx cart.x"


def test_strip_leaves_text_without_trigger_alone() -> None:
    assert strip("Order #1234 for $20 #sale") == "Order #1234 for $20 #sale"


def test_no_code_point_decomposes_longer_than_strip_assumes() -> None:
    # strip_trigger_tags only looks this far past a sign (normal forms shrink at most 4x).
    longest = max(len(unicodedata.normalize("NFD", chr(cp))) for cp in range(sys.maxunicode + 1))
    assert longest <= 4


# properties

TRIGGERISH = st.sampled_from(
    [
        "#", "＃", "cart", "CART", "ｃａｒｔ", "Cart", "wishlist", "AmazonCart", "s", "el",
        " ", "  ", "\n", "\t", "\u200d", "\u200b", "\u0301", "\ufe0f", "\u20e3", "&", "_", ".",
        ":", "/", "https://", "x.co/", "@", "$", "€", "%", "x", "X", "×", "qty", "qty:",
        "0", "1", "2", "99", "100", "9" * 50,
    ]
)  # fmt: skip
TRIGGERISH_TEXT = st.lists(st.one_of(TRIGGERISH, st.text(max_size=4)), max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(), TRIGGERISH_TEXT)
SOME_WORDS = st.sampled_from(
    [
        WORDS,
        TriggerWords(cart=("AmazonCart",), wishlist=("wishlist", "Wunschzettel")),
        TriggerWords(cart=("cart", "cartcart"), wishlist=("carts",)),
    ]
)


@given(
    ANY_TEXT,
    st.one_of(st.none(), st.lists(ANY_TEXT, max_size=3)),
    SOME_WORDS,
    st.integers(1, 10**6),
)
def test_parse_never_raises_and_keeps_quantity_and_position_in_range(
    text: str, tags: list[str] | None, words: TriggerWords, cap: int
) -> None:
    request = parse_trigger(text, tags, words, cap)
    if request is not None:
        assert 1 <= request.quantity <= cap
        assert request.position is None or 1 <= request.position <= 99
        assert words.kind_of(request.tag) == request.kind


@given(ANY_TEXT, SOME_WORDS)
def test_stripped_text_never_triggers(text: str, words: TriggerWords) -> None:
    assert parse_trigger(strip_trigger_tags(text, words), None, words, CAP) is None


@given(ANY_TEXT, SOME_WORDS)
def test_strip_only_removes_hash_signs(text: str, words: TriggerWords) -> None:
    def unsigned(s: str) -> str:
        return s.replace("#", "").replace("＃", "")

    stripped = strip_trigger_tags(text, words)
    assert unsigned(stripped) == unsigned(text)
    assert strip_trigger_tags(stripped, words) == stripped


@given(
    st.integers(1, 10**30), st.sampled_from(["#cart x{}", "{}x #cart", "#cart qty {}", "{}× #cart"])
)
def test_quantity_is_the_number_written_up_to_the_cap(n: int, form: str) -> None:
    assert quantity(form.format(n)) == min(n, CAP)


@given(
    st.integers(1, 99),
    st.sampled_from(["#cart {}", "#Cart #{}", "＃ｃａｒｔ {}!", "#wishlist {} x2"]),
)
def test_bare_number_after_the_tag_is_the_position(n: int, form: str) -> None:
    request = parse(form.format(n))
    assert request is not None and request.position == n


@given(st.text(alphabet=string.ascii_letters, min_size=1))
def test_normal_form_ignores_ascii_case_and_width(tag: str) -> None:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in tag)
    assert normalize_tag(tag.upper()) == normalize_tag(fullwidth) == tag.lower()
