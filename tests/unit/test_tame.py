"""text_lengths.tame: every grapheme cut to MAX_GRAPHEME_CODE_POINTS code points, the rest of
the text as it was (its short cuts must give what the plain definition gives)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hashcart.domain.text_lengths import _GRAPHEME, MAX_GRAPHEME_CODE_POINTS, tame

COMBINING = "\u0301\u0308\u0323\u036f"


def _by_definition(text: str) -> str:
    return "".join(cluster[:MAX_GRAPHEME_CODE_POINTS] for cluster in _GRAPHEME.findall(text))


def test_a_stack_of_marks_is_cut_and_the_letters_around_it_stay() -> None:
    zalgo = "e" + "\u0301" * 40
    assert tame("a" + zalgo + "b") == "a" + "e" + "\u0301" * 15 + "b"
    assert tame(zalgo) == "e" + "\u0301" * 15


def test_text_with_no_long_grapheme_comes_back_unchanged() -> None:
    title = "Blue mug, 350 ml — 👩‍👩‍👧‍👦 family size"
    assert tame(title) is title
    assert tame("") == ""


@given(st.text(alphabet=st.sampled_from(["a", " ", "👍", "\u200d", "🏽", *COMBINING])))
def test_tame_is_the_cut_of_each_grapheme(text: str) -> None:
    assert tame(text) == _by_definition(text)
