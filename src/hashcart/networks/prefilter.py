"""The byte prefilter: which lines are worth decoding at all.

Real streams are mostly noise, so ingest must not parse every post. A line is decoded only
if its bytes may hold a trigger or link tag, a deletion, an account gone, or a link on a shop
host. Every needle is a superset of what the decoder and engine decide (a differential test
holds us to that), and every regex starts with a literal byte so CPython's fast literal search
runs; a pattern that starts with a character class, a repeat or `(?i)` is many times slower
than parsing the JSON.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hashcart.domain.posts import DecodeError
from hashcart.domain.products import ShopHosts, shop_host_pattern
from hashcart.domain.triggers import TriggerWords, normalize_tag
from hashcart.networks import registry
from hashcart.networks._json import check_json_object, utf8_problem
from hashcart.networks.base import Line, LineRule

__all__ = ["DELETE_WINDOW", "Line", "Prefilter", "check_framing", "check_well_formed"]

# How far into a line a deletion notice names itself: every format puts it near the start
# (X `{"delete":`/`tweet_delete_events`, Mastodon `"event":"delete"`, Jetstream's
# `"operation":"delete"` in a line that carries no record).
DELETE_WINDOW = 256
# Notices that an account is gone name themselves as near the start: a Jetstream `#account`
# event (`"account":{"active":false`), X's `oauth.revoke` Activity event and its Account
# Activity `user_event.revoke`. They carry no tag, yet the engine must see them.
_ACCOUNT_GONE = (b'"active":false', b'"active": false', b"revoke")

# A non-ASCII byte, or a backslash that may start a JSON escape of one: from here on NFKC
# may fold what is written into the trigger's letters (fullwidth `ｃ`, `ﬆ` → `st`, the
# Kelvin sign), so the prefilter stops looking and wants the line.
_MAY_FOLD = rb"[\x80-\xff]|\\"
# After a whole trigger word, an ASCII letter, digit or `_` would make it another tag
# (`#carts`, `#cart2`); anything else ends it.
_TAG_ENDS = rb"(?![A-Za-z0-9_])"


# Marks in the tag trie below: a word ends here; past here anything may follow.
_WORD_ENDS = "end"
_ANYTHING_FOLLOWS = "open"


def _written_forms(words: Sequence[str]) -> bytes:
    """One regex for the written forms of all the tags, after their '#'.

    NFKC and casefold map ASCII to ASCII one to one (lower-casing it), so a written tag
    whose normal form is `word` spells word's ASCII letters in either case until its first
    character that is not ASCII; past that point anything may follow. At every position a
    non-ASCII byte or an escape may also stand for a character that folds to ASCII.

    The tags are merged into a trie, so a shared start (`cart`, `cartlink`) is tried once:
    a line is searched at every '#' it has, and a flat list of alternatives cost each '#'
    one attempt per tag (measured: adding `cartlink` that way cost 5% of X throughput).
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in normalize_tag(word):
            if not char.isascii():
                node[_ANYTHING_FOLLOWS] = True
                break
            node = node.setdefault(char, {})
        else:
            node[_WORD_ENDS] = True
    return _trie_pattern(root)


def _trie_pattern(node: dict[str, Any]) -> bytes:
    if node.get(_ANYTHING_FOLLOWS):
        return b""  # matches here, whatever follows
    branches = []
    for char in sorted(key for key in node if len(key) == 1):
        cases = re.escape("".join(sorted({char, char.upper()})).encode())
        branches.append(b"[" + cases + b"]" + _trie_pattern(node[char]))
    if node.get(_WORD_ENDS):
        branches.append(_TAG_ENDS)
    branches.append(_MAY_FOLD)
    return b"(?:" + b"|".join(branches) + b")"


def check_framing(line: bytes) -> str | None:
    """The cheap check for lines nobody decodes: valid UTF-8, and braced like one JSON object
    (a line cut short, the usual damage, fails it). None if it passes, else the reason."""
    problem = utf8_problem(line)
    if problem is not None:
        return problem
    framed = line.strip()
    if framed[:1] != b"{" or framed[-1:] != b"}":
        return "malformed JSON: not one JSON object on the line"
    return None


def check_well_formed(line: bytes) -> str | None:
    """None if `line` is one JSON object in valid UTF-8, else the reason it is not."""
    try:
        check_json_object(line)
    except DecodeError as error:
        return str(error)
    return None


def _has_raw_fullwidth_hash(block: bytes, start: int, end: int) -> bool:
    """Whether U+FF03 FULLWIDTH NUMBER SIGN is in block[start:end] as raw UTF-8 (EF BC 83).

    Looks for its lead byte with a one-byte find (memchr speed) and checks the two after:
    a three-byte find costs twice the whole prefilter on text with non-ASCII in it.
    """
    at = block.find(b"\xef", start, end)
    while at >= 0:
        if block.startswith(b"\xbc\x83", at + 1, end):
            return True
        at = block.find(b"\xef", at + 1, end)
    return False


@dataclass(frozen=True)
class Prefilter:
    hash_tag: re.Pattern[bytes]
    escaped_fullwidth_hash: re.Pattern[bytes]
    shop_host: re.Pattern[bytes]
    # The registered networks' rules for lines of their own shapes (networks/base.LineRule),
    # and their prefixes, so that a line of no such shape costs one `startswith`.
    line_rules: tuple[LineRule, ...] = ()
    rule_prefixes: tuple[bytes, ...] = ()

    @classmethod
    def for_shop(
        cls, words: TriggerWords, hosts: ShopHosts, link_tags: Sequence[str] = ()
    ) -> Prefilter:
        """The prefilter for a shop's trigger tags, link tags (`#cartlink CODE` posts need
        no parent and no shop link, so their tag alone must let them through) and hosts."""
        tags = (*words.every_tag, *link_tags)
        forms = _written_forms(tags)
        # '#', possibly through Mastodon's `#<span>` markup (raw, or JSON-escaped once or,
        # inside a streaming message's string payload, twice), then a trigger's written form.
        hash_tag = re.compile(rb"#(?:<span>|\\+u003cspan\\+u003e)?(?:" + forms + b")")
        # U+FF03 FULLWIDTH NUMBER SIGN as a JSON escape (X writes non-ASCII that way); `\u`
        # also ends a doubled `\\u`. Raw UTF-8 lines are checked for the raw bytes instead.
        escaped_fullwidth_hash = re.compile(rb"\\u[fF][fF]0[3]")
        rules = registry.line_rules()
        return cls(
            hash_tag,
            escaped_fullwidth_hash,
            shop_host_pattern(hosts),
            rules,
            tuple(rule.prefix for rule in rules),
        )

    def wants(self, line: bytes) -> bool:
        """True when `line` may matter; False only when it certainly does not."""
        return self.classify(line, 0, len(line), line.isascii()) is Line.WANTED

    def classify(self, block: bytes, start: int, end: int, ascii_block: bool) -> Line:
        """What the line at block[start:end] is, read in place (no copy of the line).

        `ascii_block` says the whole block is ASCII, so raw UTF-8 needs no looking for.
        """
        window = min(end, start + DELETE_WINDOW)
        for needle in _ACCOUNT_GONE:
            if block.find(needle, start, window) >= 0:
                return Line.WANTED
        if self.rule_prefixes and block.startswith(self.rule_prefixes, start, end):
            for rule in self.line_rules:
                if block.startswith(rule.prefix, start, end):
                    # e.g. a Jetstream line that names no post collection is no post.
                    if rule.must_hold is not None and block.find(rule.must_hold, start, end) < 0:
                        return Line.NOT_A_POST
                    if rule.wanted_if is not None and block.find(rule.wanted_if, start, end) >= 0:
                        return Line.WANTED
                    break
        if block.find(b"#", start, end) >= 0 and self.hash_tag.search(block, start, end):
            return Line.WANTED
        if self.escaped_fullwidth_hash.search(block, start, end):
            return Line.WANTED
        if not ascii_block and _has_raw_fullwidth_hash(block, start, end):
            return Line.WANTED
        if block.find(b"delete", start, min(end, start + DELETE_WINDOW)) >= 0:
            return Line.WANTED
        if self.shop_host.search(block, start, end) is not None:
            return Line.WANTED
        return Line.QUIET
