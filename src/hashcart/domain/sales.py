"""Live sales (issue 13): the claim grammar, the ranking rule and the settle rule, as pure
functions the store's settle step and the tests share.

A **claim** is a reply to one of a sale's posts that names an item number:

- a verb word, then the item number, anywhere in the text, as whole words: `sold 12`,
  `claim 12`, `Sold #12` (the claim words), `pass 12` (give a held item back),
  `waitlist 12`; the words are the shop's settings, compared case-insensitively in their
  normal form (NFKC, casefold: domain/triggers);
- or the item number first, with no verb: `12 red M` (only at the start of the text, after
  @mentions, so `I have 2 kids` under a sale post is no claim).

What follows the item number are choice words that may pick a variant (`red M`,
domain/variants) and a quantity (`x2`, `2x`, `×2`; none means 1, above `max_quantity` gives
`max_quantity`). Links, @mentions and hashtags are never words. The networks' text forms
meet here as `Post.text` (X's text with its entities, Mastodon's HTML as decoded text,
Bluesky's record text with its facets), so one grammar reads all three.

**Ranking**: claims are ordered by the post's own creation time as the network states it,
ties broken by post id (numeric ids by number: X and Mastodon ids grow with time), then by
network. **Settling**: a claim is settled once `claim_settle_seconds` have passed since its
own time; until then it is provisional and nobody is told. `allocate` is the rule a settle
step applies to the settleable claims of one item, in rank order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from hashcart.domain.hashtags import extract_hashtags, url_spans
from hashcart.domain.triggers import choice_words, normalize_tag
from hashcart.errors import HashcartError

__all__ = [
    "DEFAULT_CLAIM_WORDS",
    "DEFAULT_PASS_WORDS",
    "DEFAULT_WAITLIST_WORDS",
    "Allocation",
    "Claim",
    "ClaimAction",
    "ClaimWords",
    "Outcome",
    "RankedClaim",
    "SaleInputError",
    "allocate",
    "is_settled",
    "parse_claim",
    "parse_item_option",
    "parse_post_option",
    "rank_key",
    "settles_at",
]

DEFAULT_CLAIM_WORDS = ("sold", "claim")
DEFAULT_PASS_WORDS = ("pass",)
DEFAULT_WAITLIST_WORDS = ("waitlist",)
# Item numbers are short labels viewers read off a stream: 1 to 6 digits.
MAX_ITEM_DIGITS = 6


class ClaimAction(StrEnum):
    CLAIM = "claim"
    PASS = "pass"
    WAITLIST = "waitlist"


@dataclass(frozen=True, slots=True)
class Claim:
    """What a reply to a sale post asks: `item` is the item number as written (no leading
    zeros), `words` the choice words after it (normal form), `quantity` at least 1."""

    action: ClaimAction
    item: str
    words: tuple[str, ...] = ()
    quantity: int = 1


_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class ClaimWords:
    """The words that make a claim, a pass and a waitlist request (the shop's settings)."""

    claim: tuple[str, ...] = DEFAULT_CLAIM_WORDS
    passing: tuple[str, ...] = DEFAULT_PASS_WORDS
    waitlist: tuple[str, ...] = DEFAULT_WAITLIST_WORDS
    _by_word: Mapping[str, ClaimAction] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_word: dict[str, ClaimAction] = {}
        for action, words in (
            (ClaimAction.CLAIM, self.claim),
            (ClaimAction.PASS, self.passing),
            (ClaimAction.WAITLIST, self.waitlist),
        ):
            if isinstance(words, str):
                raise ValueError(f"{action} words must be a list of words, not {words!r}")
            for word in words:
                if not isinstance(word, str) or not _WORD.fullmatch(word) or word.isdigit():
                    raise ValueError(f"{action} word {word!r} must be one word of letters")
                first = by_word.setdefault(normalize_tag(word), action)
                if first is not action:
                    raise ValueError(f"claim word {word!r} is configured for {first} and {action}")
        object.__setattr__(self, "_by_word", by_word)

    def action_of(self, word: str) -> ClaimAction | None:
        return self._by_word.get(normalize_tag(word))


# One token of the text: a run of anything but white space.
_TOKEN = re.compile(r"\S+")
_ITEM = re.compile(rf"[#\uff03]?0*([1-9][0-9]{{0,{MAX_ITEM_DIGITS - 1}}})[!?.,:;]*")
_QUANTITY = re.compile(r"(?:[x\u00d7]([0-9]+)|([0-9]+)[x\u00d7])[!?.,;]*", re.IGNORECASE)
_MENTIONS = re.compile(r"(?<![\w.+\-])[\w.+\-]*[@\uff20][\w.\-]*")
_EDGES = "!?.,:;()[]{}\"'\u201c\u201d"


def parse_claim(text: str, words: ClaimWords, max_quantity: int = 99) -> Claim | None:
    """The claim `text` makes (see the module's text), or None."""
    if max_quantity < 1:
        raise ValueError(f"max_quantity must be at least 1, not {max_quantity}")
    tokens = _tokens(unicodedata.normalize("NFKC", text))
    for index, token in enumerate(tokens[:-1]):
        action = words.action_of(token.strip(_EDGES))
        if action is None:
            continue
        item = _ITEM.fullmatch(tokens[index + 1])
        if item is not None:
            return _claim(action, item.group(1), tokens[index + 2 :], max_quantity)
    if tokens:
        item = _ITEM.fullmatch(tokens[0])
        if item is not None:
            return _claim(ClaimAction.CLAIM, item.group(1), tokens[1:], max_quantity)
    return None


def _tokens(text: str) -> list[str]:
    """The text's tokens without links, @mentions and hashtags (blanked where they stood)."""
    spans = url_spans(text) + [m.span() for m in _MENTIONS.finditer(text)]
    spans += [(start, end) for _, start, end in extract_hashtags(text)]
    if spans:
        chars = list(text)
        for start, end in spans:
            chars[start:end] = " " * (end - start)
        text = "".join(chars)
    # A hashtag of digits (`#12`) is no hashtag to extract_hashtags: it stays, as an item.
    return _TOKEN.findall(text)


def _claim(action: ClaimAction, item: str, rest: Sequence[str], max_quantity: int) -> Claim:
    quantity = 1
    kept: list[str] = []
    found = False
    for token in rest:
        match = _QUANTITY.fullmatch(token)
        if match is not None and not found:
            digits = (match.group(1) or match.group(2)).lstrip("0")
            if digits:
                found = True
                too_long = len(digits) > len(str(max_quantity))
                quantity = max_quantity if too_long else min(int(digits), max_quantity)
                continue
        kept.append(token)
    chosen = choice_words(" ".join(kept)) if action is ClaimAction.CLAIM else ()
    return Claim(action, str(int(item)), chosen, quantity if action is ClaimAction.CLAIM else 1)


# --- ranking and settling ---


def rank_key(created_at: datetime, post_id: str, network: str = "") -> tuple[datetime, str, str]:
    """The order claims are served in: the platform's time, then the post id (numeric ids by
    their number), then the network, so any two distinct claims are ordered."""
    id_key = post_id.rjust(40, "0") if post_id.isascii() and post_id.isdigit() else post_id
    return created_at, id_key, network


def settles_at(created_at: datetime, window: timedelta) -> datetime:
    """When a claim made at `created_at` is settled: its own time plus the settle window."""
    return created_at + window


def is_settled(created_at: datetime, now: datetime, window: timedelta) -> bool:
    """Whether a claim made at `created_at` may be settled at `now`."""
    return settles_at(created_at, window) <= now


class Outcome(StrEnum):
    WON = "won"
    WAITLISTED = "waitlisted"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class RankedClaim:
    """A claim as the allocation sees it: who (`shopper`, one key per shopper), how many,
    and its rank key (`rank_key`)."""

    key: object
    shopper: str
    quantity: int
    rank: tuple[datetime, str, str]


@dataclass(frozen=True)
class Allocation:
    outcomes: dict[object, Outcome]
    left: int


def allocate(
    claims: Iterable[RankedClaim],
    free: int,
    limit: int | None,
    held_by: Mapping[str, int] | None = None,
) -> Allocation:
    """Settle claims of one item: in rank order, each claim wins if its quantity fits in the
    `free` units and keeps its shopper within `limit` units of the item (counting what
    `held_by` says each shopper holds already); a claim over the limit is refused
    (`LIMIT`), one that does not fit is waitlisted. A claim for more than is left never
    takes part of it, and a later smaller claim may still fit (first fit, in rank order)."""
    held = dict(held_by or {})
    outcomes: dict[object, Outcome] = {}
    for claim in sorted(claims, key=lambda c: c.rank):
        if claim.key in outcomes:
            continue  # the same claim delivered twice is one claim
        mine = held.get(claim.shopper, 0)
        if limit is not None and mine + claim.quantity > limit:
            outcomes[claim.key] = Outcome.LIMIT
        elif claim.quantity <= free:
            free -= claim.quantity
            held[claim.shopper] = mine + claim.quantity
            outcomes[claim.key] = Outcome.WON
        else:
            outcomes[claim.key] = Outcome.WAITLISTED
    return Allocation(outcomes, free)


# --- the merchant's options (`hashcart sales open`) ---


class SaleInputError(HashcartError, ValueError):
    """A sale option that cannot be used; the message says what to write instead."""


_ITEM_OPTION = re.compile(r"([0-9]{1,6})=([^:\s]+)(?::([0-9]{1,9}))?")


def parse_item_option(text: str) -> tuple[str, str, int | None]:
    """`12=PRODUCT_ID[:STOCK]`: (item number, product id, sale stock or None: the product's
    own count decides)."""
    match = _ITEM_OPTION.fullmatch(text.strip())
    if match is None:
        raise SaleInputError(
            f"an item is NUMBER=PRODUCT_ID or NUMBER=PRODUCT_ID:STOCK (12=mug:5), not {text!r}"
        )
    stock = match.group(3)
    return str(int(match.group(1))), match.group(2), None if stock is None else int(stock)


def parse_post_option(text: str, networks: Sequence[str]) -> tuple[str, str]:
    """`NETWORK:POST_ID` (the post id may hold colons: a Bluesky AT-URI)."""
    network, _, post_id = text.strip().partition(":")
    if network not in networks or not post_id.strip():
        known = ", ".join(networks)
        raise SaleInputError(f"a post is NETWORK:POST_ID with NETWORK one of {known}: not {text!r}")
    return network, post_id.strip()
