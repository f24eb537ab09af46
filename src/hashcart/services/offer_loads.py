"""Loading offers (issue 12, offers by hashtag): a shopper's post with an offer's tag, and a
load that waited for its account to link.

The rules (domain/offers.load_decision) are judged by the post's own time: within a batch
the posts are taken in their networks' time order (then id), so the first `limit` posts
win whatever order they arrived in; across batches, commit order decides (a later batch
finds the earlier one's loads). The offers' rows are locked for the transaction (and
ingest serializes its writers), so concurrent loaders on PostgreSQL count the same loads
and the limit holds.

Exactly once: a post delivered again finds its own load (or its answer's dedupe key) and
changes nothing. An offer post does not claim the post's action: the same reply may also
be a `#cart` request (`#cart #summer20` under a product post), which keeps its action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hashcart.domain.messages import Reason
from hashcart.domain.offers import LoadDecision, Offer, describe, load_decision
from hashcart.domain.posts import Network
from hashcart.domain.triggers import normalize_tag
from hashcart.ports import Contact, Repository
from hashcart.services.notify import Notices
from hashcart.services.shop import Shop

__all__ = ["OfferAsk", "load_offers", "load_pending_offers", "offer_title"]

SECONDS_PER_DAY = 86_400
_REASONS = {
    LoadDecision.LOADED: Reason.OFFER_LOADED,
    LoadDecision.ALREADY_LOADED: Reason.OFFER_ALREADY_LOADED,
    LoadDecision.EXHAUSTED: Reason.OFFER_EXHAUSTED,
    LoadDecision.EXPIRED: Reason.OFFER_EXPIRED,
}


@dataclass(frozen=True, slots=True)
class OfferAsk:
    """A post carrying an offer's tag (the first one it carries)."""

    network: Network
    post_id: str
    author_id: str
    author_handle: str
    created_at: datetime
    tag: str
    # The post it replies to or quotes (the shop's offer post, often): for the funnel.
    parent_id: str | None


@dataclass
class LoadCounts:
    loaded: int = 0
    pending: int = 0
    refused: int = 0
    duplicates: int = 0


def offer_title(offer: Offer) -> str:
    """How messages name an offer: its tag (sanitized into a plain word on the way out,
    so our answer never loads anything) and what it takes off."""
    return f"{offer.tag} ({describe(offer)})"


def load_offers(
    repo: Repository, shop: Shop, asks: Sequence[OfferAsk], now: datetime
) -> tuple[LoadCounts, int]:
    """Act on a batch's offer posts; (what happened, messages queued)."""
    counts = LoadCounts()
    unique = {(a.network, a.post_id): a for a in asks}
    ordered = sorted(unique.values(), key=lambda a: (a.created_at, a.network, a.post_id))
    if not ordered:
        return counts, 0
    store = repo.offers
    offers = store.by_tags({a.tag for a in ordered})
    ids = {offer.id for offer in offers.values()}
    store.lock(ids)
    accounts = {(str(a.network), a.author_id) for a in ordered}
    existing = store.loads_of_accounts(ids, accounts)
    contacts = repo.contacts_for_accounts([(a.network, a.author_id) for a in ordered])
    customers = {c.customer_id for c in contacts.values()}
    by_customer = store.loads_of_customers(ids, customers)
    loaded_so_far = store.loaded_counts(ids)
    notices = Notices(shop)
    strangers: list[tuple[OfferAsk, Offer]] = []
    for ask in ordered:
        offer = offers.get(normalize_tag(ask.tag))
        if offer is None:  # the offer went between reading the shop and this batch
            continue
        prior = existing.get((offer.id, str(ask.network), ask.author_id))
        if prior is not None and prior.trigger_post_id == ask.post_id:
            counts.duplicates += 1  # this very post, delivered again: answered the first time
            continue
        contact = contacts.get((ask.network, ask.author_id))
        if contact is None:
            if prior is None:
                strangers.append((ask, offer))
            # An unlinked account that asked before waits already: nothing new to say.
            continue
        already = prior is not None or (offer.id, contact.customer_id) in by_customer
        decision = load_decision(
            offer,
            posted_at=ask.created_at,
            loaded_by_account=already,
            loads_so_far=loaded_so_far.get(offer.id, 0),
        )
        if decision is LoadDecision.LOADED:
            store.add_load(
                offer_id=offer.id,
                network=str(ask.network),
                account_id=ask.author_id,
                customer_id=contact.customer_id,
                status="loaded",
                trigger_post_id=ask.post_id,
                parent_post_id=ask.parent_id,
                posted_at=ask.created_at,
                at=now,
            )
            loaded_so_far[offer.id] = loaded_so_far.get(offer.id, 0) + 1
            by_customer.add((offer.id, contact.customer_id))
            counts.loaded += 1
        else:
            counts.refused += 1
        _tell(notices, ask, offer, decision, contact)
    _keep_for_linking(repo, shop, strangers, notices, counts)
    return counts, notices.flush(repo, now)


def _tell(
    notices: Notices,
    ask: OfferAsk,
    offer: Offer,
    decision: LoadDecision,
    contact: Contact | None,
) -> None:
    reason = _REASONS.get(decision)
    if reason is None:  # paused: loads nothing, says nothing (domain/offers.LoadDecision)
        return
    notices.tell(
        ask.network,
        ask.author_id,
        ask.author_handle,
        ask.post_id,
        reason,
        contact,
        title=offer_title(offer),
    )


def _keep_for_linking(
    repo: Repository,
    shop: Shop,
    strangers: list[tuple[OfferAsk, Offer]],
    notices: Notices,
    counts: LoadCounts,
) -> None:
    """Posts from accounts not linked: held like a `#cart` request (a pending load until
    the account links or `pending_expiry_days` pass), and the account asked to link once a
    UTC day of the posts' own times (the same allowance as `#cart`'s). An offer that is
    paused or over already gets no pending load: it says so (ended) or nothing (paused)."""
    waiting: list[OfferAsk] = []
    for ask, offer in strangers:
        decision = load_decision(
            offer, posted_at=ask.created_at, loaded_by_account=False, loads_so_far=0
        )
        if decision is not LoadDecision.LOADED:
            counts.refused += 1
            _tell(notices, ask, offer, decision, None)
            continue
        added = repo.offers.add_load(
            offer_id=offer.id,
            network=str(ask.network),
            account_id=ask.author_id,
            customer_id=None,
            status="pending",
            trigger_post_id=ask.post_id,
            parent_post_id=ask.parent_id,
            posted_at=ask.created_at,
            at=ask.created_at,
            expires_at=_plus(ask.created_at, shop.pending_expiry),
        )
        if added:
            counts.pending += 1
            waiting.append(ask)
    if not waiting:
        return
    days = {(a.network, a.author_id, _day(a.created_at)): a for a in reversed(waiting)}
    noticed = repo.claim_link_notices(list(days))
    expiry_days = shop.pending_expiry.total_seconds() / SECONDS_PER_DAY
    for ask in waiting:
        notice = (ask.network, ask.author_id, _day(ask.created_at))
        if notice in noticed and days[notice] is ask:
            notices.tell(
                ask.network,
                ask.author_id,
                ask.author_handle,
                ask.post_id,
                Reason.LINK_NEEDED,
                None,
                expiry_days=expiry_days,
            )


def load_pending_offers(
    repo: Repository,
    shop: Shop,
    network: Network,
    account_id: str,
    handle: str,
    customer_id: int,
    now: datetime,
    notices: Notices,
) -> int:
    """The account just linked to `customer_id`: load what it asked for while unlinked
    (oldest post first), judged as the post would have been: expiry by the post's time,
    the limit and once-per-customer now. Each gets its answer on the shopper's channel.
    Returns how many were loaded."""
    store = repo.offers
    pending = store.pending_of_account(str(network), account_id)
    if not pending:
        return 0
    ids = {load.offer_id for load in pending}
    store.lock(ids)
    offers = {offer_id: store.find(offer_id) for offer_id in ids}
    contact = repo.contacts_of_customers([customer_id]).get(customer_id)
    by_customer = store.loads_of_customers(ids, [customer_id])
    loaded_so_far = store.loaded_counts(ids)
    loaded = 0
    for load in pending:
        offer = offers.get(load.offer_id)
        if offer is None:
            continue
        if load.expires_at is not None and load.expires_at <= now:
            store.settle_pending(load.id, "expired", None, now)
            continue
        decision = load_decision(
            offer,
            posted_at=load.posted_at,
            loaded_by_account=(offer.id, customer_id) in by_customer,
            loads_so_far=loaded_so_far.get(offer.id, 0),
        )
        if decision is LoadDecision.PAUSED:
            continue  # it waits: the merchant may resume the offer before it expires
        if decision is LoadDecision.LOADED:
            if not store.settle_pending(load.id, "loaded", customer_id, now):
                continue
            loaded_so_far[offer.id] = loaded_so_far.get(offer.id, 0) + 1
            by_customer.add((offer.id, customer_id))
            loaded += 1
        else:  # over, all taken, or the customer has it through another account
            store.settle_pending(load.id, "refused", None, now)
        reason = _REASONS[decision]
        notices.tell(
            network,
            account_id,
            handle,
            load.trigger_post_id,
            reason,
            contact,
            title=offer_title(offer),
        )
    return loaded


def _day(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() // SECONDS_PER_DAY)


def _plus(moment: datetime, span: timedelta) -> datetime:
    try:
        return moment + span
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)
