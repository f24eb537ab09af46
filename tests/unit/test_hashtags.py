"""Hashtag extraction: the twitter-text rules that decide whether `#cart` is a hashtag at all.

The full conformance suite runs in tests/integration/test_twitter_text_conformance.py;
these pin each rule on its own, including the ones the suite does not spell out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hashcart.domain.hashtags import (
    _VALID_ASCII_HASHTAG,
    HASH_SIGNS,
    _valid_hashtag,
    extract_hashtags,
    hashtags,
    url_spans,
)


def test_hashtag_gives_tag_without_sign_and_code_point_indices() -> None:
    assert extract_hashtags("buy #cart now") == [("cart", 4, 9)]


def test_text_without_a_sign_has_no_hashtags() -> None:
    assert extract_hashtags("cart and wishlist") == []


def test_fullwidth_sign_starts_a_hashtag() -> None:
    assert extract_hashtags("＃cart") == [("cart", 0, 5)]


def test_fullwidth_letters_stay_as_written() -> None:
    assert hashtags("＃ｃａｒｔ") == ["ｃａｒｔ"]


def test_indices_count_astral_characters_as_one() -> None:
    assert extract_hashtags("\U0001f600 #cart") == [("cart", 2, 7)]


def test_digits_only_is_not_a_hashtag() -> None:
    assert hashtags("#2 #16 #_1") == []


def test_digits_with_a_letter_are_a_hashtag() -> None:
    assert hashtags("#2x #x2") == ["2x", "x2"]


def test_sign_after_a_letter_is_not_a_hashtag() -> None:
    assert hashtags("mycart#cart") == []


def test_sign_after_an_ampersand_is_not_a_hashtag() -> None:
    assert hashtags("&#cart; &#39;") == []


def test_sign_after_punctuation_is_a_hashtag() -> None:
    assert hashtags("(#cart) ,#cart") == ["cart", "cart"]


def test_hashtag_followed_by_another_sign_is_not_one() -> None:
    assert hashtags("#cart#wishlist") == []


def test_hashtag_followed_by_scheme_separator_is_not_one() -> None:
    assert hashtags("#https://example.com") == []


def test_hashtag_inside_a_link_with_scheme_is_not_one() -> None:
    assert hashtags("https://shop.example/item/#cart") == []


def test_hashtag_inside_a_link_without_scheme_is_not_one() -> None:
    assert hashtags("shop.example/#cart") == []


def test_hashtag_after_a_link_is_one() -> None:
    assert hashtags("https://shop.example/item #cart") == ["cart"]


def test_keycap_emoji_is_not_a_hashtag() -> None:
    assert hashtags("#\ufe0f\u20e3cart #\u20e3cart") == []


def test_hashtag_after_emoji_variation_selector_is_one() -> None:
    assert hashtags("\u2764\ufe0f#cart") == ["cart"]


def test_combining_marks_belong_to_the_tag() -> None:
    assert hashtags("#cafe\u0301 #e\u0301cart") == ["cafe\u0301", "e\u0301cart"]


def test_zero_width_joiner_belongs_to_the_tag() -> None:
    assert hashtags("#ca\u200drt") == ["ca\u200drt"]


def test_zero_width_space_ends_the_tag() -> None:
    assert hashtags("#ca\u200brt") == ["ca"]


def test_second_sign_of_a_double_sign_starts_the_hashtag() -> None:
    # twitter-text: the first sign is the character before the hashtag.
    assert extract_hashtags("##cart") == [("cart", 1, 6)]


def test_url_spans_find_links_with_and_without_scheme() -> None:
    text = "see https://a.example/x and shop.example/y?q=1 not a.b"
    assert [text[start:end] for start, end in url_spans(text)] == [
        "https://a.example/x",
        "shop.example/y?q=1",
    ]


@given(st.text())
def test_extraction_never_raises_and_indices_point_at_the_tag(text: str) -> None:
    previous_end = 0
    for tag, start, end in extract_hashtags(text):
        assert previous_end <= start
        assert text[start] in HASH_SIGNS
        assert text[start + 1 : end] == tag
        assert any(_is_letter_or_mark(c) for c in tag)
        previous_end = end


@given(st.lists(st.sampled_from(["#", "＃", "cart", "1", " ", "&", "/", "://", "x.co/", "é", "_"])))
def test_hashtag_rules_hold_on_tag_like_text(fragments: list[str]) -> None:
    text = "".join(fragments)
    for tag, start, end in extract_hashtags(text):
        assert text[start + 1 : end] == tag
        assert any(_is_letter_or_mark(c) for c in tag)
        assert not text.startswith(("#", "＃", "://"), end)
        assert start == 0 or text[start - 1] != "&"


def _is_letter_or_mark(char: str) -> bool:
    # twitter-text also counts a private-use block (U+F870..U+F8D6) as letters.
    return unicodedata.category(char)[0] in "LM" or "\uf870" <= char <= "\uf8d6"


# Any ASCII, and (found far more often) text made of the characters that decide where a
# hashtag starts and ends: signs, letters, digits, joiners, `&`, link punctuation, spaces.
_ASCII_TAGGY = st.text(st.characters(max_codepoint=127)) | st.text(alphabet="#&_aZ09/:. -@")


@settings(max_examples=500)
@given(_ASCII_TAGGY)
@example("_#cart a#b &#39; #_1 #1a_ #cart#x #cart://x x.co/#cart")
def test_ascii_text_finds_what_the_full_unicode_pattern_finds(text: str) -> None:
    # ASCII text skips building the full pattern (a quarter of a second at every start):
    # the shortcut must find exactly the same hashtags.
    assert text.isascii()
    full = [(m.group(3), m.start(2), m.end()) for m in _valid_hashtag().finditer(text)]
    short = [(m.group(3), m.start(2), m.end()) for m in _VALID_ASCII_HASHTAG.finditer(text)]
    assert short == full


def test_ascii_trigger_tags_are_checked_without_building_the_full_pattern() -> None:
    # The start-up cost this avoids: settings check their tags at every command.
    code = (
        "from hashcart.config import Settings; from hashcart.domain import hashtags; "
        "Settings(cart_tags=('cart', 'AmazonCart'), wishlist_tags=('wish_list2',)); "
        "print(hashtags._letter_and_numeral_classes.cache_info().currsize)"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert ran.stdout.strip() == "0"
