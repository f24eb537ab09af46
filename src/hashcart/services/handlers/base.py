"""What a trigger kind's handler is given and gives back.

Two shapes, by the kind's grammar (domain/kinds):

- `ReplyHandler` acts on requests the engine has already resolved: a reply's product (by
  position or the parent's only one), its shopper (linked; unlinked ones wait as pending
  intents) and its quantity. It gets the whole batch of its kind at once, so it can write
  with one statement per table, and says per request what it did (`Decision`); the engine
  records the outcomes and tells the shoppers in the triggers' own order.
- `PostHandler` reads posts of its kind on their own (`#cartlink CODE` needs no parent):
  `read` says whether a post is one of its kind, `act` acts on a batch's posts inside the
  batch's transaction, before the reply triggers of the same batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hashcart.domain.carts import ListKind
from hashcart.domain.messages import Reason
from hashcart.domain.posts import Network, Post
from hashcart.ports import ListEntry, Repository
from hashcart.services.counts import IngestStats
from hashcart.services.shop import Shop

# A post kind's work left for after its batch's commit (`PostHandler.act`), given a
# repository in a transaction of its own.
AfterCommit = Callable[[Repository], None]


@dataclass(frozen=True, slots=True)
class ListRequest:
    """What one reply trigger asks for, resolved: `list_kind` is the trigger's kind (the
    name stored with it), `product_id` the product it names, on behalf of `customer_id`."""

    network: Network
    trigger_post_id: str
    account_id: str
    handle: str
    customer_id: int
    list_kind: str
    product_id: str
    quantity: int
    # The reason to confirm a new entry with: added/wishlisted, or pending_applied on link.
    confirm_as: Reason | None = None


@dataclass(frozen=True, slots=True)
class UnlinkedRequest:
    """What one reply trigger from an account not linked yet asks for, resolved: only for
    kinds whose handler answers such accounts at once (`ReplyHandler.act_unlinked`)."""

    network: Network
    trigger_post_id: str
    account_id: str
    handle: str
    list_kind: str
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Decision:
    """What a handler did with one request. `reason` is the outcome recorded and the
    message sent; `title` and `quantity` are how the message names what was added, and
    `into` the list it went to (the wording of a pending intent applied on link)."""

    reason: Reason
    title: str
    quantity: int
    into: ListKind = "cart"
    # More facts for the message's text (domain/messages.compose keyword arguments, such as
    # a buy's `buy=BuyFacts(...)`).
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReplyBatch:
    """Where a reply handler works: the batch's open transaction, the shop, the time."""

    repo: Repository
    shop: Shop
    at: datetime


@dataclass(frozen=True)
class ReplyHandler:
    act: Callable[[ReplyBatch, Sequence[ListRequest]], list[Decision]]
    # Requests from accounts not linked yet. None (most kinds): they wait as pending intents
    # and are applied when the account links. A kind that must answer now (`#cart remove`
    # takes back a waiting request) decides them here, after the batch's new pending
    # intents are written; the answers go out as public replies (no preference is known).
    act_unlinked: Callable[[ReplyBatch, Sequence[UnlinkedRequest]], list[Decision]] | None = None


@dataclass(frozen=True)
class PostHandler:
    # A post of this kind (what `act` needs of it), or None. The post is as the engine will
    # store it (a date from the future is already made now).
    read: Callable[[Post, Shop], Any | None]
    # What it returns, if anything, runs after the batch's commit in a transaction of its
    # own (a live sale's waitlisted claims, written after the winners: services/sales).
    act: Callable[[Repository, Shop, Sequence[Any], datetime, IngestStats], AfterCommit | None]


Handler = ReplyHandler | PostHandler


def add_entries(
    batch: ReplyBatch,
    into: ListKind,
    requests: Sequence[tuple[ListRequest, str, int]],
) -> list[bool]:
    """Put (request, product, quantity) entries on `into` in one statement; per entry,
    whether it was new. A product already on the list is left as it is, and within the
    batch the first request for a product takes it (later ones find it there): the rule
    carts.REPLY_ADD names for the cart, and the wish list's only rule."""
    entries = [
        ListEntry(into, r.customer_id, product, quantity, r.network, r.trigger_post_id)
        for r, product, quantity in requests
    ]
    added = batch.repo.add_list_entries(entries, batch.at)
    fresh: list[bool] = []
    for entry in entries:
        key = (into, entry.customer_id, entry.product_id)
        fresh.append(key in added)
        added.discard(key)
    return fresh
