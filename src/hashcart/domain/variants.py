"""Variants: one product in several colours and sizes, and which one a shopper's words pick.

A catalog row may carry Google Merchant Center's `item_group_id`, `color` and `size`: the
rows that share an `item_group_id` are the variants of one product. A link to any of them
names the group; the shopper's choice words (domain/triggers: `#cart red M`) pick the
variant:

- each colour and size of the group that the words spell out (as whole words, in order,
  in the same normal form: `navy blue` matches "Navy Blue"; a longer value mentioned wins
  over a shorter one inside it) narrows the group to the variants with that value;
- exactly one colour-and-size left settles it (rows identical in both: the first by id),
  unless the words name two colours or two sizes;
- anything else (no words, a colour and size the group lacks, two colours) settles
  nothing: the shopper is asked, with the colours and sizes to choose from (`Options`).

A group of one row is no choice. Words that name no value of the group are ignored
(`please`, `thanks`). Other scripts' look-alike letters are other letters: a Cyrillic `М`
is not the size M, and a word holding a zero-width character is no word (domain/triggers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hashcart.domain.triggers import choice_words

__all__ = ["Options", "Variant", "VariantGroups", "shared_title"]

# Google Merchant Center's limits for these columns (characters).
MAX_GROUP_ID_CHARS = 50
MAX_VALUE_CHARS = 100


@dataclass(frozen=True, slots=True)
class Variant:
    product_id: str
    group: str
    color: str | None = None
    size: str | None = None


@dataclass(frozen=True, slots=True)
class Options:
    """What to offer a shopper whose words did not settle the variant, as the catalog
    spells them: the colours and sizes among the variants still possible (an attribute
    with one value left is no question and is left empty)."""

    product_id: str  # the variant the link named (for the title)
    colors: tuple[str, ...]
    sizes: tuple[str, ...]
    # A choice that exists, to show how to answer: the listed attributes of the first
    # variant still possible ("Blue L", never a colour and size the shop lacks).
    example: tuple[str, ...] = ()


class VariantGroups:
    """The catalog's variant groups; built once per loaded catalog, then only read."""

    __slots__ = ("_by_product", "_members")

    def __init__(self, variants: Iterable[Variant]) -> None:
        members: dict[str, list[Variant]] = {}
        for variant in sorted(variants, key=lambda v: v.product_id):
            members.setdefault(variant.group, []).append(variant)
        self._members = {group: found for group, found in members.items() if len(found) > 1}
        self._by_product = {
            variant.product_id: group for group, found in self._members.items() for variant in found
        }

    def group_of(self, product_id: str) -> str | None:
        """The product's group, when it has other variants."""
        return self._by_product.get(product_id)

    def members(self, product_id: str) -> list[str]:
        """The product ids of the product's group (none when it has no group)."""
        group = self._by_product.get(product_id)
        return [] if group is None else [v.product_id for v in self._members[group]]

    def collapse(self, offered: Sequence[str]) -> list[str]:
        """The products a post offers with each group's variants counted once (its first
        link stands for the group): the positions a reply picks count in this list."""
        seen: set[str] = set()
        kept: list[str] = []
        for product_id in offered:
            group = self._by_product.get(product_id)
            if group is None:
                kept.append(product_id)
            elif group not in seen:
                seen.add(group)
                kept.append(product_id)
        return kept

    def choose(self, product_id: str, words: Sequence[str]) -> str | Options:
        """The variant `words` pick in `product_id`'s group (the product itself when it has
        no group), or the options to ask about."""
        group = self._by_product.get(product_id)
        if group is None:
            return product_id
        members = self._members[group]
        colors = _mentioned([v.color for v in members], words)
        sizes = _mentioned([v.size for v in members], words)
        candidates = [
            v
            for v in members
            if (not colors or _normal(v.color) in colors)
            and (not sizes or _normal(v.size) in sizes)
        ]
        one_each = len(colors) <= 1 and len(sizes) <= 1  # `red blue M` asks which colour
        if (colors or sizes) and one_each and len({_key(v) for v in candidates}) == 1:
            return candidates[0].product_id
        shown = candidates or members
        colors_left = _distinct([v.color for v in shown])
        sizes_left = tuple(sorted(_distinct([v.size for v in shown]), key=_size_order))
        first = shown[0]
        example = tuple(
            value.strip()
            for value, listed in ((first.color, colors_left), (first.size, sizes_left))
            if value and listed
        )
        return Options(product_id, colors_left, sizes_left, example)


def _normal(value: str | None) -> tuple[str, ...]:
    return choice_words(value) if value else ()


def _key(variant: Variant) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return _normal(variant.color), _normal(variant.size)


def _mentioned(values: Sequence[str | None], words: Sequence[str]) -> set[tuple[str, ...]]:
    """The values (in normal form) that `words` spell out, a longer one over one inside it."""
    spans: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for value in {_normal(v) for v in values if v}:
        if not value:
            continue
        for start in range(len(words) - len(value) + 1):
            if tuple(words[start : start + len(value)]) == value:
                spans.setdefault(value, []).append((start, start + len(value)))
    every = [(span, value) for value, found in spans.items() for span in found]
    return {
        value
        for (start, end), value in every
        if not any((s <= start and end <= e) and (e - s) > (end - start) for (s, e), _ in every)
    }


def _distinct(values: Iterable[str | None]) -> tuple[str, ...]:
    """Values as the catalog spells them, once each by normal form, first seen first; a
    single value is no question and gives nothing."""
    found: dict[tuple[str, ...], str] = {}
    for value in values:
        normal = _normal(value)
        if value and normal:
            found.setdefault(normal, value.strip())
    return tuple(found.values()) if len(found) > 1 else ()


# What may end a shared title before the variant's own words: "Tee - Red", "Tee (Red)".
_TITLE_TAIL = " \t-\u2013\u2014/|,:;(["
MIN_SHARED_TITLE = 3


def shared_title(titles: Sequence[str]) -> str | None:
    """The words every title starts with, without a dangling separator; None when they
    share fewer than MIN_SHARED_TITLE characters or are fewer than two."""
    if len(titles) < 2:
        return None
    first, last = min(titles), max(titles)
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    shared = first[:length]
    if length < len(first) and length < len(last) and shared[-1:] not in _TITLE_TAIL:
        shared = shared.rsplit(" ", 1)[0] if " " in shared else ""  # not in mid-word
    shared = shared.rstrip(_TITLE_TAIL)
    return shared if len(shared) >= MIN_SHARED_TITLE else None


_LADDER = ("xxxs", "3xs", "xxs", "2xs", "xs", "s", "m", "l", "xl", "xxl", "2xl", "xxxl", "3xl")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _size_order(size: str) -> tuple[int, float, str]:
    """Letter sizes on their ladder, then numbers by value, then the rest as written."""
    normal = size.strip().casefold()
    if normal in _LADDER:
        return 0, float(_LADDER.index(normal)), normal
    number = _NUMBER.match(normal)
    if number is not None:
        return 1, float(number.group()), normal
    return 2, 0.0, normal
