"""Record keys for replies: valid TIDs (atproto.com/specs/tid), one per dedupe key."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from hashcart.networks.bluesky.tid import encode_tid, is_tid, tid_for, tid_timestamp_us

# The spec's own check: 13 base32-sortable characters, the first with the top bit clear.
SPEC = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


@given(st.text())
def test_every_key_gives_a_valid_tid(key: str) -> None:
    tid = tid_for(key)
    assert SPEC.match(tid) and is_tid(tid)


@given(st.text(), st.text())
def test_the_same_key_gives_the_same_tid_and_others_another(first: str, second: str) -> None:
    assert tid_for(first) == tid_for(first)
    if first != second:
        assert tid_for(first) != tid_for(second)


def test_tids_sort_as_their_timestamps() -> None:
    assert encode_tid(0, 0) == "2222222222222"
    assert encode_tid(1, 0) < encode_tid(1, 1) < encode_tid(2, 0)
    assert encode_tid(2**53 - 1, 1023) == "bzzzzzzzzzzzz"  # the top bit stays 0


def test_the_spec_examples_are_tids_and_others_are_not() -> None:
    assert is_tid("3jzfcijpj2z2a")
    assert is_tid("7777777777777")
    too_short, too_long, top_bit, bad_char, upper = (
        "3jzfcijpj2z2",
        "3jzfcijpj2z2aa",
        "zzzfcijpj2z2a",
        "3jzfcijpj2z21",
        "3JZFCIJPJ2Z2A",
    )
    for bad in (too_short, too_long, top_bit, bad_char, upper):
        assert not is_tid(bad)


def test_derived_timestamps_are_in_the_past() -> None:
    value = 0
    for char in tid_for("added:at://did:plc:x/app.bsky.feed.post/1"):
        value = value * 32 + "234567abcdefghijklmnopqrstuvwxyz".index(char)
    seconds = (value >> 10) / 1_000_000
    assert 1_672_531_200 <= seconds < 1_735_689_600  # 2023-01-01 .. 2025-01-01


@given(st.integers(0, 2**53 - 1), st.integers(0, 1023))
def test_a_tids_timestamp_reads_back(timestamp_us: int, clock_id: int) -> None:
    """atproto.com/specs/tid: 53 bits of microseconds, then a 10-bit clock id."""
    assert tid_timestamp_us(encode_tid(timestamp_us, clock_id)) == timestamp_us
