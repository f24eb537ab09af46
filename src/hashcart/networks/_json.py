"""The one way every network decoder reads a line of JSON.

A line is untrusted bytes from a stream, a webhook or a replay file. Whatever is
wrong with it (bad UTF-8, broken JSON, the wrong shape, absurd nesting) must come
out as a `DecodeError` with a short reason, so the caller can dead-letter the line
and carry on with the batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from hashcart.domain.posts import DecodeError

T = TypeVar("T")


def utf8_problem(data: bytes) -> str | None:
    """None if `data` is valid UTF-8, else where it is not (all-ASCII data costs nothing)."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"invalid UTF-8 at byte {error.start}"
    return None


def decode_line(decoder: msgspec.json.Decoder[T], line: bytes, what: str) -> T:
    """Decode `line` with a typed msgspec decoder, turning every failure into DecodeError.

    msgspec only checks UTF-8 inside the strings it keeps, so bytes in skipped
    fields are validated here first (the `isascii` test makes that free for the
    common all-ASCII line).
    """
    problem = utf8_problem(line)
    if problem is not None:
        raise DecodeError(problem)
    try:
        return decoder.decode(line)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"not {what}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise DecodeError("malformed JSON: nested too deeply") from None


class _AnyObject(msgspec.Struct):
    """Decoding into a field-less Struct checks the JSON while skipping every value."""


_ANY_OBJECT = msgspec.json.Decoder(_AnyObject)


def check_json_object(line: bytes) -> None:
    """Raise DecodeError unless `line` is one JSON object in valid UTF-8."""
    decode_line(_ANY_OBJECT, line, "a JSON object")


def parse_iso_datetime(value: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp as an aware UTC datetime, or None if unreadable.

    A timestamp without an offset is taken as UTC (the networks all mean UTC).
    """
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def unique(values: list[str]) -> tuple[str, ...]:
    """Values in first-seen order without repeats (a link often sits in text and card)."""
    return tuple(dict.fromkeys(values))
