"""Linking a social account to a customer, and applying what the account asked for meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hashcart.domain.messages import Reason
from hashcart.domain.posts import Network
from hashcart.errors import HashcartError
from hashcart.ports import Repository
from hashcart.services.actions import ListRequest, apply_requests
from hashcart.services.notify import Notices
from hashcart.services.offer_loads import load_pending_offers
from hashcart.services.shop import Shop


class LinkError(HashcartError, ValueError):
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
    *,
    notices: Notices | None = None,
) -> LinkResult:
    """Tie the account to the customer, then apply its unexpired pending intents in order.

    The confirmations (pending_applied, by the customer's chosen channel) join `notices`
    when given, for the caller to queue with its own; else they are queued here."""
    repo.serialize_writers()  # an ingest must not keep a new intent pending meanwhile
    customer_id = repo.customer_id(email)
    if customer_id is None:
        raise LinkError(f"no customer with email {email!r} (add one with `hashcart customers add`)")
    owner = repo.customer_for_account(network, account_id)
    if owner is not None and owner != customer_id:
        raise LinkError(f"{network} account {account_id!r} is already linked to another customer")
    created = repo.add_link(customer_id, network, account_id, handle, now)
    result = LinkResult(created=created)
    requests = []
    for intent in repo.waiting_intents(network, account_id):
        if intent.expires_at <= now:
            repo.set_intent_status(intent.id, "expired")
            result.expired += 1
            continue
        repo.set_intent_status(intent.id, "applied")
        requests.append(
            ListRequest(
                network,
                intent.trigger_post_id,
                account_id,
                intent.account_handle or handle or "",
                customer_id,
                intent.list_kind,
                intent.product_id,
                intent.quantity,
                confirm_as=Reason.PENDING_APPLIED,
            )
        )
    apply_requests(repo, shop, requests, now, notices)
    result.applied = len(requests)
    # Offers the account asked for while unlinked (issue 12, offers by hashtag).
    told = notices if notices is not None else Notices(shop)
    result.applied += load_pending_offers(
        repo, shop, network, account_id, handle or "", customer_id, now, told
    )
    if notices is None:
        told.flush(repo, now)
    return result
