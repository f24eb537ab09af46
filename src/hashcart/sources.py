"""Reading payload lines from files or standard input without trusting their length."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from hashcart.services.ingest import MAX_LINE_BYTES, Oversized

BLOCK_BYTES = 256 * 1024  # measured: larger blocks fall out of the CPU cache and slow down
OVERSIZED_HEAD_BYTES = 4096


def read_lines(stream: BinaryIO, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Each line of `stream`, without its newline.

    Reads big blocks and splits them; `chain` hands the lines out at C speed (a generator
    step or a readline per line would cost more than the prefilter). A line over
    MAX_LINE_BYTES becomes an Oversized holding its start; the rest of it is read past and
    dropped, so a huge line never sits in memory whole.
    """
    return chain.from_iterable(_blocks_of_lines(stream, block_bytes))


def _blocks_of_lines(stream: BinaryIO, block_bytes: int) -> Iterator[list[bytes]]:
    read = stream.read
    carry = b""
    oversized: Oversized | None = None  # set while skipping the rest of a huge line
    while True:
        block = read(block_bytes)
        if not block:
            break
        if oversized is not None:
            newline = block.find(b"\n")
            if newline < 0:
                continue
            yield [oversized]
            oversized = None
            block = block[newline + 1 :]
        lines = block.split(b"\n")
        if carry:
            lines[0] = carry + lines[0]
        carry = lines.pop()
        if lines and max(map(len, lines)) > MAX_LINE_BYTES:  # one C pass; rarely true
            lines = [_bounded(line) for line in lines]
        yield lines
        if len(carry) > MAX_LINE_BYTES:
            oversized, carry = Oversized(carry[:OVERSIZED_HEAD_BYTES]), b""
    if oversized is not None:
        yield [oversized]
    elif carry:
        yield [_bounded(carry)]


def _bounded(line: bytes) -> bytes:
    return line if len(line) <= MAX_LINE_BYTES else Oversized(line[:OVERSIZED_HEAD_BYTES])
