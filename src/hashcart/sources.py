"""Reading payload files or standard input in blocks of whole lines, never trusting a line's
length.

Ingest looks at lines inside these blocks by offset instead of splitting them: on posts of a
few kilobytes, allocating a bytes object per line costs more than the whole prefilter.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

MAX_LINE_BYTES = 1024 * 1024
BLOCK_BYTES = 256 * 1024  # measured: larger blocks fall out of the CPU cache and slow down
OVERSIZED_HEAD_BYTES = 4096


class Oversized(bytes):
    """Stands for a line longer than MAX_LINE_BYTES; it holds only the line's start."""


def read_blocks(stream: BinaryIO, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """`stream` as blocks of whole lines, each ending with a newline (the last one may not).

    A line over MAX_LINE_BYTES comes as an Oversized holding only its start, in its place
    among the blocks; the rest of it is read past in bounded pieces, so a huge line never
    sits in memory whole. No line inside a block is longer than MAX_LINE_BYTES.
    """
    # read1 returns what a pipe has now instead of waiting for a whole block, so a live
    # stream (`websocat … | hashcart ingest -`) is handled as it arrives; on a file it
    # reads whole blocks all the same.
    read = getattr(stream, "read1", stream.read)
    carry = b""  # the start of a line whose newline has not been read yet
    skipping = False  # reading past the rest of an oversized line
    while True:
        data = read(block_bytes)
        if not data:
            break
        if skipping:
            newline = data.find(b"\n")
            if newline < 0:
                continue
            skipping, data = False, data[newline + 1 :]
        last = data.rfind(b"\n")
        if last < 0:
            carry += data
            if len(carry) > MAX_LINE_BYTES:
                yield Oversized(carry[:OVERSIZED_HEAD_BYTES])
                carry, skipping = b"", True
            continue
        block, carry = carry + data[: last + 1], data[last + 1 :]
        first_end = block.find(b"\n")
        if first_end > MAX_LINE_BYTES:  # the carried line grew too long before it ended
            yield Oversized(block[:OVERSIZED_HEAD_BYTES])
            block = block[first_end + 1 :]
        if block:
            yield block
    if carry:
        yield carry if len(carry) <= MAX_LINE_BYTES else Oversized(carry[:OVERSIZED_HEAD_BYTES])


def blocks_of(lines: list[bytes]) -> Iterator[bytes]:
    """Lines already in memory (tests, the demo) as blocks; Oversized markers pass through."""
    pending: list[bytes] = []
    for line in lines:
        if isinstance(line, Oversized):
            if pending:
                yield b"\n".join(pending) + b"\n"
                pending = []
            yield line
        else:
            pending.append(line.rstrip(b"\n"))
    if pending:
        yield b"\n".join(pending) + b"\n"


@contextmanager
def open_source(name: str) -> Iterator[tuple[BinaryIO, int | None]]:
    """A payload file opened for reading, and its size; '-' is standard input (no size)."""
    if name == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(name)
    with path.open("rb") as stream:
        yield stream, path.stat().st_size
