"""Live sales' pure rules (issue 13): the claim grammar, the ranking, the settle window and the
allocation of an item's stock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashcart.domain.sales import (
    Claim,
    ClaimAction,
    ClaimWords,
    Outcome,
    RankedClaim,
    SaleInputError,
    allocate,
    is_settled,
    parse_claim,
    parse_item_option,
    parse_post_option,
    rank_key,
)

WORDS = ClaimWords()
T0 = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("sold 12", Claim(ClaimAction.CLAIM, "12")),
        ("claim 12", Claim(ClaimAction.CLAIM, "12")),
        ("SOLD 12", Claim(ClaimAction.CLAIM, "12")),
        ("Sold #12!", Claim(ClaimAction.CLAIM, "12")),
        ("12 red M", Claim(ClaimAction.CLAIM, "12", ("red", "m"))),
        ("sold 12 x2", Claim(ClaimAction.CLAIM, "12", (), 2)),
        ("sold 12 red 3x M", Claim(ClaimAction.CLAIM, "12", ("red", "m"), 3)),
        ("pass 12", Claim(ClaimAction.PASS, "12")),
        ("waitlist 12", Claim(ClaimAction.WAITLIST, "12")),
        ("@trailhead sold 12", Claim(ClaimAction.CLAIM, "12")),
        ("@trailhead 12 red M", Claim(ClaimAction.CLAIM, "12", ("red", "m"))),
        ("omg love it, sold 7 please", Claim(ClaimAction.CLAIM, "7", ("please",))),
        ("sold 012", Claim(ClaimAction.CLAIM, "12")),
        ("ｓｏｌｄ １２", Claim(ClaimAction.CLAIM, "12")),  # fullwidth, as NFKC reads it
        ("sold 12 #cute https://example.com/x", Claim(ClaimAction.CLAIM, "12")),
        ("sold 12 x999", Claim(ClaimAction.CLAIM, "12", (), 99)),
    ],
)
def test_claim_grammar_reads_every_form(text: str, claim: Claim) -> None:
    assert parse_claim(text, WORDS) == claim


@pytest.mark.parametrize(
    "text",
    [
        "",
        "love this",
        "I have 2 kids",
        "sold out?",
        "sold",
        "12345678 is my number",
        "resold 12",
        "sold12",
        "x2",
        "@trailhead",
    ],
)
def test_text_that_is_no_claim(text: str) -> None:
    assert parse_claim(text, WORDS) is None


def test_claim_words_are_the_shops_settings() -> None:
    words = ClaimWords(claim=("mine", "Ich"), passing=("drop",), waitlist=("queue",))
    assert parse_claim("MINE 4", words) == Claim(ClaimAction.CLAIM, "4")
    assert parse_claim("ich 4", words) == Claim(ClaimAction.CLAIM, "4")
    assert parse_claim("drop 4", words) == Claim(ClaimAction.PASS, "4")
    assert parse_claim("queue 4", words) == Claim(ClaimAction.WAITLIST, "4")
    assert parse_claim("sold 4", words) is None


def test_one_word_for_two_actions_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="configured for"):
        ClaimWords(claim=("sold",), passing=("SOLD",))
    with pytest.raises(ValueError, match="one word"):
        ClaimWords(claim=("sold it",))


_verbs = st.sampled_from(["sold", "claim", "pass", "waitlist"])
_case = st.sampled_from([str.lower, str.upper, str.title])
_variant_words = st.lists(st.sampled_from(["red", "blue", "m", "xl", "navy"]), max_size=3)


@settings(max_examples=300, deadline=None)
@given(
    verb=st.one_of(st.none(), _verbs),
    case=_case,
    item=st.integers(1, 999_999),
    hash_sign=st.booleans(),
    words=_variant_words,
    quantity=st.one_of(st.none(), st.integers(1, 99)),
    mention=st.booleans(),
)
def test_a_written_claim_reads_back_as_written(
    verb: str | None,
    case: object,
    item: int,
    hash_sign: bool,
    words: list[str],
    quantity: int | None,
    mention: bool,
) -> None:
    """Property: any claim written in the grammar parses back to its parts, on every case."""
    apply = case if callable(case) else str.lower
    parts = ["@trailhead"] if mention else []
    if verb is not None:
        parts.append(apply(verb))
    parts.append(("#" if hash_sign else "") + str(item))
    parts += [apply(word) for word in words]
    if quantity is not None:
        parts.append(f"x{quantity}")
    action = ClaimAction.CLAIM
    if verb == "pass":
        action = ClaimAction.PASS
    elif verb == "waitlist":
        action = ClaimAction.WAITLIST
    claimed = action is ClaimAction.CLAIM
    expected = Claim(
        action,
        str(item),
        tuple(words) if claimed else (),
        (quantity or 1) if claimed else 1,
    )
    assert parse_claim(" ".join(parts), WORDS) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_is_no_claim(text: str) -> None:
    """Property: the parser never raises, and a claim it finds is well formed."""
    claim = parse_claim(text, WORDS)
    if claim is not None:
        assert claim.item.isdigit() and not claim.item.startswith("0")
        assert 1 <= claim.quantity <= 99


def test_ranking_is_platform_time_then_post_id_by_number() -> None:
    later = rank_key(T0 + timedelta(seconds=1), "5")
    assert rank_key(T0, "900") < later
    assert rank_key(T0, "9") < rank_key(T0, "10")  # X and Mastodon ids by number
    assert rank_key(T0, "at://did:plc:a/app.bsky.feed.post/3ka") < rank_key(
        T0, "at://did:plc:a/app.bsky.feed.post/3kb"
    )


def test_a_claim_settles_once_the_window_past_its_own_time_has_passed() -> None:
    window = timedelta(seconds=3)
    assert not is_settled(T0, T0 + timedelta(seconds=2.999), window)
    assert is_settled(T0, T0 + window, window)


def _claim(key: int, shopper: str, quantity: int = 1, seconds: float = 0) -> RankedClaim:
    return RankedClaim(key, shopper, quantity, rank_key(T0 + timedelta(seconds=seconds), str(key)))


def test_allocation_serves_rank_order_up_to_the_stock() -> None:
    claims = [_claim(3, "c", seconds=2), _claim(1, "a"), _claim(2, "b", seconds=1)]
    result = allocate(claims, free=2, limit=None)
    assert result.outcomes == {1: Outcome.WON, 2: Outcome.WON, 3: Outcome.WAITLISTED}
    assert result.left == 0


def test_allocation_keeps_each_shopper_to_the_limit() -> None:
    claims = [_claim(1, "a"), _claim(2, "a", seconds=1), _claim(3, "b", seconds=2)]
    result = allocate(claims, free=5, limit=1)
    assert result.outcomes == {1: Outcome.WON, 2: Outcome.LIMIT, 3: Outcome.WON}
    held = allocate([_claim(4, "b")], free=5, limit=1, held_by={"b": 1})
    assert held.outcomes == {4: Outcome.LIMIT}


def test_a_claim_for_more_than_is_left_takes_none_of_it() -> None:
    claims = [_claim(1, "a", quantity=3), _claim(2, "b", seconds=1)]
    result = allocate(claims, free=2, limit=None)
    assert result.outcomes == {1: Outcome.WAITLISTED, 2: Outcome.WON}


@settings(max_examples=200, deadline=None)
@given(
    times=st.lists(st.integers(0, 20), min_size=1, max_size=30),
    stock=st.integers(0, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_winners_are_the_first_by_platform_time_whatever_the_order(
    times: list[int], stock: int, seed: int
) -> None:
    """Property: one-unit claims of distinct shoppers, shuffled and duplicated: the winners
    are exactly the first `stock` by (time, post id), the same for every arrival order."""
    claims = [_claim(i, f"s{i}", seconds=t) for i, t in enumerate(times)]
    arrived = claims + random.Random(seed).sample(claims, k=len(claims) // 2)
    random.Random(seed + 1).shuffle(arrived)
    won = {k for k, o in allocate(arrived, free=stock, limit=None).outcomes.items() if o == "won"}
    first = {c.key for c in sorted(claims, key=lambda c: c.rank)[:stock]}
    assert won == first


def test_item_and_post_options() -> None:
    assert parse_item_option("12=mug:5") == ("12", "mug", 5)
    assert parse_item_option("07=tee-red-m") == ("7", "tee-red-m", None)
    with pytest.raises(SaleInputError, match="NUMBER=PRODUCT_ID"):
        parse_item_option("mug")
    networks = ("x", "mastodon", "bluesky")
    assert parse_post_option("bluesky:at://did:plc:a/app.bsky.feed.post/3k", networks) == (
        "bluesky",
        "at://did:plc:a/app.bsky.feed.post/3k",
    )
    with pytest.raises(SaleInputError, match="NETWORK:POST_ID"):
        parse_post_option("myspace:1", networks)
