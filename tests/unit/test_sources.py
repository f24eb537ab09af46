"""Reading lines in blocks: every line comes back whole, and huge lines are cut off safely."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from hashcart.services.ingest import MAX_LINE_BYTES, Oversized
from hashcart.sources import read_lines


def test_lines_come_back_without_their_newlines_including_a_last_line_without_one() -> None:
    assert list(read_lines(io.BytesIO(b'{"a":1}\n\n{"b":2}'))) == [b'{"a":1}', b"", b'{"b":2}']


@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    block=st.integers(1, 64),
)
def test_any_block_size_gives_the_same_lines(lines: list[bytes], block: int) -> None:
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    assert list(read_lines(io.BytesIO(data), block_bytes=block)) == lines


def test_a_line_over_one_mebibyte_becomes_an_oversized_marker_and_the_next_line_survives() -> None:
    huge = b"{" + b" " * (MAX_LINE_BYTES + 10) + b"}"
    data = b'{"before":1}\n' + huge + b'\n{"after":2}\n'
    found = list(read_lines(io.BytesIO(data), block_bytes=64 * 1024))
    assert found[0] == b'{"before":1}'
    assert isinstance(found[1], Oversized) and found[1].startswith(b"{  ")
    assert len(found[1]) < 10_000
    assert found[2] == b'{"after":2}'


def test_a_line_of_exactly_one_mebibyte_is_allowed() -> None:
    line = b"x" * MAX_LINE_BYTES
    [found] = list(read_lines(io.BytesIO(line + b"\n"), block_bytes=1000))
    assert not isinstance(found, Oversized) and found == line


def test_an_oversized_last_line_without_a_newline_is_still_reported() -> None:
    found = list(read_lines(io.BytesIO(b"y" * (MAX_LINE_BYTES + 1)), block_bytes=4096))
    assert len(found) == 1 and isinstance(found[0], Oversized)
