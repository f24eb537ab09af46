"""The byte prefilter: which lines are worth decoding at all.

Real streams are mostly noise, so ingest must not parse every post. A line is decoded only
if its bytes may hold a trigger tag, a deletion, or a link on a shop host. Every needle is a
superset of what the decoder and engine decide (a differential test holds us to that), and
every regex starts with a literal byte so CPython's fast literal search runs; a pattern that
starts with a character class or `(?i)` is several times slower than parsing the JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from hashcart.domain.products import ShopHosts, shop_host_pattern
from hashcart.domain.triggers import TriggerWords, tag_first_bytes

# How far into a line a deletion notice names itself: every format puts it near the start
# (X `{"delete":`/`tweet_delete_events`, Mastodon `"event":"delete"`, Jetstream's
# `"operation":"delete"` in a line that carries no record).
DELETE_WINDOW = 256


class _AnyObject(msgspec.Struct):
    """Decoding into a field-less Struct validates JSON syntax while skipping every value."""


_well_formed = msgspec.json.Decoder(_AnyObject)


def check_well_formed(line: bytes) -> str | None:
    """None if `line` is one JSON object in valid UTF-8, else the reason it is not."""
    if not line.isascii():
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            return f"invalid UTF-8 at byte {error.start}"
    try:
        _well_formed.decode(line)
    except msgspec.ValidationError:
        return "not a JSON object"
    except msgspec.DecodeError as error:
        return f"malformed JSON: {error}"
    return None


@dataclass(frozen=True)
class Prefilter:
    hash_tag: re.Pattern[bytes]
    escaped_fullwidth_hash: re.Pattern[bytes]
    shop_host: re.Pattern[bytes]

    @classmethod
    def for_shop(cls, words: TriggerWords, hosts: ShopHosts) -> Prefilter:
        starts = re.escape(tag_first_bytes(words))
        # '#' then the tag, possibly through Mastodon's `#<span>` markup (raw or JSON-escaped),
        # where the tag starts with one of the trigger words' ASCII first letters, any non-ASCII
        # byte or a JSON \u escape (fullwidth and other letters NFKC folds to ASCII).
        # Escapes may be doubled: a Mastodon streaming message carries the status as a JSON
        # string inside JSON, so `\u1d9c` arrives as `\\u1d9c`.
        hash_tag = re.compile(
            rb"#(?:<span>|\\+u003cspan\\+u003e)?(?:[" + starts + rb"\x80-\xff]|\\+u)"
        )
        # The fullwidth hash U+FF03 as a JSON escape (X writes non-ASCII that way); raw UTF-8
        # needs no needle of its own because raw non-ASCII lines are checked separately.
        escaped_fullwidth_hash = re.compile(rb"\\+u[fF][fF]0[3]")
        return cls(hash_tag, escaped_fullwidth_hash, shop_host_pattern(hosts))

    def wants(self, line: bytes) -> bool:
        """True when `line` may matter; False only when it certainly does not."""
        if b"#" in line and self.hash_tag.search(line):
            return True
        if line.isascii():
            if b"\\u" in line and self.escaped_fullwidth_hash.search(line):
                return True
        elif b"\xef\xbc\x83" in line:  # U+FF03 FULLWIDTH NUMBER SIGN, raw UTF-8
            return True
        if b"delete" in line[:DELETE_WINDOW]:
            return True
        if line.startswith(b'{"did"') and b'"tags":["' in line:  # Bluesky outline tags
            return True
        return self.shop_host.search(line) is not None
