"""Hashtags in plain text, found the way twitter-text finds them.

A port of twitter-text's hashtag extraction (java `Regex.VALID_HASHTAG`,
`INVALID_HASHTAG_MATCH_END` and `Extractor.extractHashtagsWithIndices`), so that
a `#cart` we read from text is a hashtag exactly when X would have linked it.
The conformance suite's hashtag cases pin this (tests/integration).

The rules, in twitter-text's words:

- A hashtag is `#` or fullwidth `＃`, then a run of hashtag characters (letters,
  marks, decimal digits and a few joiners) holding at least one letter or mark:
  `#16` and `#_` are not hashtags.
- Before the sign: the start of the text, a variation selector (emoji), or any
  character that is neither `&` (`&#39;` is an HTML entity) nor a hashtag
  character (`abc#def` is not a hashtag).
- Right after the sign, not U+FE0F / U+20E3: `#️⃣` is the keycap emoji.
- Right after the tag, not another sign nor `://`: `#http://x` is a link.
- A hashtag inside a link (`example.com/#anchor`) is part of the link.

Character classes are built from the running Python's `unicodedata`, so they
follow its Unicode version (twitter-text generated its extras from a newer Unicode
than Java's; all of them are letters or marks in Unicode 14 except a private-use
block, kept below for fidelity). Only the stdlib `re` is used.

Indices are in code points (Python string indices), as the suite's are.
"""

from __future__ import annotations

import bisect
import re
import sys
import unicodedata
from functools import cache

__all__ = ["HASH_SIGNS", "extract_hashtags", "hashtags", "url_spans"]

HASH_SIGNS = "#\uff03"
"""The two characters that start a hashtag: `#` and fullwidth `＃`."""

# twitter-text HASHTAG_LETTERS_AND_MARKS extras that are not \p{L}\p{M} in Unicode 14:
# a private-use block (U+F870..U+F8D6, used by Apple for some Indic glyph variants).
_EXTRA_LETTERS = (
    (0xF870, 0xF87F),
    (0xF882, 0xF882),
    (0xF884, 0xF89F),
    (0xF8B8, 0xF8B8),
    (0xF8C1, 0xF8D6),
)

# twitter-text HASHTAG_SPECIAL_CHARS: joiners and punctuation that may sit inside a tag.
_SPECIAL_CHARS = (
    "_"  # underscore
    "\u200c"  # ZERO WIDTH NON-JOINER (Persian, Arabic)
    "\u200d"  # ZERO WIDTH JOINER (Sinhala, Indic)
    "\ua67e"  # CYRILLIC KAVYKA
    "\u05be"  # HEBREW PUNCTUATION MAQAF
    "\u05f3"  # HEBREW PUNCTUATION GERESH
    "\u05f4"  # HEBREW PUNCTUATION GERSHAYIM
    "\uff5e"  # FULLWIDTH TILDE
    "\u301c"  # WAVE DASH
    "\u309b"  # KATAKANA-HIRAGANA VOICED SOUND MARK
    "\u309c"  # KATAKANA-HIRAGANA SEMI-VOICED SOUND MARK
    "\u30a0"  # KATAKANA-HIRAGANA DOUBLE HYPHEN
    "\u30fb"  # KATAKANA MIDDLE DOT
    "\u3003"  # DITTO MARK
    "\u0f0b"  # TIBETAN MARK INTERSYLLABIC TSHEG
    "\u0f0c"  # TIBETAN MARK DELIMITER TSHEG BSTAR
    "\u00b7"  # MIDDLE DOT
)


def _class_body(ranges: list[tuple[int, int]]) -> str:
    """The inside of a regex character class matching exactly these code point ranges."""
    parts = []
    for first, last in ranges:
        parts.append(f"\\U{first:08x}" if first == last else f"\\U{first:08x}-\\U{last:08x}")
    return "".join(parts)


@cache
def _letter_and_numeral_classes() -> tuple[str, str]:
    """Class bodies for twitter-text's HASHTAG_LETTERS_AND_MARKS and HASHTAG_NUMERALS.

    Built once, on first use, by one pass over the code points (about 0.1 s), so
    importing the domain stays cheap.
    """
    letters: list[tuple[int, int]] = []
    numerals: list[tuple[int, int]] = []
    category = unicodedata.category
    for cp in range(sys.maxunicode + 1):
        cat = category(chr(cp))
        if cat[0] in "LM":
            target = letters
        elif cat == "Nd":
            target = numerals
        else:
            continue
        if target and target[-1][1] == cp - 1:
            target[-1] = (target[-1][0], cp)
        else:
            target.append((cp, cp))
    letters.extend(_EXTRA_LETTERS)
    return _class_body(letters), _class_body(numerals)


@cache
def _valid_hashtag() -> re.Pattern[str]:
    """twitter-text's VALID_HASHTAG: groups are (before, hash sign, tag)."""
    letters, numerals = _letter_and_numeral_classes()
    special = "".join(f"\\u{ord(c):04x}" for c in _SPECIAL_CHARS)
    alnum = letters + numerals + special
    return re.compile(
        rf"(^|[\ufe0e\ufe0f]|[^&{alnum}])"  # boundary: start, variation selector, or other
        r"([#\uff03])"  # the sign
        r"(?![\ufe0f\u20e3])"  # not the keycap emoji
        rf"([{alnum}]*[{letters}][{alnum}]*)"  # at least one letter or mark
    )


# `_valid_hashtag` for text that is all ASCII, where it matches exactly the same: there the
# letters are A-Z and a-z, the numerals 0-9, the only joiner `_` and the only sign `#`, and
# the variation selectors and the keycap cannot occur. Its classes need no pass over the
# code points (a quarter of a second), so settings whose trigger tags are ASCII (checked
# at every start) and ASCII posts never build the full one. A property test holds the two
# equal on ASCII text.
_VALID_ASCII_HASHTAG = re.compile(r"(^|[^&A-Za-z0-9_])(#)([A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*)")


# Where a link is, for the rule that a hashtag inside a link is not one. This is an
# approximation of twitter-text's URL extractor (which needs the TLD lists): a scheme
# (`anything://`) or a dotted host followed by `/`, then twitter-text's URL path and
# query characters. It errs towards "is a link", so `shop.example/#cart` never
# triggers. It starts only at the beginning of a token, which also keeps it linear.
_DOMAIN_CHARS = r"a-z0-9_\-\u00c0-\u024f\u1e00-\u1eff"
_URL_CHARS = r"a-z0-9!*';:=+,.$/%#\[\]()?~|&@\-\u2013_\u00c0-\u024f\u1e00-\u1eff\u0400-\u04ff"
_URL = re.compile(
    rf"(?<![{_DOMAIN_CHARS}+.@\uff20$#\uff03/])"
    rf"(?:[a-z][a-z0-9+.\-]*://|(?:[{_DOMAIN_CHARS}]+\.)+[{_DOMAIN_CHARS}]+(?::[0-9]+)?/)"
    rf"[{_URL_CHARS}]*",
    re.IGNORECASE,
)


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every link-looking run in `text`, in order, not overlapping.

    Good enough to tell that a `#` or a number is part of a link; not a URL
    extractor (products are found from `Post.urls` and the shop's own URL rules).
    """
    if "/" not in text:  # every form above contains a slash
        return []
    return [m.span() for m in _URL.finditer(text)]


def extract_hashtags(text: str) -> list[tuple[str, int, int]]:
    """Every hashtag in `text`: (tag without the sign, start of the sign, end of the tag)."""
    if "#" not in text and "\uff03" not in text:
        return []
    found: list[tuple[str, int, int]] = []
    pattern = _VALID_ASCII_HASHTAG if text.isascii() else _valid_hashtag()
    for match in pattern.finditer(text):
        end = match.end()
        # INVALID_HASHTAG_MATCH_END: `#foo#bar` and `#http://` are not hashtags.
        if text.startswith(("#", "\uff03", "://"), end):
            continue
        found.append((match.group(3), match.start(2), end))
    if found:
        found = _outside_links(text, found)
    return found


def hashtags(text: str) -> list[str]:
    """The tags of `extract_hashtags(text)`, without their signs, in order."""
    return [tag for tag, _, _ in extract_hashtags(text)]


def _outside_links(text: str, found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop hashtags whose sign lies inside a link (twitter-text: the earlier entity wins)."""
    spans = url_spans(text)
    if not spans:
        return found
    starts = [start for start, _ in spans]
    kept = []
    for entry in found:
        sign = entry[1]
        i = bisect.bisect_left(starts, sign) - 1  # last link starting before the sign
        if i >= 0 and sign < spans[i][1]:
            continue
        kept.append(entry)
    return kept
