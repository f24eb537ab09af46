"""Reading payload lines from files or standard input without trusting their length."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from hashcart.services.ingest import MAX_LINE_BYTES, Oversized

OVERSIZED_HEAD_BYTES = 4096


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Each line of `stream`; a line over MAX_LINE_BYTES becomes an Oversized holding its start,
    read past in bounded pieces so a huge line never sits in memory whole."""
    readline = stream.readline
    limit = MAX_LINE_BYTES + 1
    while True:
        line = readline(limit)
        if not line:
            return
        if len(line) == limit and not line.endswith(b"\n"):
            head = line[:OVERSIZED_HEAD_BYTES]
            while line and not line.endswith(b"\n"):
                line = readline(limit)
            yield Oversized(head)
        else:
            yield line
