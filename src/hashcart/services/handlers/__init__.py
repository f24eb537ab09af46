"""Trigger kinds' handlers, and the registry that pairs each kind with its handler.

A new kind is a handler module here plus one registry line, `register(KIND, HANDLER)`:
the kind (domain/kinds) says its tags and grammar, the handler what it does (see base).
The engine dispatches through `reply_handler` (services/actions: a batch of one kind's
resolved requests at a time) and `post_handlers` (services/ingest: posts that ask on their
own). The prefilter, the X stream rules and the Mastodon hashtag streams take every
registered kind's tags (services/shop `Shop.every_tag`).

The reply kinds are registered below. The link kind's handler and line are in
services/link_kind, which services/ingest imports: linking an account applies its pending
intents through the reply kinds registered here, so a link handler in this package would
make it import itself (handlers -> link_codes -> linking -> actions -> handlers).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hashcart.domain.kinds import (
    BUY,
    CART,
    CLAIM,
    CONFIRM,
    KINDS,
    OFFER,
    ORDER_STATUS,
    REMOVE,
    WISHLIST,
    Grammar,
    TriggerKind,
)
from hashcart.services.handlers import (
    buy,
    cart,
    claim,
    confirm,
    offer,
    order_status,
    remove,
    wishlist,
)
from hashcart.services.handlers.base import (
    Decision,
    Handler,
    ListRequest,
    PostHandler,
    ReplyBatch,
    ReplyHandler,
    UnlinkedRequest,
    add_entries,
)

__all__ = [
    "Decision",
    "Handler",
    "ListRequest",
    "PostHandler",
    "ReplyBatch",
    "ReplyHandler",
    "UnlinkedRequest",
    "add_entries",
    "post_handlers",
    "register",
    "registered",
    "reply_handler",
    "unregister",
]

_REPLY: dict[str, ReplyHandler] = {}
_POST: dict[str, PostHandler] = {}


def register(kind: TriggerKind, handler: Handler) -> None:
    """Make `kind` known everywhere (its tags, domain/kinds.KINDS) and acted on by
    `handler`, whose shape must fit the kind's grammar."""
    if kind.grammar is Grammar.REPLY and not isinstance(handler, ReplyHandler):
        raise TypeError(f"trigger kind {kind.name!r} reads replies: give it a ReplyHandler")
    if kind.grammar is Grammar.POST and not isinstance(handler, PostHandler):
        raise TypeError(f"trigger kind {kind.name!r} reads posts: give it a PostHandler")
    KINDS.add(kind)
    if isinstance(handler, ReplyHandler):
        _REPLY[kind.name] = handler
    else:
        _POST[kind.name] = handler


@contextmanager
def registered(kind: TriggerKind, handler: Handler) -> Iterator[TriggerKind]:
    """`kind` and its handler registered for the duration of the block (tests)."""
    fresh = kind.name not in KINDS
    register(kind, handler)
    try:
        yield kind
    finally:
        if fresh:
            unregister(kind.name)


def unregister(name: str) -> None:
    """Forget the kind `name` and its handler (tests take out what they registered; a
    trigger of it stored before is no longer acted on: `reply_handler` says None)."""
    KINDS.remove(name)
    _REPLY.pop(name, None)
    _POST.pop(name, None)


def reply_handler(kind: str) -> ReplyHandler | None:
    """The handler of a reply kind; None for a kind no longer registered (a trigger stored,
    or kept pending, before its kind was taken out)."""
    return _REPLY.get(kind) if kind in KINDS else None


def post_handlers() -> list[tuple[str, PostHandler]]:
    """The post kinds' handlers, in registry order."""
    return [(kind.name, _POST[kind.name]) for kind in KINDS if kind.name in _POST]


register(CART, cart.HANDLER)
register(WISHLIST, wishlist.HANDLER)
register(REMOVE, remove.HANDLER)
# Order care (issue 12): a post of its own, `@shop #order`.
register(ORDER_STATUS, order_status.HANDLER)
# Buy with a post (issue 12): `#buy` under a product post, then `#confirm CODE` on its own.
register(BUY, buy.HANDLER)
register(CONFIRM, confirm.HANDLER)
# Offers by hashtag (issue 12): a post of its own, `#summer20`; its tags are the offers'.
register(OFFER, offer.HANDLER)
# Live sales (issue 13): a reply to a sale post, `sold 12`; no tag, the sale's posts decide.
register(CLAIM, claim.HANDLER)
