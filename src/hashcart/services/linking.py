"""Linking a social account to a customer, and applying what the account asked for meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hashcart.domain.messages import OutboundMessage, Reason, compose
from hashcart.domain.posts import Network
from hashcart.services.actions import apply_to_list
from hashcart.services.shop import Shop
from hashcart.store.repository import Repository


class LinkError(ValueError):
    """The link cannot be made; the message says why in words a person can act on."""


@dataclass
class LinkResult:
    created: bool
    applied: int = 0
    expired: int = 0


def link_account(
    repo: Repository,
    shop: Shop,
    email: str,
    network: Network,
    account_id: str,
    handle: str | None,
    now: datetime,
) -> LinkResult:
    """Tie the account to the customer, then apply its unexpired pending intents in order."""
    customer_id = repo.customer_id(email)
    if customer_id is None:
        raise LinkError(f"no customer with email {email!r} (add one with `hashcart customers add`)")
    owner = repo.customer_for_account(network, account_id)
    if owner is not None and owner != customer_id:
        raise LinkError(f"{network} account {account_id!r} is already linked to another customer")
    created = repo.add_link(customer_id, network, account_id, handle, now)
    result = LinkResult(created=created)
    for intent in repo.waiting_intents(network, account_id):
        if intent.expires_at <= now:
            repo.set_intent_status(intent.id, "expired")
            result.expired += 1
            continue
        outcome = apply_to_list(
            repo,
            shop,
            customer_id,
            intent.list_kind,
            intent.product_id,
            intent.quantity,
            network,
            intent.trigger_post_id,
            now,
        )
        repo.set_intent_status(intent.id, "applied")
        repo.set_action_outcome(
            network, intent.trigger_post_id, outcome, customer_id, intent.product_id
        )
        reason = (
            Reason.PENDING_APPLIED
            if outcome in (Reason.ADDED, Reason.WISHLISTED)
            else Reason(outcome)
        )
        ctx = shop.message_context(intent.account_handle or handle or "", intent.trigger_post_id)
        text = compose(
            reason,
            ctx,
            title=shop.title(intent.product_id),
            quantity=intent.quantity,
            list_kind=intent.list_kind,
        )
        repo.queue_message(
            OutboundMessage(network, account_id, intent.trigger_post_id, reason, text), now
        )
        result.applied += 1
    return result
