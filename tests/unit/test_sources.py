"""Reading in blocks of whole lines: every line comes back whole and in order, and a huge
line is cut off safely without losing the lines around it."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from hashcart.sources import MAX_LINE_BYTES, Oversized, blocks_of, read_blocks


def lines_of(blocks: list[bytes]) -> list[bytes]:
    found: list[bytes] = []
    for block in blocks:
        if isinstance(block, Oversized):
            found.append(block)
        else:
            assert block.endswith(b"\n") or block is blocks[-1]
            found += block.split(b"\n")[: -1 if block.endswith(b"\n") else None]
    return found


def test_blocks_hold_whole_lines_including_a_last_line_without_a_newline() -> None:
    blocks = list(read_blocks(io.BytesIO(b'{"a":1}\n\n{"b":2}'), block_bytes=4))
    assert lines_of(blocks) == [b'{"a":1}', b"", b'{"b":2}']


@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    block=st.integers(1, 64),
)
def test_any_block_size_gives_the_same_lines(lines: list[bytes], block: int) -> None:
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    assert lines_of(list(read_blocks(io.BytesIO(data), block_bytes=block))) == lines


def test_a_line_over_one_mebibyte_becomes_an_oversized_marker_and_the_next_line_survives() -> None:
    huge = b"{" + b" " * (MAX_LINE_BYTES + 10) + b"}"
    data = b'{"before":1}\n' + huge + b'\n{"after":2}\n'
    found = lines_of(list(read_blocks(io.BytesIO(data), block_bytes=64 * 1024)))
    assert found[0] == b'{"before":1}'
    assert isinstance(found[1], Oversized) and found[1].startswith(b"{  ")
    assert len(found[1]) < 10_000
    assert found[2:] == [b'{"after":2}']


def test_a_long_line_carried_across_reads_is_caught_when_its_newline_arrives() -> None:
    huge = b"{" + b" " * (MAX_LINE_BYTES - 100) + b"}"  # each read sees part of it
    data = b'{"before":1}\n' + huge + b" " * 200 + b'\n{"after":2}\n'
    found = lines_of(list(read_blocks(io.BytesIO(data), block_bytes=300_000)))
    assert [isinstance(line, Oversized) for line in found] == [False, True, False]


def test_a_line_of_exactly_one_mebibyte_is_allowed() -> None:
    line = b"x" * MAX_LINE_BYTES
    found = lines_of(list(read_blocks(io.BytesIO(line + b"\n"), block_bytes=1000)))
    assert found == [line] and not isinstance(found[0], Oversized)


def test_an_oversized_last_line_without_a_newline_is_still_reported() -> None:
    found = list(read_blocks(io.BytesIO(b"y" * (MAX_LINE_BYTES + 1)), block_bytes=4096))
    assert len(found) == 1 and isinstance(found[0], Oversized)


def test_lines_in_memory_become_blocks_with_oversized_markers_in_place() -> None:
    marker = Oversized(b"{")
    assert lines_of(list(blocks_of([b"a", b"b", marker, b"c"]))) == [b"a", b"b", marker, b"c"]
