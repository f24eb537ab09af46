"""One-time link codes: how they look, and how a post asks to link with one.

A shopper proves a social account is theirs by posting, from it, a link tag followed by the
code their account page showed: `#cartlink K7Q2M9XD`. Codes are Crockford base32 (digits and
capitals without I, L, O, U), so a code read aloud or typed on a phone survives: case does not
matter, and I/L read as 1, O as 0, as Crockford's decoding rules say.

Link tags compare like trigger tags (NFKC, then casefold) and must never be a trigger tag:
then our own replies, which never carry a trigger tag, cannot carry a link tag either.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from hashcart.domain.hashtags import extract_hashtags, hashtags
from hashcart.domain.triggers import TriggerWords, normalize_tag

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 32**8 = 2**40 codes: guessing one live code by posting is hopeless
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None})

# After the tag: horizontal space (an optional `:`), then one word, the code as written.
_CODE_AFTER_TAG = re.compile(
    r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]*:?[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]*"
    r"([0-9A-Za-z][0-9A-Za-z-]{0,23})(?![0-9A-Za-z_])"
)


def new_code() -> str:
    """A fresh random code from the operating system's secure source."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def read_code(written: str) -> str | None:
    """The code as stored, from how a person wrote it (`k7q2-m9xd`), or None if it is none."""
    code = written.upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


@dataclass(frozen=True)
class LinkWords:
    """The link tags a shop answers to (without `#`), checked against its trigger tags."""

    tags: tuple[str, ...]
    normal_forms: frozenset[str]
    # The normal forms when all are ASCII (the common case), for a cheap first look.
    ascii_forms: tuple[str, ...] | None

    @classmethod
    def of(cls, tags: Sequence[str], triggers: TriggerWords) -> LinkWords:
        """Validated link tags; ValueError says what is wrong with the configuration."""
        if isinstance(tags, str) or not tags:
            raise ValueError("link tags must be a list of at least one tag, like ['cartlink']")
        forms: set[str] = set()
        for tag in tags:
            if not isinstance(tag, str) or hashtags("#" + tag) != [tag]:
                raise ValueError(
                    f"link tag {tag!r} is not a hashtag: write it without '#', as letters "
                    "(and digits or '_'), with no spaces"
                )
            form = normalize_tag(tag)
            if form in triggers.normal_forms:
                raise ValueError(f"link tag {tag!r} is also a cart or wish-list trigger tag")
            forms.add(form)
        ascii_forms = tuple(sorted(forms)) if all(form.isascii() for form in forms) else None
        return cls(tuple(tags), frozenset(forms), ascii_forms)


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """A post asking to link its author. `code` is None when what followed the tag is no
    code (a typo, or nothing): still an attempt, counted as an invalid code."""

    code: str | None


def parse_link_request(
    text: str, tags: Sequence[str] | None, words: LinkWords
) -> LinkRequest | None:
    """The link request a post makes, or None when it carries no link tag.

    Like triggers, the payload's own tag metadata decides whether a link tag is there when
    the payload has it, else the hashtags in the text do; the code is read after the tag's
    first occurrence in the text.
    """
    forms = words.normal_forms
    if tags is not None:
        if not any(normalize_tag(tag) in forms for tag in tags):
            return None
    elif words.ascii_forms is not None and text.isascii():
        # NFKC leaves ASCII as it is and casefold lower-cases it: no form in the lower-cased
        # text, no link tag (this skips hashtag extraction for nearly every post).
        lowered = text.lower()
        if not any(form in lowered for form in words.ascii_forms):
            return None
    occurrence = next(
        (found for found in extract_hashtags(text) if normalize_tag(found[0]) in forms), None
    )
    if occurrence is None:
        return None if tags is None else LinkRequest(None)
    match = _CODE_AFTER_TAG.match(text, occurrence[2])
    return LinkRequest(read_code(match.group(1)) if match else None)
