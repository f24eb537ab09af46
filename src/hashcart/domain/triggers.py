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
- a kind's word, right after the tag: `#cart remove` (or `#cart undo`) asks for the kind
  that follows the cart kind with that word (domain/kinds `follows`), not for the cart;
  the position, if any, comes after the word (`#cart remove 2`).
- choice words, anywhere in the text: what is left once the trigger tag, the kind's word,
  hashtags, links, @mentions, the quantity and the position are taken out, split at spaces
  and at `,;!?()[]{}"|`, in normal form (NFKC, casefold): `#cart red M` has the words
  `red` and `m`, which may pick a variant of the product (domain/variants). A word holding
  a control or format character (a zero-width space, a NUL) is dropped, so it matches
  nothing, as such a character inside a tag makes it no tag; letters of other scripts stay
  themselves (a Cyrillic `М` is not the Latin `M`).
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
    "choice_words",
    "normalize_tag",
    "parse_trigger",
    "parse_trigger_and_words",
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
    # Kinds asked by a word right after another kind's tag (`#cart remove`), as
    # (kind, the kind it follows, its words); see domain/kinds `follows`.
    followers: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def __init__(self, **tags: Sequence[str]) -> None:
        given = {**dict(_DEFAULT_TAGS), **tags}
        object.__setattr__(self, "by_kind", _checked(given))
        object.__setattr__(self, "followers", ())

    @classmethod
    def of(
        cls,
        tags: Mapping[str, Sequence[str]],
        followers: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    ) -> TriggerWords:
        """Exactly these kinds' tags, in this order, and the kinds asked by a word after one
        of them (`{"remove": ("cart", ["remove", "undo"])}`)."""
        words = cls.__new__(cls)
        object.__setattr__(words, "by_kind", _checked(tags))
        object.__setattr__(words, "followers", _checked_followers(followers or {}))
        return words

    def follower_of(self, kind: str, word: str) -> str | None:
        """The kind `word` (any case or width) asks for right after a tag of `kind`."""
        return _follower_words(self.followers).get((kind, normalize_tag(word)))

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

    def normal_forms_of(self, kind: str) -> frozenset[str]:
        """One kind's tags' normal forms: the post kinds' readers ask for every post (a live
        sale's burst: thousands a second), and making them each time was most of a reader's
        cost."""
        return _forms_of(self.by_kind, kind)

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


_FOLLOWER_WORD = re.compile(r"[^\W_]+")


def _checked_followers(
    followers: Mapping[str, tuple[str, Sequence[str]]],
) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    checked = []
    for kind, (follows, written) in followers.items():
        if isinstance(written, str) or not isinstance(written, Sequence):
            raise ValueError(f"{kind} words must be a list of words, not {written!r}")
        for word in written:
            if not isinstance(word, str) or not _FOLLOWER_WORD.fullmatch(word):
                raise ValueError(f"{kind} word {word!r} must be one word of letters or digits")
        checked.append((kind, follows, tuple(written)))
    frozen = tuple(checked)
    _follower_words(frozen)  # validates
    return frozen


@lru_cache(maxsize=64)
def _follower_words(
    followers: tuple[tuple[str, str, tuple[str, ...]], ...],
) -> dict[tuple[str, str], str]:
    """(kind followed, normal word) -> the kind it asks for."""
    found: dict[tuple[str, str], str] = {}
    for kind, follows, written in followers:
        for word in written:
            first = found.setdefault((follows, normalize_tag(word)), kind)
            if first != kind:
                raise ValueError(f"word {word!r} after {follows} asks for {first} and {kind}")
    return found


@lru_cache(maxsize=256)
def _forms_of(by_kind: tuple[tuple[str, tuple[str, ...]], ...], kind: str) -> frozenset[str]:
    return frozenset(normalize_tag(tag) for tag in dict(by_kind).get(kind, ()))


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
    parsed = _parse(text, tags, words, max_quantity, with_words=False)
    return None if parsed is None else parsed[0]


def parse_trigger_and_words(
    text: str,
    tags: Sequence[str] | None,
    words: TriggerWords,
    max_quantity: int,
) -> tuple[TriggerRequest, tuple[str, ...]] | None:
    """`parse_trigger`'s request, with the post's choice words (see the module's text)."""
    return _parse(text, tags, words, max_quantity, with_words=True)


def _parse(
    text: str,
    tags: Sequence[str] | None,
    words: TriggerWords,
    max_quantity: int,
    *,
    with_words: bool,
) -> tuple[TriggerRequest, tuple[str, ...]] | None:
    if max_quantity < 1:
        raise ValueError(f"max_quantity must be at least 1, not {max_quantity}")
    in_text = extract_hashtags(text) if tags is None else None
    candidates = list(tags) if tags is not None else [tag for tag, _, _ in in_text or ()]
    found = next(((t, k) for t in candidates if (k := words.kind_of(t)) is not None), None)
    if found is None:
        return None
    tag, kind = found
    if in_text is None:  # the metadata named a trigger; its place in the text gives position
        needs_text = with_words or words.followers or _ANY_DIGIT.search(text) is not None
        if not needs_text:  # no number anywhere: no position, no quantity, no kind's word
            return TriggerRequest(kind=kind, tag=tag, quantity=1, position=None), ()
        in_text = extract_hashtags(text)
    wanted = normalize_tag(tag)
    occurrence = next((h for h in in_text if normalize_tag(h[0]) == wanted), None)
    position = None
    taken: list[tuple[int, int]] = []  # spans that are no choice words
    if occurrence is not None:
        tag = occurrence[0]
        after = occurrence[2]
        follower = _FOLLOWER.match(text, after)
        if follower is not None:
            asked = words.follower_of(kind, follower.group(1))
            if asked is not None:
                kind, after = asked, follower.end()
                taken.append(follower.span())
        position_match = _position_match(text, after)
        if position_match is not None:
            position = int(position_match.group(1)) or None
            taken.append(position_match.span())
    quantity, quantity_span = _quantity(text, in_text, max_quantity)
    if quantity_span is not None:
        taken.append(quantity_span)
    request = TriggerRequest(kind=kind, tag=tag, quantity=quantity, position=position)
    return request, (_choice_words(text, in_text, taken) if with_words else ())


_HORIZONTAL_SPACE = "[ \\t\\u00a0\\u2000-\\u200a\\u202f\\u205f\\u3000]"

# The kind's word after a tag: horizontal space, then a word ending at a space, punctuation
# or the end (`#cart remove`, `#cart undo!`; not `#cart removed`).
_FOLLOWER = re.compile(rf"{_HORIZONTAL_SPACE}+([^\W_]+)(?!\w)")

_POSITION = re.compile(
    rf"{_HORIZONTAL_SPACE}+[#\uff03]?([0-9]{{1,2}})"
    r"(?![0-9])(?=\Z|\s|[!?,.;:)\]}](?![0-9]))"
)


def _position_match(text: str, tag_end: int) -> re.Match[str] | None:
    """The position right after `tag_end`, if one is there (its number is group 1)."""
    match = _POSITION.match(text, tag_end)
    if match is None:
        return None
    rest = text[match.end() :].lstrip(" \t\u00a0")
    if rest and unicodedata.category(rest[0]) == "Sc":  # `#cart 20 €` is a price
        return None
    return match


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


def _quantity(
    text: str, in_text: list[tuple[str, int, int]], max_quantity: int
) -> tuple[int, tuple[int, int] | None]:
    """The quantity asked for, and where it was written (None: nowhere, so 1)."""
    if _ANY_DIGIT.search(text) is None:  # every quantity form has a digit; most posts none
        return 1, None
    masked = _mask_non_quantities(text, in_text)
    for match in _QUANTITY.finditer(masked):
        digits = (match.group(1) or match.group(2) or match.group(3)).lstrip("0")
        if not digits:
            continue  # x0 asks for nothing; a later form may still count
        if len(digits) > len(str(max_quantity)):  # also keeps int() off huge digit runs
            return max_quantity, match.span()
        return min(int(digits), max_quantity), match.span()
    return 1, None


# Choice words: at most this many, each at most this long (a post may be 25,000 characters;
# a variant's colour or size is a word or three).
MAX_CHOICE_WORDS = 24
MAX_CHOICE_WORD_CHARS = 40
_CHOICE_WORD = re.compile(r"[^\s,;!?()\[\]{}\"|\u201c\u201d\u00ab\u00bb]+")
_WORD_EDGES = ".:'\u2019"
# Mentions and e-mail addresses: never choice words. Matched only from the start of a run
# (the look-behind), so a long run without an `@` is scanned once, not once per character.
_MENTIONS = re.compile(r"(?<![\w.+\-])[\w.+\-]*[@\uff20][\w.\-]*")


def _choice_words(
    text: str, in_text: list[tuple[str, int, int]], taken: list[tuple[int, int]]
) -> tuple[str, ...]:
    spans = [(start, end) for _, start, end in in_text] + taken + url_spans(text)
    spans += [m.span() for m in _MENTIONS.finditer(text)]
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return choice_words("".join(chars))[:MAX_CHOICE_WORDS]


def choice_words(text: str) -> tuple[str, ...]:
    """`text` as choice words: split, in normal form, without words holding a control or
    format character or longer than MAX_CHOICE_WORD_CHARS. The catalog's colours and sizes
    are read the same way (domain/variants), so both sides always split alike."""
    found: list[str] = []
    for match in _CHOICE_WORD.finditer(unicodedata.normalize("NFKC", text)):
        word = match.group().strip(_WORD_EDGES).casefold()
        if word and len(word) <= MAX_CHOICE_WORD_CHARS and not _has_control(word):
            found.append(word)
    return tuple(found)


def _has_control(word: str) -> bool:
    """Control, format, surrogate, private-use or unassigned: a zero-width space, a NUL."""
    if word.isascii():
        # ASCII's only category C characters are its controls (0-31, 127), exactly the ones
        # it calls unprintable (the space is printable, and no word holds one): one call
        # instead of a category lookup a character, for every word of every trigger.
        return not word.isprintable()
    return any(unicodedata.category(char)[0] == "C" for char in word)


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
    if _HASH_RUN.search(text) is None:
        return text  # no sign, no tag (most of a message's pieces: a title, a handle)
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
