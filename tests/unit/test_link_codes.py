"""The link-code grammar: codes, link tags, and which posts ask to link."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hashcart.config import Settings
from hashcart.domain.link_codes import (
    ALPHABET,
    CODE_LENGTH,
    LinkRequest,
    LinkWords,
    new_code,
    parse_link_request,
    read_code,
)
from hashcart.domain.products import ShopHosts
from hashcart.domain.triggers import TriggerWords
from hashcart.networks.prefilter import Prefilter

WORDS = LinkWords.of(("cartlink",), TriggerWords())


def test_new_codes_are_eight_crockford_characters_and_differ() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(ALPHABET)
        assert not set(code) & set("ILOU")


@given(code=st.text(alphabet=ALPHABET, min_size=CODE_LENGTH, max_size=CODE_LENGTH))
def test_a_code_reads_back_however_its_case_and_hyphens(code: str) -> None:
    assert read_code(code) == code
    assert read_code(code.lower()) == code
    assert read_code(f"{code[:4]}-{code[4:]}".lower()) == code


def test_letters_that_look_like_digits_read_as_those_digits() -> None:
    assert read_code("K7Q2M9XO") == "K7Q2M9X0"
    assert read_code("i7q2m9xl") == "17Q2M9X1"


@pytest.mark.parametrize("written", ["K7Q2M9X", "K7Q2M9XDD", "K7Q2M9XU", "K7Q2M9X!", ""])
def test_what_is_no_code_reads_as_none(written: str) -> None:
    assert read_code(written) is None


@pytest.mark.parametrize(
    ("text", "tags", "expected"),
    [
        ("#cartlink K7Q2M9XD", None, LinkRequest("K7Q2M9XD")),
        ("linking: #CartLink k7q2-m9xd thanks", None, LinkRequest("K7Q2M9XD")),
        ("#cartlink: K7Q2M9XD", None, LinkRequest("K7Q2M9XD")),
        ("＃ｃａｒｔｌｉｎｋ K7Q2M9XD", None, LinkRequest("K7Q2M9XD")),
        ("#cartlink K7Q2M9XD", ("cartlink",), LinkRequest("K7Q2M9XD")),
        ("#cartlink hello", None, LinkRequest(None)),
        ("#cartlink", None, LinkRequest(None)),
        ("outline tag only K7Q2M9XD", ("cartlink",), LinkRequest(None)),
        ("#cartlinks K7Q2M9XD", None, None),
        ("cartlink K7Q2M9XD", None, None),
        ("#cart K7Q2M9XD", None, None),
        ("https://shop.example/#cartlink K7Q2M9XD", None, None),
        ("#cartlink K7Q2M9XD", (), None),  # the payload's tags say there is none
        ("#cartlink K7Q2M9XD", ("other",), None),
    ],
)
def test_which_posts_ask_to_link_and_with_what_code(
    text: str, tags: tuple[str, ...] | None, expected: LinkRequest | None
) -> None:
    assert parse_link_request(text, tags, WORDS) == expected


def test_a_non_ascii_link_tag_is_found_too() -> None:
    words = LinkWords.of(("verknüpfen",), TriggerWords())
    assert parse_link_request("#Verknüpfen K7Q2M9XD", None, words) == LinkRequest("K7Q2M9XD")


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        (("cart",), "also a cart or wish-list trigger tag"),
        (("CART",), "also a cart or wish-list trigger tag"),
        (("WishList",), "also a cart or wish-list trigger tag"),
        (("#cartlink",), "not a hashtag"),
        (("cart link",), "not a hashtag"),
        ((), "at least one tag"),
    ],
)
def test_link_tags_must_be_hashtags_apart_from_the_trigger_tags(
    tags: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        LinkWords.of(tags, TriggerWords())


def test_settings_refuse_a_link_tag_that_is_a_trigger_tag() -> None:
    with pytest.raises(ValidationError, match="also a cart or wish-list trigger tag"):
        Settings(cart_tags=("cart", "buy"), link_tags=("buy",))
    assert Settings(link_tags=("joinshop",)).link_tags == ("joinshop",)


def test_the_prefilter_lets_link_posts_through_by_their_tag() -> None:
    prefilter = Prefilter.for_shop(TriggerWords(), ShopHosts(["shop.example"]), ("cartlink",))
    assert prefilter.wants(b'{"text":"#CartLink K7Q2M9XD"}')
    assert not prefilter.wants(b'{"text":"#cartlinks K7Q2M9XD"}')
    without_link_tags = Prefilter.for_shop(TriggerWords(), ShopHosts(["shop.example"]))
    assert not without_link_tags.wants(b'{"text":"#cartlink K7Q2M9XD"}')
