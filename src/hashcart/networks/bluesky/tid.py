"""Record keys for the replies hashcart posts: a TID derived from the outbox's dedupe key.

A reply written with a key of our choosing can be written once only: the PDS refuses a
second record at the same key, so a retry after a crash (the first create went through but
its answer was lost) cannot post twice. The key must still be a valid TID (the record key
type `app.bsky.feed.post` declares): 13 base32-sortable characters standing for a 64-bit
integer whose top bit is 0, then 53 bits of microseconds since the epoch, then a 10-bit
clock id (atproto.com/specs/tid).

The timestamp part is drawn from the hash into a fixed two-year span in the past rather than
the full 53 bits: any value is valid, but a TID far in the future reads as a record from
the future to anyone who sorts by key, and the sync spec already treats future revisions as
suspect.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_SPAN_START_US = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
_SPAN_US = 2 * 365 * 24 * 3600 * 1_000_000
_CLOCK_ID_BITS = 10


def is_tid(value: str) -> bool:
    return _TID.fullmatch(value) is not None


def encode_tid(timestamp_us: int, clock_id: int) -> str:
    """The TID for a microsecond timestamp (< 2**53) and a clock id (< 1024)."""
    if not 0 <= timestamp_us < 2**53 or not 0 <= clock_id < 2**_CLOCK_ID_BITS:
        raise ValueError("TID timestamp or clock id out of range")
    value = (timestamp_us << _CLOCK_ID_BITS) | clock_id
    chars = []
    for _ in range(13):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def tid_for(key: str) -> str:
    """The one TID `key` stands for: the same key gives the same TID in every process."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    number = int.from_bytes(digest[:8], "big")
    timestamp = _SPAN_START_US + (number >> _CLOCK_ID_BITS) % _SPAN_US
    return encode_tid(timestamp, number & (2**_CLOCK_ID_BITS - 1))


def tid_timestamp_us(value: str) -> int:
    """The microseconds since the epoch a valid TID carries (its bits after the top one,
    before the 10-bit clock id)."""
    number = 0
    for char in value:
        number = (number << 5) | _ALPHABET.index(char)
    return number >> _CLOCK_ID_BITS
