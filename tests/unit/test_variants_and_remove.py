"""The pure rules of issue 12's "Also": which variant a reply's words pick (domain/variants),
the words a trigger carries and the `#cart remove` word (domain/triggers), the variant
columns of a feed (services/catalog), and the removed / which_variant messages within each
network's length limit (domain/messages)."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashcart.config import Settings
from hashcart.domain.kinds import KINDS, REMOVE, Grammar
from hashcart.domain.messages import MessageContext, Reason, compose, reference
from hashcart.domain.posts import Network
from hashcart.domain.text_lengths import TextLimit, limit_for
from hashcart.domain.triggers import (
    MAX_CHOICE_WORDS,
    TriggerWords,
    _has_control,
    parse_trigger,
    parse_trigger_and_words,
    strip_trigger_tags,
)
from hashcart.domain.variants import Options, Variant, VariantGroups, shared_title
from hashcart.services.catalog import FeedRow, RowProblem, read_feed

WORDS = TriggerWords.of(
    KINDS.tags_by_kind(Settings(), Grammar.REPLY), KINDS.words_after(Settings())
)
TEE = VariantGroups(
    [
        Variant("tee-blue-l", "T", "Blue", "L"),
        Variant("tee-navy-m", "T", "Navy Blue", "M"),
        Variant("tee-red-m", "T", "Red", "M"),
        Variant("tee-red-s", "T", "Red", "S"),
        Variant("mug", "MUG"),  # a group of one is no choice
    ]
)


def words_of(text: str) -> tuple[str, ...]:
    parsed = parse_trigger_and_words(text, None, WORDS, 10)
    assert parsed is not None
    return parsed[1]


# --- the remove kind's word ---------------------------------------------------------------


def test_remove_and_undo_right_after_the_cart_tag_ask_for_the_remove_kind() -> None:
    for text in ("#cart remove", "#cart undo", "#CART Remove!", "＃cart ｕｎｄｏ"):
        request = parse_trigger(text, None, WORDS, 10)
        assert request is not None and request.kind == "remove", text


def test_the_position_after_the_word_still_counts() -> None:
    request = parse_trigger("#cart remove 2", None, WORDS, 10)
    assert request is not None and (request.kind, request.position) == ("remove", 2)


def test_the_word_elsewhere_or_glued_is_a_cart_request() -> None:
    for text in ("#cart please remove", "#cart removed", "#cart remove_it", "#wishlist remove"):
        request = parse_trigger(text, None, WORDS, 10)
        assert request is not None and request.kind != "remove", text


def test_the_word_with_a_zero_width_space_is_not_the_word() -> None:
    request = parse_trigger("#cart re\u200bmove", None, WORDS, 10)
    assert request is not None and request.kind == "cart"


def test_the_remove_kind_adds_no_tag_anywhere() -> None:
    assert "remove" not in WORDS.every_tag and "undo" not in WORDS.every_tag
    assert REMOVE.name not in KINDS.tags_by_kind(Settings())
    # Our own replies never carry the word as a tag either: only trigger tags are stripped.
    assert strip_trigger_tags("#remove", WORDS) == "#remove"


# --- choice words -------------------------------------------------------------------------


def test_choice_words_leave_out_the_tag_links_mentions_quantity_and_position() -> None:
    text = "@trailhead #cart 2 Red, M x3 https://shop.example/products/tee #sale"
    assert words_of(text) == ("red", "m")


def test_choice_words_are_in_normal_form() -> None:
    assert words_of("#cart ＲＥＤ Ｍ") == ("red", "m")


def test_a_cyrillic_letter_stays_itself() -> None:
    assert words_of("#cart \u041c") == ("\u043c",)  # not "m"


def test_words_holding_control_or_format_characters_are_dropped() -> None:
    assert words_of("#cart M\u200b L\x00 XL\u202e S") == ("s",)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=20))
def test_an_ascii_word_holds_a_control_exactly_when_a_character_is_category_c(word: str) -> None:
    """ASCII words are checked with one call, not a category a character (every word of
    every trigger); the answer stays the categories'."""
    expected = any(unicodedata.category(char)[0] == "C" for char in word)
    assert _has_control(word) == expected


def test_choice_words_are_bounded() -> None:
    assert len(words_of("#cart " + "red " * 10_000)) == MAX_CHOICE_WORDS
    assert words_of("#cart " + "r" * 41 + " m") == ("m",)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text_gives_bounded_clean_words(tail: str) -> None:
    words = words_of("#cart " + tail)
    assert len(words) <= MAX_CHOICE_WORDS
    for word in words:
        assert word and " " not in word and "\x00" not in word
        assert word == word.casefold()


# --- which variant the words pick ---------------------------------------------------------


def test_words_that_name_one_variant_pick_it() -> None:
    assert TEE.choose("tee-red-s", ("red", "m")) == "tee-red-m"
    assert TEE.choose("tee-red-s", ("m", "please", "red")) == "tee-red-m"


def test_a_longer_value_wins_over_one_inside_it() -> None:
    assert TEE.choose("tee-red-s", ("navy", "blue", "m")) == "tee-navy-m"
    assert TEE.choose("tee-red-s", ("blue",)) == "tee-blue-l"


def test_words_that_settle_nothing_give_the_options_still_possible() -> None:
    assert TEE.choose("tee-red-s", ("red",)) == Options("tee-red-s", (), ("S", "M"), ("M",))
    assert TEE.choose("tee-red-s", ("m",)) == Options(
        "tee-red-s", ("Navy Blue", "Red"), (), ("Navy Blue",)
    )


def test_no_words_or_unknown_ones_offer_the_whole_group() -> None:
    whole = Options("tee-red-s", ("Blue", "Navy Blue", "Red"), ("S", "M", "L"), ("Blue", "L"))
    assert TEE.choose("tee-red-s", ()) == whole
    assert TEE.choose("tee-red-s", ("purple", "xl")) == whole


def test_two_colours_are_a_question_even_when_one_has_the_size() -> None:
    assert isinstance(TEE.choose("tee-red-s", ("red", "blue", "m")), Options)


def test_a_product_without_a_group_is_itself() -> None:
    assert TEE.choose("mug", ("red",)) == "mug"
    assert TEE.choose("not-in-catalog", ()) == "not-in-catalog"


def test_a_group_counts_once_among_a_posts_products() -> None:
    assert TEE.collapse(["tee-red-m", "mug", "tee-navy-m"]) == ["tee-red-m", "mug"]


def test_rows_identical_in_colour_and_size_are_settled_by_the_first() -> None:
    twins = VariantGroups([Variant("b", "G", "Red", "M"), Variant("a", "G", "Red", "M")])
    assert twins.choose("b", ("red",)) == "a"


def test_sizes_are_offered_in_size_order() -> None:
    group = VariantGroups(
        [Variant(str(i), "G", None, size) for i, size in enumerate(["XL", "10", "S", "9", "M"])]
    )
    offered = group.choose("0", ())
    assert isinstance(offered, Options)
    assert offered.sizes == ("S", "M", "XL", "9", "10")


def test_the_shared_title_names_the_group() -> None:
    assert shared_title(["Trail Tee - Red / M", "Trail Tee - Blue / S"]) == "Trail Tee"
    assert shared_title(["Tank red", "Tan blue"]) is None
    assert shared_title(["Mug"]) is None


# --- the feed's variant columns -----------------------------------------------------------

HEADER = b"id,title,link,availability,item_group_id,color,size\n"


def test_the_feed_reads_the_variant_columns() -> None:
    [row] = list(read_feed(HEADER + b"t1,Tee,https://shop.example/p/t,in_stock,T,Red,M\n"))
    assert isinstance(row, FeedRow)
    assert (row.item_group_id, row.color, row.size) == ("T", "Red", "M")


def test_empty_variant_columns_are_none() -> None:
    [row] = list(read_feed(HEADER + b"t1,Tee,https://shop.example/p/t,in_stock,,,\n"))
    assert isinstance(row, FeedRow)
    assert (row.item_group_id, row.color, row.size) == (None, None, None)


def test_hostile_variant_values_are_row_problems() -> None:
    rows = list(
        read_feed(
            HEADER
            + b"a,Tee,https://shop.example/p/a,in_stock,"
            + b"G" * 51
            + b",Red,M\n"
            + b"b,Tee,https://shop.example/p/b,in_stock,T,"
            + b"r" * 101
            + b",M\n"
            + b"c,Tee,https://shop.example/p/c,in_stock,T,Red,M\xe2\x80\x8b\n"
            + b"d,Tee,https://shop.example/p/d,in_stock,T,Red\x00,M\n"
        )
    )
    assert all(isinstance(row, RowProblem) for row in rows), rows
    reasons = [row.reason for row in rows if isinstance(row, RowProblem)]
    assert "item_group_id is longer than 50 characters" in reasons[0]
    assert "color is longer than 100 characters" in reasons[1]
    assert "invisible" in reasons[2] and "invisible" in reasons[3]


# --- the messages, within every network's limit ------------------------------------------

TRIGGER = "1700000000000000042"


def _context() -> MessageContext:
    return MessageContext(
        "shopper",
        TRIGGER,
        "Trailhead Coffee",
        "https://shop.example/account",
        lambda text: strip_trigger_tags(text, WORDS),
    )


def _limit(network: Network) -> TextLimit:
    found = limit_for(network)
    assert found is not None
    return found


NETWORKS = st.sampled_from([Network.X, Network.BLUESKY, Network.MASTODON])
VALUES = st.lists(
    st.one_of(
        st.sampled_from(["Navy Blue", "故人西辞黄鹤楼", "👩‍👩‍👧‍👦", "\u202eRed", "#cart", "XL"]),
        st.text(min_size=1, max_size=60),
    ),
    min_size=2,
    max_size=60,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(colors=VALUES, sizes=VALUES, network=NETWORKS)
def test_which_variant_fits_any_network_whatever_the_catalog_says(
    colors: list[str], sizes: list[str], network: Network
) -> None:
    limit = _limit(network)
    text = compose(
        Reason.WHICH_VARIANT,
        _context(),
        title="Trail Tee",
        choices=(("color", colors), ("size", sizes)),
        example=(colors[0], sizes[0]),
        limit=limit,
    )
    assert limit.fits(text)
    assert text.endswith(f"(ref {reference(TRIGGER)})")
    assert "#cart" not in text.lower()


def test_a_long_list_is_cut_to_its_first_values_and_how_many_more() -> None:
    colors = [f"Colour number {i}" for i in range(40)]
    text = compose(
        Reason.WHICH_VARIANT,
        _context(),
        title="Trail Tee",
        choices=(("color", colors), ("size", ["S", "M"])),
        limit=_limit(Network.X),
    )
    assert "Colour number 0" in text and " more" in text
    assert "size S, M" in text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(min_size=1, max_size=300), network=NETWORKS)
def test_removed_and_not_in_cart_fit_any_network(title: str, network: Network) -> None:
    limit = _limit(network)
    for reason in (Reason.REMOVED, Reason.NOT_IN_CART):
        text = compose(reason, _context(), title=title, limit=limit)
        assert limit.fits(text)
        assert text.endswith(f"(ref {reference(TRIGGER)})")


COLOURS = ["Red", "Blue", "Navy Blue", "Forest Green", "Black"]
SIZES = ["XS", "S", "M", "L", "XL", "9", "10", "10.5"]
COMBOS = st.lists(
    st.tuples(st.sampled_from(COLOURS), st.sampled_from(SIZES)),
    min_size=2,
    max_size=12,
    unique=True,
)
NOISE = st.lists(st.sampled_from(["please", "thanks", "x", "one", "the", "in"]), max_size=3)


@settings(max_examples=200, deadline=None)
@given(combos=COMBOS, pick=st.integers(min_value=0), before=NOISE, after=NOISE)
def test_a_variants_colour_and_size_among_other_words_pick_exactly_it(
    combos: list[tuple[str, str]], pick: int, before: list[str], after: list[str]
) -> None:
    group = VariantGroups(Variant(f"p{i:02d}", "G", c, s) for i, (c, s) in enumerate(combos))
    index = pick % len(combos)
    colour, size = combos[index]
    words = tuple(w.casefold() for w in [*before, *colour.split(), size, *after])

    assert group.choose("p00", words) == f"p{index:02d}"


@settings(max_examples=200, deadline=None)
@given(combos=COMBOS, words=st.lists(st.text(max_size=12), max_size=8))
def test_any_words_pick_a_member_of_the_group_or_ask(
    combos: list[tuple[str, str]], words: list[str]
) -> None:
    group = VariantGroups(Variant(f"p{i:02d}", "G", c, s) for i, (c, s) in enumerate(combos))
    members = {f"p{i:02d}" for i in range(len(combos))}

    chosen = group.choose("p00", tuple(words))

    if isinstance(chosen, Options):
        assert chosen.colors or chosen.sizes
    else:
        assert chosen in members
