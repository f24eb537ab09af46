"""Trigger kinds: what a tagged post can ask for, and the tags that ask for it.

A kind has a name (stored with the trigger post and with a pending intent, so at most 16
characters), its tags (a setting the shop configures, or fixed ones) and a grammar:

- `Grammar.REPLY`: a reply or quote about its parent's product, read by the trigger grammar
  (domain/triggers: position, quantity). The engine finds the product, the shopper and
  whether they are linked; the kind's handler acts on the batch of its requests.
- `Grammar.POST`: a post on its own (`#cartlink K7Q2M9XD`); the kind's handler reads it.

A kind may also be asked by a plain word right after another kind's tag (`follows`):
`#cart remove` is the remove kind, not a cart request. Its `default_tags` are then those
words; they are never hashtags, so they join no tag list (prefilter, stream rules).

`KINDS` lists the kinds in the order their tags are listed and matched (cart, wishlist,
link, remove). Their handlers live in services/handlers, which registers a new kind and its handler
in one call, so a new kind is a handler module plus one registry line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hashcart.domain.triggers import normalize_tag

__all__ = [
    "BUY",
    "CART",
    "CLAIM",
    "CONFIRM",
    "KINDS",
    "LINK",
    "OFFER",
    "ORDER_STATUS",
    "REMOVE",
    "WISHLIST",
    "Grammar",
    "KindRegistry",
    "TriggerKind",
]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")


class Grammar(StrEnum):
    REPLY = "reply"  # about the parent's product: `#cart 2 x3` under a product post
    POST = "post"  # on its own: `#cartlink K7Q2M9XD`


@dataclass(frozen=True)
class TriggerKind:
    """One kind of trigger. `setting` names the Settings field that holds its tags (without
    '#'); a kind without one answers to `default_tags` only. A kind that `follows` another
    kind's name is asked by one of its words right after that kind's tag (`#cart remove`):
    its `default_tags` are those words, never hashtags of their own."""

    name: str
    default_tags: tuple[str, ...]
    setting: str | None = None
    grammar: Grammar = Grammar.REPLY
    follows: str | None = None
    # A post kind that asks the shop itself (`@shop #order`): streams that must ask their
    # network for tags ask for its tags only in posts that mention the shop (X stream rules),
    # so a common word does not bring everyone's posts (X bills each one).
    addressed: bool = False
    # A kind that came after shops chose their tags: while its tags are its defaults, any of
    # them another kind has (a shop whose cart tag is `order`) is left to that kind, so
    # adding the kind never breaks a shop's settings. Tags set on purpose are checked as ever.
    yields_defaults: bool = False
    # A kind the shop can turn off: the name of a boolean setting; while it is false the
    # kind has no tags, so its posts are no triggers at all (nothing acts, nobody is told).
    enabled_by: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"trigger kind name {self.name!r} must be 1 to 16 lower-case letters, "
                "digits or '_', starting with a letter (it is stored with each trigger)"
            )

    def tags(self, settings: Any) -> tuple[str, ...]:
        """This kind's tags as `settings` say: a Settings, or a mapping of its fields (the
        console's values); a kind without a setting has its default tags."""
        if self.enabled_by is not None and not _enabled(settings, self.enabled_by):
            return ()
        if self.setting is None:
            return self.default_tags
        if isinstance(settings, Mapping):
            return tuple(settings.get(self.setting, self.default_tags))
        return tuple(getattr(settings, self.setting, self.default_tags))


CART = TriggerKind("cart", ("cart",), "cart_tags")
WISHLIST = TriggerKind("wishlist", ("wishlist",), "wishlist_tags")
LINK = TriggerKind("link", ("cartlink",), "link_tags", Grammar.POST)
# `#cart remove` / `#cart undo` under a product post: that product out of the cart.
REMOVE = TriggerKind("remove", ("remove", "undo"), follows=CART.name)
# `@shop #order`: a linked shopper's latest orders, told privately (issue 12, order care).
ORDER_STATUS = TriggerKind(
    "order_status",
    ("order",),
    "order_status_tags",
    Grammar.POST,
    addressed=True,
    yields_defaults=True,
)

# --- buy with a post (issue 12) ---
# `#buy` under a product post: the product held and a one-time code sent; `#confirm CODE`
# from the same account buys it with the saved card (services/buying). Both came after
# shops chose their tags, so their defaults yield to another kind's (yields_defaults).
# `buy_enabled = false` (the console's switch) takes both kinds' tags away.
BUY = TriggerKind("buy", ("buy",), "buy_tags", yields_defaults=True, enabled_by="buy_enabled")
# A confirm is addressed to the shop: on X (where a reply reaches only those who mention the
# shop) the stream asks for `#confirm` only in posts that mention it, not everyone's.
CONFIRM = TriggerKind(
    "confirm",
    ("confirm",),
    "confirm_tags",
    Grammar.POST,
    addressed=True,
    yields_defaults=True,
    enabled_by="buy_enabled",
)


def _enabled(settings: Any, name: str) -> bool:
    """A kind's on/off setting as `settings` say (a Settings or a mapping); on when unsaid."""
    value = (
        settings.get(name, True) if isinstance(settings, Mapping) else getattr(settings, name, True)
    )
    return bool(value)


# --- offers by hashtag (issue 12) ---
# `#summer20`: a shopper loads the offer with that tag. Its tags are data (the merchant's
# offers, store/offers), not a setting: services/shop puts the listened offers' tags under
# this kind when it loads the shop, so the prefilter and the streams hear them.
OFFER = TriggerKind("offer", (), None, Grammar.POST)


# --- live sales (issue 13) ---
# `sold 12` in a reply to a live sale's post: no tag at all; the handler knows the sale posts
# (services/shop `sale_posts`) and reads the claim grammar (domain/sales).
CLAIM = TriggerKind("claim", (), None, Grammar.POST)


class KindRegistry:
    """The kinds the engine knows, in order; names are unique."""

    def __init__(self, kinds: Sequence[TriggerKind] = ()) -> None:
        self._kinds: dict[str, TriggerKind] = {}
        for kind in kinds:
            self.add(kind)

    def add(self, kind: TriggerKind) -> None:
        """Register `kind` (again is fine: the same kind twice changes nothing)."""
        known = self._kinds.get(kind.name)
        if known is not None and known != kind:
            raise ValueError(f"a different trigger kind named {kind.name!r} is registered")
        self._kinds[kind.name] = kind

    def remove(self, name: str) -> None:
        self._kinds.pop(name, None)

    @contextmanager
    def added(self, kind: TriggerKind) -> Iterator[TriggerKind]:
        """`kind` registered for the duration of the block (tests)."""
        fresh = kind.name not in self._kinds
        self.add(kind)
        try:
            yield kind
        finally:
            if fresh:
                self.remove(kind.name)

    def __iter__(self) -> Iterator[TriggerKind]:
        return iter(list(self._kinds.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def get(self, name: str) -> TriggerKind | None:
        return self._kinds.get(name)

    def of(self, grammar: Grammar) -> list[TriggerKind]:
        return [kind for kind in self._kinds.values() if kind.grammar is grammar]

    def tags_by_kind(
        self, settings: Any, grammar: Grammar | None = None
    ) -> dict[str, tuple[str, ...]]:
        """Each kind's tags as `settings` say (only kinds of `grammar`, when given). Kinds
        asked by a word after another kind's tag have no tags: see `words_after`. A kind
        that `yields_defaults` leaves out the default tags another kind has."""
        every = {
            kind.name: kind.tags(settings) for kind in self._kinds.values() if kind.follows is None
        }
        for kind in self._kinds.values():
            tags = every.get(kind.name)
            if tags is not None and kind.yields_defaults and tags == kind.default_tags:
                taken = {
                    normalize_tag(tag)
                    for name, others in every.items()
                    if name != kind.name
                    for tag in others
                }
                every[kind.name] = tuple(t for t in tags if normalize_tag(t) not in taken)
        return {
            kind.name: every[kind.name]
            for kind in self._kinds.values()
            if kind.follows is None and (grammar is None or kind.grammar is grammar)
        }

    def words_after(self, settings: Any) -> dict[str, tuple[str, tuple[str, ...]]]:
        """The kinds asked by a word after another kind's tag: name -> (the kind whose tag
        they follow, their words as `settings` say)."""
        return {
            kind.name: (kind.follows, kind.tags(settings))
            for kind in self._kinds.values()
            if kind.follows is not None
        }


# Every kind the engine acts on. services/handlers registers each one's handler.
KINDS = KindRegistry((CART, WISHLIST, LINK, REMOVE, ORDER_STATUS, BUY, CONFIRM, OFFER, CLAIM))
