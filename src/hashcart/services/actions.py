"""What a trigger does: the one action per trigger post, and the message that announces it.

Everything here runs inside the caller's transaction, so the cart change and its message
commit together (the outbox rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hashcart.domain.messages import OutboundMessage, Reason, compose
from hashcart.domain.posts import Network
from hashcart.services.shop import Shop
from hashcart.store.repository import Repository, StoredPost

SECONDS_PER_DAY = 86_400


@dataclass
class ActionCounts:
    """How the triggers acted, for the ingest summary."""

    lines_added: int = 0
    pending: int = 0
    messages: int = 0
    no_product: int = 0
    which_product: int = 0
    unavailable: int = 0
    already: int = 0


def _queue(repo: Repository, counts: ActionCounts, message: OutboundMessage, at: datetime) -> None:
    if repo.queue_message(message, at):
        counts.messages += 1


def apply_to_list(
    repo: Repository,
    shop: Shop,
    customer_id: int,
    list_kind: str,
    product_id: str,
    quantity: int,
    network: Network,
    trigger_post_id: str,
    at: datetime,
) -> str:
    """Put a product in a customer's cart or wish list; returns the outcome (a Reason value)."""
    if list_kind == "cart" and not shop.is_available(product_id):
        return Reason.UNAVAILABLE
    added = repo.add_to_list(
        list_kind, customer_id, product_id, quantity, network, trigger_post_id, at
    )
    if list_kind == "cart":
        return Reason.ADDED if added else Reason.ALREADY_IN_CART
    return Reason.WISHLISTED if added else Reason.ALREADY_WISHLISTED


def act(
    repo: Repository, shop: Shop, trigger: StoredPost, at: datetime, counts: ActionCounts
) -> None:
    """Act on a trigger whose parent is known. A trigger that acted before changes nothing."""
    assert trigger.parent_id is not None and trigger.list_kind is not None
    if not repo.record_action(trigger.network, trigger.post_id, "claimed", at):
        return
    products = repo.post_product_ids(trigger.network, trigger.parent_id)
    ctx = shop.message_context(trigger.author_handle, trigger.post_id)

    def reply(reason: Reason, text: str) -> None:
        message = OutboundMessage(trigger.network, trigger.author_id, trigger.post_id, reason, text)
        _queue(repo, counts, message, at)

    if not products:
        # Silence beats spam: a trigger under a post without a shop product is only counted.
        counts.no_product += 1
        repo.set_action_outcome(trigger.network, trigger.post_id, "no_product", None, None)
        return
    position = trigger.position
    if position is not None and 1 <= position <= len(products):
        product_id = products[position - 1]
    elif len(products) == 1 and position is None:
        product_id = products[0]
    else:
        counts.which_product += 1
        repo.set_action_outcome(trigger.network, trigger.post_id, Reason.WHICH_PRODUCT, None, None)
        titles = [shop.title(product) for product in products]
        reply(Reason.WHICH_PRODUCT, compose(Reason.WHICH_PRODUCT, ctx, options=titles))
        return

    quantity = trigger.quantity or 1
    title = shop.title(product_id)
    customer_id = repo.customer_for_account(trigger.network, trigger.author_id)
    if customer_id is None:
        _keep_pending(repo, shop, trigger, product_id, quantity, at, counts)
        return
    outcome = apply_to_list(
        repo,
        shop,
        customer_id,
        trigger.list_kind,
        product_id,
        quantity,
        trigger.network,
        trigger.post_id,
        at,
    )
    repo.set_action_outcome(trigger.network, trigger.post_id, outcome, customer_id, product_id)
    _count_outcome(counts, outcome)
    reply(Reason(outcome), compose(Reason(outcome), ctx, title=title, quantity=quantity))


def _count_outcome(counts: ActionCounts, outcome: str) -> None:
    if outcome in (Reason.ADDED, Reason.WISHLISTED):
        counts.lines_added += 1
    elif outcome == Reason.UNAVAILABLE:
        counts.unavailable += 1
    else:
        counts.already += 1


def _keep_pending(
    repo: Repository,
    shop: Shop,
    trigger: StoredPost,
    product_id: str,
    quantity: int,
    at: datetime,
    counts: ActionCounts,
) -> None:
    assert trigger.list_kind is not None
    repo.set_action_outcome(trigger.network, trigger.post_id, "pending", None, product_id)
    repo.add_pending_intent(
        {
            "network": trigger.network,
            "account_id": trigger.author_id,
            "account_handle": trigger.author_handle,
            "trigger_post_id": trigger.post_id,
            "list_kind": trigger.list_kind,
            "product_id": product_id,
            "quantity": quantity,
            "trigger_at": trigger.created_at,
            "expires_at": trigger.created_at + shop.pending_expiry,
        }
    )
    counts.pending += 1
    # One link_needed per account per UTC day of the triggers' own times: a fixed window, so
    # the same posts in any order ask the same number of times.
    day = int(trigger.created_at.astimezone(UTC).timestamp() // SECONDS_PER_DAY)
    if repo.claim_link_notice(trigger.network, trigger.author_id, day):
        ctx = shop.message_context(trigger.author_handle, trigger.post_id)
        days = shop.pending_expiry.total_seconds() / SECONDS_PER_DAY
        text = compose(Reason.LINK_NEEDED, ctx, expiry_days=days)
        message = OutboundMessage(
            trigger.network, trigger.author_id, trigger.post_id, Reason.LINK_NEEDED, text
        )
        _queue(repo, counts, message, at)
