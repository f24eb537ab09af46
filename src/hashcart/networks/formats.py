"""Input formats: which network's JSON a line is, and decoding it with the right decoder.

Each registered network (networks/registry) brings its formats, their decoders and its
detection rules. `detect` sniffs a few key bytes instead of parsing, so a mixed replay file
costs one substring scan per line before the real decode. Keys are matched with their
quotes and colon (`"did":`): inside a JSON string a quote is always escaped, so these byte
sequences only occur as real keys, never in post text.
"""

from __future__ import annotations

from hashcart.domain.posts import DecodeError, Event
from hashcart.networks import registry
from hashcart.networks._json import check_json_object
from hashcart.networks.base import Format
from hashcart.networks.limits import problem_of

__all__ = ["Format", "decode", "detect"]


def detect(line: bytes) -> Format:
    """The format of one line, from its keys; never AUTO. DecodeError if none fits.

    Every network's rules are tried together, lowest order first: the first key decides
    the common cases without scanning the line, and where shapes could share a key the
    more specific marker goes first (see the adapters' `SNIFFS`).
    """
    head = line[:32].lstrip()
    for matches, fmt in registry.detection():
        if matches(head, line):
            return fmt
    raise DecodeError("unknown format: no X, Mastodon or Jetstream keys in the line")


def decode(line: bytes, fmt: Format) -> list[Event]:
    """Decode one line as `fmt` (AUTO: as whatever `detect` says it is). A post that breaks
    its network's limits or the store's (see networks/limits) is a DecodeError too."""
    if fmt == Format.AUTO:
        try:
            fmt = detect(line)
        except DecodeError:
            # Say what is really wrong: a broken line is malformed before it is unknown.
            check_json_object(line)
            raise
    decoder = registry.decoder(fmt)
    if decoder is None:
        raise DecodeError(f"no registered network reads the format {fmt!r}")
    events = decoder(line)
    for event in events:
        problem = problem_of(event)
        if problem is not None:
            # The whole line goes: one payload, one dead letter, one reason.
            raise DecodeError(problem)
    return events
