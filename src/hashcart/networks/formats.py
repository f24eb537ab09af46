"""Input formats: which network's JSON a line is, and decoding it with the right decoder.

`detect` sniffs a few key bytes instead of parsing, so a mixed replay file costs
one substring scan per line before the real decode. Keys are matched with their
quotes and colon (`"did":`): inside a JSON string a quote is always escaped, so
these byte sequences only occur as real keys, never in post text.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from hashcart.domain.posts import DecodeError, Event
from hashcart.networks._json import check_json_object
from hashcart.networks.bluesky import decode as bluesky
from hashcart.networks.limits import problem_of
from hashcart.networks.mastodon import decode as mastodon
from hashcart.networks.x import decode as x


class Format(StrEnum):
    AUTO = "auto"
    X = "x"
    X_V2 = "x-v2"
    MASTODON = "mastodon"
    JETSTREAM = "jetstream"


def detect(line: bytes) -> Format:
    """The format of one line, from its keys; never AUTO. DecodeError if none fits.

    The first key decides the common cases without scanning the line: Jetstream's Go
    encoder always writes `{"did":` first, X v2 stream lines start with `{"data":`.
    Otherwise order matters where shapes could share a key: X v1.1's own markers
    (`id_str`, Account Activity envelopes) before Jetstream's generic `kind`/`did`
    (a tweet never has those), v2's `data`/`errors` before Mastodon's looser markers
    (`account` + `uri`), and the bare v1.1 `"delete":` notice last, after v2's
    compliance `{"data": {"delete": ...}}`.
    """
    head = line[:32].lstrip()
    if head.startswith(b'{"did":') and b'"kind":' in line:
        return Format.JETSTREAM
    if head.startswith(b'{"data":'):
        return Format.X_V2
    if (
        b'"id_str":' in line
        or b'"tweet_create_events":' in line
        or b'"tweet_delete_events":' in line
        or b'"for_user_id":' in line
    ):
        return Format.X
    if b'"kind":' in line and b'"did":' in line:
        return Format.JETSTREAM
    if b'"data":' in line or b'"errors":' in line:
        return Format.X_V2
    if b'"stream":' in line or b'"event":' in line or (b'"account":' in line and b'"uri":' in line):
        return Format.MASTODON
    if b'"delete":' in line:
        return Format.X
    raise DecodeError("unknown format: no X, Mastodon or Jetstream keys in the line")


_DECODERS: dict[Format, Callable[[bytes], list[Event]]] = {
    Format.X: x.decode_v1,
    Format.X_V2: x.decode_v2,
    Format.MASTODON: mastodon.decode,
    Format.JETSTREAM: bluesky.decode,
}


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
    events = _DECODERS[fmt](line)
    for event in events:
        problem = problem_of(event)
        if problem is not None:
            # The whole line goes: one payload, one dead letter, one reason.
            raise DecodeError(problem)
    return events
