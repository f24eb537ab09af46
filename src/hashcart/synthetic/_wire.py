"""Identifiers, timestamps and JSON encodings exactly as each network writes them.

The ids keep the networks' real structure (X snowflakes, Mastodon's time-prefixed ids,
Bluesky TIDs and CIDs) because the store's keys are time-ordered and benchmarks that use
random ids would measure a slower index than production sees.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

X_EPOCH_MS = 1288834974657  # X snowflake epoch (2010-11-04T01:42:54.657Z)

_B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"  # atproto TID alphabet
_B32_LOWER = "abcdefghijklmnopqrstuvwxyz234567"  # multibase base32 (CIDs, did:plc)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- identifiers -------------------------------------------------------------------------


def x_snowflake(ms: int, worker: int, seq: int) -> int:
    """An X id: milliseconds since the X epoch, then a 10-bit worker and a 12-bit sequence."""
    return ((ms - X_EPOCH_MS) << 22) | ((worker & 0x3FF) << 12) | (seq & 0xFFF)


def mastodon_id(ms: int, seq: int) -> int:
    """A Mastodon status id: Unix milliseconds shifted left 16 bits plus a sequence."""
    return (ms << 16) | (seq & 0xFFFF)


def tid(us: int, clock_id: int) -> str:
    """An atproto TID (record key / repo rev): 53-bit microseconds, 10-bit clock id,
    base32-sortable, 13 characters."""
    value = ((us & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_B32_SORTABLE[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def cid(rng: random.Random) -> str:
    """A CIDv1 (dag-cbor, sha-256) in base32, as Jetstream prints record cids."""
    return "bafyrei" + "".join(rng.choice(_B32_LOWER) for _ in range(52))


def blob_cid(rng: random.Random) -> str:
    """A raw-codec CIDv1, as blob refs (images, thumbs) print."""
    return "bafkrei" + "".join(rng.choice(_B32_LOWER) for _ in range(52))


def did_plc(rng: random.Random) -> str:
    return "did:plc:" + "".join(rng.choice(_B32_LOWER) for _ in range(24))


def tco(rng: random.Random) -> str:
    """A t.co short link like the ones X puts in `text` for every URL."""
    return "https://t.co/" + "".join(rng.choice(_ALNUM) for _ in range(10))


def token(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def hexstr(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


# --- timestamps --------------------------------------------------------------------------


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def to_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def x_time(moment: datetime) -> str:
    """X v1.1 `created_at`: "Wed Oct 10 20:19:24 +0000 2018" (no locale dependence)."""
    m = moment.astimezone(UTC)
    return (
        f"{_WEEKDAYS[m.weekday()]} {_MONTHS[m.month - 1]} {m.day:02d} "
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} +0000 {m.year}"
    )


def x_time_from_ms(ms: int) -> str:
    return x_time(datetime.fromtimestamp(ms / 1000, UTC))


def iso_ms(moment: datetime) -> str:
    """ISO 8601 with milliseconds and `Z`, as Mastodon, X v2 and atproto write it."""
    m = moment.astimezone(UTC)
    return m.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 1000:03d}Z"


def iso_from_ms(ms: int) -> str:
    return iso_ms(datetime.fromtimestamp(ms / 1000, UTC))


def iso_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


# --- encodings ---------------------------------------------------------------------------


def x_v1_dumps(obj: Any) -> str:
    """X v1.1: ASCII only (non-ASCII as \\uXXXX, astral characters as surrogate pairs) and
    every `/` written `\\/`. A `/` can only occur inside JSON strings, so replacing it on the
    encoded text is exact."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")


def x_v2_dumps(obj: Any) -> str:
    """X API v2: raw UTF-8, plain slashes."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def mastodon_dumps(obj: Any) -> str:
    """Mastodon (Oj on the REST side, JSON.stringify in the streaming server): raw UTF-8,
    `<`/`>`/`&` written as they are (the content is HTML)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def go_dumps(obj: Any) -> str:
    """Go's encoding/json, as Jetstream writes: raw UTF-8 but `<`, `>`, `&`, U+2028 and
    U+2029 escaped. None of these can occur outside strings, so post-replacing is exact."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
