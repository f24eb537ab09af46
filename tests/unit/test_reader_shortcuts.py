"""What the post readers keep or ask more cheaply answers as before: a kind's tags' normal
forms made once a configuration (domain/triggers `TriggerWords.normal_forms_of`, asked by
the confirm and order readers for every post), and a Mastodon account id's white space
found by one regex search (networks/limits)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from hashcart.domain.posts import Network
from hashcart.domain.triggers import TriggerWords, normalize_tag
from hashcart.networks import limits


def test_a_kinds_normal_forms_are_its_tags_normalized() -> None:
    words = TriggerWords.of(
        {"cart": ("Cart", "ＫＡＲＴ"), "confirm": ("Confirm", "ok"), "order_status": ()}
    )
    for kind in ("cart", "confirm", "order_status", "absent"):
        expected = {normalize_tag(tag) for tag in words.tags_of(kind)}
        assert words.normal_forms_of(kind) == frozenset(expected)


def test_the_white_space_regex_is_str_isspace_on_every_code_point() -> None:
    space = re.compile(r"\s")
    assert [
        c for c in range(0x110000) if (space.search(chr(c)) is not None) != chr(c).isspace()
    ] == []


@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40))
def test_a_mastodon_account_id_with_white_space_is_refused_as_before(account: str) -> None:
    problem = limits._account_problem(Network.MASTODON, account)
    if not account:
        assert problem == "author id is empty"
    elif any(character.isspace() for character in account):
        assert problem is not None and problem.endswith("contains white space")
    else:
        assert problem is None
