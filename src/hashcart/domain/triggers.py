"""The trigger grammar: which tag asks for what, how many, and which product.

A trigger is a reply whose tags include one of the shop's trigger tags (`#cart`,
`#wishlist`, or what the shop configured instead: each trigger kind of domain/kinds has
its tags). Tags compare by their normal
form, Unicode NFKC then casefold: `#CART`, `#Cart` and `＃ｃａｒｔ` are `cart`;
`#carts`, `#cartel` and `#ca\\u200brt` (a zero-width space inside) are not.
Format characters are deliberately kept, so an invisible character can never
make two different-looking tags equal.

The grammar around the tag (all case-insensitive, ASCII digits only):

- quantity, anywhere in the text, as a whole word: `x2`, `2x`, `×2`, `2×`,
  `qty 2`, `qty: 2`, `qty2`, `quantity 2`, `quantity: 2`. The first one wins.
  `x 2` (with a space) is not a quantity: `3 x 2 m rug` is a size. Forms inside
  links, @mentions, e-mail addresses, hashtags, prices (`$20`, `20 €`), decimals
  and dotted or slashed tokens (`2.5x`, `x2.com`, `1/2x`) do not count, nor do
  glued forms (`4x4`, `0x2`, `ps2x`). No quantity means 1; a quantity of 0 is
  not a quantity; above `max_quantity` (however many digits) gives `max_quantity`.
- position, right after the trigger tag: the tag, horizontal space, an optional
  `#`, then a bare number of one or two digits, 1..99 (`#cart 2`, `#cart #2`):
  the Nth product of the parent, counted from 1. Bare means not followed by a
  letter, digit or `%`, nor by `.`/`,`/`:` and a digit, nor by a currency sign:
  `#cart 2x` is a quantity, `#cart 2.5`, `#cart 10:30`, `#cart 20€`,
  `#cart 2024` are nothing. Numbers anywhere else never count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from hashcart.domain.hashtags import HASH_SIGNS, extract_hashtags, hashtags, url_spans

__all__ = [
    "TriggerRequest",
    "TriggerWords",
    "normalize_tag",
    "parse_trigger",
    "strip_trigger_tags",
]


def normalize_tag(tag: str) -> str:
    """The form tags compare by: Unicode NFKC, then casefold. Format characters stay."""
    return unicodedata.normalize("NFKC", tag).casefold()


_DEFAULT_TAGS = (("cart", ("cart",)), ("wishlist", ("wishlist",)))


@dataclass(frozen=True, init=False)
class TriggerWords:
    """The trigger tags a shop answers to, by trigger kind, as written in its configuration
    (no `#`): `TriggerWords(cart=("cart",), wishlist=("wishlist",))`, or
    `TriggerWords.of({...})` for any kinds (domain/kinds). Kinds left out of the keyword
    form keep the default tags of cart and wishlist.

    Each must be a hashtag on its own (`AmazonCart` yes; `#cart`, `amazon cart`,
    `2024` no), and no normal form may belong to two kinds: either is a configuration
    error, raised as ValueError when the words are built.
    """

    by_kind: tuple[tuple[str, tuple[str, ...]], ...]

    def __init__(self, **tags: Sequence[str]) -> None:
        given = {**dict(_DEFAULT_TAGS), **tags}
        object.__setattr__(self, "by_kind", _checked(given))

    @classmethod
    def of(cls, tags: Mapping[str, Sequence[str]]) -> TriggerWords:
        """Exactly these kinds' tags, in this order."""
        words = cls.__new__(cls)
        object.__setattr__(words, "by_kind", _checked(tags))
        return words

    @property
    def cart(self) -> tuple[str, ...]:
        return self.tags_of("cart")

    @property
    def wishlist(self) -> tuple[str, ...]:
        return self.tags_of("wishlist")

    def tags_of(self, kind: str) -> tuple[str, ...]:
        return dict(self.by_kind).get(kind, ())

    @property
    def every_tag(self) -> tuple[str, ...]:
        """Every kind's tags, as written, in kind order: what streams and prefilters look for."""
        return tuple(tag for _, tags in self.by_kind for tag in tags)

    @property
    def normal_forms(self) -> frozenset[str]:
        """Every trigger tag's normal form."""
        return frozenset(_kinds(self.by_kind))

    def kind_of(self, tag: str) -> str | None:
        """The kind a tag (without its sign, any case or width) asks for, if it is a trigger."""
        return _kinds(self.by_kind).get(normalize_tag(tag))


def _checked(tags: Mapping[str, Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    by_kind = []
    for kind, written in tags.items():
        if isinstance(written, str) or not isinstance(written, Sequence):
            raise ValueError(f"{kind} trigger tags must be a list of tags, not {written!r}")
        by_kind.append((kind, tuple(written)))  # lists from a config file
    checked = tuple(by_kind)
    _kinds(checked)  # validates
    return checked


@lru_cache(maxsize=64)
def _kinds(by_kind: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str]:
    """Normal form -> kind, for one configuration (a shop has one; tests have a few)."""
    kinds: dict[str, str] = {}
    for kind, written in by_kind:
        for tag in written:
            if not isinstance(tag, str) or hashtags("#" + tag) != [tag]:
                raise ValueError(
                    f"{kind} trigger tag {tag!r} is not a hashtag: write it without "
                    "'#', as letters (and digits or '_'), with no spaces"
                )
            first = kinds.setdefault(normalize_tag(tag), kind)
            if first != kind:
                raise ValueError(f"trigger tag {tag!r} is configured for both {first} and {kind}")
    return kinds


@dataclass(frozen=True)
class TriggerRequest:
    """What a trigger asks for. `tag` is the trigger tag as found: as written in the text
    when the text had to be read, else as the payload's metadata gave it (a post without
    any digit has no position or quantity to read); `position` is 1-based."""

    kind: str  # a trigger kind's name (domain/kinds)
    tag: str
    quantity: int
    position: int | None


def parse_trigger(
    text: str,
    tags: Sequence[str] | None,
    words: TriggerWords,
    max_quantity: int,
) -> TriggerRequest | None:
    """The request a post makes, or None when none of its tags is a trigger.

    `tags` are the payload's own tag metadata (`Post.tags`): when given they decide,
    else the hashtags found in `text` do. The first tag that is a trigger decides
    the kind; the position is read after that tag's first occurrence in `text`.
    """
    if max_quantity < 1:
        raise ValueError(f"max_quantity must be at least 1, not {max_quantity}")
    in_text = extract_hashtags(text) if tags is None else None
    candidates = list(tags) if tags is not None else [tag for tag, _, _ in in_text or ()]
    found = next(((t, k) for t in candidates if (k := words.kind_of(t)) is not None), None)
    if found is None:
        return None
    tag, kind = found
    if in_text is None:  # the metadata named a trigger; its place in the text gives position
        if _ANY_DIGIT.search(text) is None:  # no number anywhere: no position, no quantity
            return TriggerRequest(kind=kind, tag=tag, quantity=1, position=None)
        in_text = extract_hashtags(text)
    wanted = normalize_tag(tag)
    occurrence = next((h for h in in_text if normalize_tag(h[0]) == wanted), None)
    position = None
    if occurrence is not None:
        tag = occurrence[0]
        position = _position_after(text, occurrence[2])
    return TriggerRequest(
        kind=kind,
        tag=tag,
        quantity=_quantity(text, in_text, max_quantity),
        position=position,
    )


_HORIZONTAL_SPACE = "[ \\t\\u00a0\\u2000-\\u200a\\u202f\\u205f\\u3000]"

_POSITION = re.compile(
    rf"{_HORIZONTAL_SPACE}+[#\uff03]?([0-9]{{1,2}})"
    r"(?![0-9])(?=\Z|\s|[!?,.;:)\]}](?![0-9]))"
)


def _position_after(text: str, tag_end: int) -> int | None:
    match = _POSITION.match(text, tag_end)
    if match is None:
        return None
    rest = text[match.end() :].lstrip(" \t\u00a0")
    if rest and unicodedata.category(rest[0]) == "Sc":  # `#cart 20 €` is a price
        return None
    value = int(match.group(1))
    return value if value >= 1 else None


_QUANTITY = re.compile(
    r"(?<!\w)"
    r"(?:[x\u00d7]([0-9]+)"  # x2, ×2
    r"|([0-9]+)[x\u00d7]"  # 2x, 2×
    r"|(?:qty|quantity)[ \t]*(?::[ \t]*)?([0-9]+))"  # qty 2, qty: 2, quantity 2
    r"(?!\w)(?![.,:/@\-]\w)",
    re.IGNORECASE,
)

# Tokens whose digits are never a quantity: e-mail addresses and @mentions
# (`@shop2x`, `bob@x2.shop`), dotted or slashed tokens (`2.5x`, `1,5x`, `x2.com`, `1/2x`).
_NOT_QUANTITIES = re.compile(
    r"(?<![\w.+\-])[\w.+\-]*[@\uff20][\w.\-]*"
    r"|(?<!\w)\w+(?:[.,/]\w+)+"
)
_NUMBER = re.compile(r"(?<![0-9.,])[0-9][0-9.,]*")
_ANY_DIGIT = re.compile(r"[0-9]")


def _quantity(text: str, in_text: list[tuple[str, int, int]], max_quantity: int) -> int:
    if _ANY_DIGIT.search(text) is None:  # every quantity form has a digit; most posts none
        return 1
    masked = _mask_non_quantities(text, in_text)
    for match in _QUANTITY.finditer(masked):
        digits = (match.group(1) or match.group(2) or match.group(3)).lstrip("0")
        if not digits:
            continue  # x0 asks for nothing; a later form may still count
        if len(digits) > len(str(max_quantity)):  # also keeps int() off huge digit runs
            return max_quantity
        return min(int(digits), max_quantity)
    return 1


def _mask_non_quantities(text: str, in_text: list[tuple[str, int, int]]) -> str:
    """`text` with links, mentions, hashtags, prices and dotted tokens blanked out."""
    spans: list[tuple[int, int]] = [(start, end) for _, start, end in in_text]
    spans += url_spans(text)
    spans += [m.span() for m in _NOT_QUANTITIES.finditer(text)]
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        if _currency_next_to(text, start, -1) or _currency_next_to(text, end, 1):
            spans.append((start, end))
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _currency_next_to(text: str, index: int, step: int) -> bool:
    """Is there a currency sign right before (step -1) or after (step 1) `index`,
    allowing one space between (`$20`, `20$`, `20 €`)?"""
    i = index - 1 if step < 0 else index
    for _ in range(2):
        if not 0 <= i < len(text):
            return False
        if unicodedata.category(text[i]) == "Sc":
            return True
        if text[i] != " ":
            return False
        i += step
    return False


# Canonical composition folds at most this many code points into one (U+1F82 has a
# four-character NFD), and casefold never shortens: a string whose normal form is
# a trigger is at most this many times longer than that normal form.
_MAX_NFD_LENGTH = 4
_HASH_RUN = re.compile(f"[{HASH_SIGNS}]+")


def strip_trigger_tags(text: str, words: TriggerWords) -> str:
    """`text` with the signs removed from every trigger tag, for messages we send.

    Stricter than the hashtag rules, because other networks and clients find tags
    their own way: a run of `#`/`＃` goes whenever the text right after it, up to
    any point where a letter, mark, digit or `_` does not follow, is a trigger tag
    (so `#cart`, `x#cart`, `&#cart`, `##cart` and `#cart\\u200dx` all lose their
    signs; `#carts` and `#cartel` keep theirs). Repeated until nothing changes,
    since removing signs can join two words.
    """
    triggers = words.normal_forms
    if not triggers:
        return text
    longest = _MAX_NFD_LENGTH * max(len(t) for t in triggers)
    while True:
        stripped = _strip_once(text, triggers, longest)
        if stripped == text:
            return text
        text = stripped


def _strip_once(text: str, triggers: frozenset[str], longest: int) -> str:
    pieces: list[str] = []
    kept_from = 0
    for run in _HASH_RUN.finditer(text):
        if _trigger_follows(text, run.end(), triggers, longest):
            pieces.append(text[kept_from : run.start()])
            kept_from = run.end()
    if kept_from == 0:
        return text
    pieces.append(text[kept_from:])
    return "".join(pieces)


def _trigger_follows(text: str, start: int, triggers: frozenset[str], longest: int) -> bool:
    stop = min(len(text), start + longest)
    for end in range(start + 1, stop + 1):
        last = text[end - 1]
        if last.isspace() or last in HASH_SIGNS:
            return False
        if (end == len(text) or not _is_word_char(text[end])) and normalize_tag(
            text[start:end]
        ) in triggers:
            return True
    return False


def _is_word_char(char: str) -> bool:
    return char == "_" or unicodedata.category(char)[0] in "LM" or char.isdecimal()
