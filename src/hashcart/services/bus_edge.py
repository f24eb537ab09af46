"""The bus's edge: which lines of a source go on the bus, and under which key.

With a bus (`bus_url`), listeners, webhooks and `hashcart ingest --to-bus` do not run the
engine: they run the prefilter here and publish only the lines it keeps (triggers, posts with
shop links, deletions) plus the lines a worker must dead-letter (broken framing), so the bus
carries a few percent of a firehose. Each kept line gets:

- the account its order matters for (`order_key`): the author, so one account's posts stay in
  order in one partition; a deletion carries no author, so its post's id (the engine takes a
  deletion before or after its post alike);
- the id the stream deduplicates on (`message_id`, `Nats-Msg-Id`): the network's post id, so a
  post delivered twice by a network, or published twice after a lost acknowledgement, is
  stored once.

A line the workers cannot decode still goes, keyed by its bytes, so it is dead-lettered with
its reason and source by the same code as file ingest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hashcart.domain.digests import digest_of
from hashcart.domain.posts import AccountGone, Post, PostDeleted
from hashcart.ports import AUTO_FORMAT, Line, LinePrefilter, PayloadReader

UNDECODED = "unknown"  # the network token of a line no decoder reads


@dataclass(frozen=True, slots=True)
class Candidate:
    """One line for the bus, with where it was read (a dead letter names the same place)."""

    source: str
    line: int
    data: bytes
    network: str
    order_key: str
    message_id: str


@dataclass
class EdgeCounts:
    lines: int = 0
    kept: int = 0
    skipped: int = 0


class Edge:
    """The prefilter and keys for one shop (its tags and hosts)."""

    def __init__(
        self, reader: PayloadReader, prefilter: LinePrefilter, fmt: str = AUTO_FORMAT
    ) -> None:
        self.reader = reader
        self.prefilter = prefilter
        self.fmt = fmt
        self.counts = EdgeCounts()

    def candidates(self, source: str, block: bytes, number: int) -> Iterator[Candidate]:
        """The kept lines of one block, numbered on from `number` as file ingest numbers
        them (blank lines count as lines, as there)."""
        classify = self.prefilter.classify
        ascii_block = block.isascii()
        size = len(block)
        start = 0
        while start < size:
            end = block.find(b"\n", start)
            if end < 0:
                end = size
            number += 1
            line = block[start:end]
            if line.strip():
                self.counts.lines += 1
                kind = classify(block, start, end, ascii_block)
                if kind is Line.WANTED or self.reader.check_framing(line) is not None:
                    self.counts.kept += 1
                    yield self.candidate(source, number, line)
                else:
                    self.counts.skipped += 1
            start = end + 1

    def candidate(self, source: str, number: int, line: bytes) -> Candidate:
        try:
            events = self.reader.decode(line, self.fmt)
        except Exception:  # DecodeError, or a decoder's surprise: the worker says which
            events = []
        for event in events:
            if isinstance(event, Post):
                return Candidate(
                    source,
                    number,
                    line,
                    str(event.network),
                    event.author_id,
                    f"{event.network}:{event.post_id}",
                )
            if isinstance(event, PostDeleted):
                key = f"{event.network}:{event.post_id}"
                return Candidate(source, number, line, str(event.network), key, "deleted:" + key)
            if isinstance(event, AccountGone):
                key = f"{event.network}:{event.account_id}"
                return Candidate(
                    source, number, line, str(event.network), event.account_id, "gone:" + key
                )
        # Nothing a worker acts on, or nothing it can read: it is dead-lettered or counted
        # there; keyed by its bytes, so the same line published twice is stored once.
        digest = digest_of(line)
        return Candidate(source, number, line, UNDECODED, digest, "line:" + digest)
