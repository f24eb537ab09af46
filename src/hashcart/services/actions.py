"""What triggers do: the one action per trigger post, and the messages that announce them.

Triggers are acted on a batch at a time, with a handful of statements per batch rather than
several per trigger (that is what keeps ingest fast): read which triggers acted already,
find each other one's product and shopper, keep those of unlinked accounts as pending
intents, and hand each trigger kind's share of the rest to its handler
(services/handlers), which writes it in bulk; then the actions with their outcomes (the
unique constraint decides which are new: see act_on_triggers) and the messages are
written in bulk. Everything runs inside the caller's
transaction, so the cart changes and their messages commit together (the outbox rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hashcart.domain.messages import Reason
from hashcart.domain.posts import Network
from hashcart.domain.variants import Options
from hashcart.errors import HashcartError
from hashcart.ports import Contact, Repository, StoredPost
from hashcart.services.counts import ActionCounts
from hashcart.services.handlers import (
    Decision,
    ListRequest,
    ReplyBatch,
    UnlinkedRequest,
    reply_handler,
)
from hashcart.services.notify import Notices
from hashcart.services.shop import Shop

__all__ = [
    "ActedMeanwhile",
    "ActionCounts",
    "ListRequest",
    "act_on_triggers",
    "apply_requests",
]

SECONDS_PER_DAY = 86_400
# The outcome of a trigger whose kind is not registered any more (it was stored, or kept
# pending, while it was): recorded, nothing done, nobody told.
UNKNOWN_KIND = "unknown_kind"


@dataclass
class _Outcomes:
    """What a batch decided, written in bulk at the end."""

    at: datetime
    notices: Notices
    actions: list[dict[str, object]] = field(default_factory=list)

    def record(
        self,
        network: Network,
        trigger_post_id: str,
        outcome: str,
        customer_id: int | None = None,
        product_id: str | None = None,
    ) -> None:
        self.actions.append(
            {
                "network": network,
                "trigger_post_id": trigger_post_id,
                "outcome": outcome,
                "customer_id": customer_id,
                "product_id": product_id,
            }
        )

    def flush_new(self, repo: Repository, keys: Sequence[tuple[Network, str]]) -> int:
        """Insert the actions of `keys` (none had one) with their outcomes, then the
        messages. A key some path left without an outcome is inserted `claimed`, as it
        stayed before. One of them inserted by another transaction meanwhile means that
        one acted too: ActedMeanwhile rolls this one back, so the trigger's act stays the
        other's alone."""
        recorded = {(action["network"], action["trigger_post_id"]) for action in self.actions}
        unrecorded = {key: None for key in keys if key not in recorded}
        rows = [
            {
                "network": network,
                "trigger_post_id": post_id,
                "outcome": "claimed",
                "customer_id": None,
                "product_id": None,
            }
            for network, post_id in unrecorded
        ] + self.actions
        inserted = repo.record_actions(rows, self.at)
        if len(inserted) < len(set(keys)):
            raise ActedMeanwhile(sorted(set(keys) - inserted))
        return self.notices.flush(repo, self.at)


class ActedMeanwhile(HashcartError):
    """Another transaction recorded one of a batch's actions while the batch acted: the batch
    must roll back (its acts are that transaction's to do) and may be done again."""


def act_on_triggers(
    repo: Repository, shop: Shop, triggers: Sequence[StoredPost], at: datetime, counts: ActionCounts
) -> None:
    """Act on triggers whose parents are stored, in order. One that acted before is skipped.

    Each trigger's action is inserted once, with its outcome, after its act (it was
    inserted `claimed` first and updated to the outcome: a second write of the row and two
    more funnel marks, the largest part of PostgreSQL's CPU a post at small batches,
    docs/benchmarks.md "s28-pgwrites"). Claiming first is what keeps an outside effect
    at most once; a trigger's act here has none: every handler writes in this transaction
    only (buys are paid after the commit, services/ingest), so the act and its action
    commit together or not at all. The unique key still decides: a racing transaction
    that inserted one of these actions first makes flush_new raise ActedMeanwhile, and
    this batch's acts are rolled back with it. (The engine's batches never race so: each
    holds its triggers' post keys or the writers' turn, Repository.take_post_turns.)
    """
    if not triggers:
        return
    # Which acted already, and the products of every trigger's parent (those of the ones
    # that acted are read for nothing: one read instead of two, the parents being few).
    acted, products = repo.acted_and_products(
        [(t.network, t.post_id) for t in triggers],
        [(t.network, t.parent_id or "") for t in triggers],
    )
    todo = [t for t in triggers if (t.network, t.post_id) not in acted]
    if not todo:
        return
    # Who is linked, and how each wants to hear from us, for the whole batch in one read.
    contacts = repo.contacts_for_accounts([(t.network, t.author_id) for t in todo])
    done = _Outcomes(at, Notices(shop))
    requests: list[ListRequest] = []
    unlinked: list[tuple[StoredPost, str, int]] = []
    for trigger in todo:
        assert trigger.parent_id is not None and trigger.list_kind is not None
        # A group's variants count once: the position picks a product, the words a variant.
        offered = shop.variants.collapse(products.get((trigger.network, trigger.parent_id), []))
        if not offered:
            # Silence beats spam: a trigger under a post without a shop product is only counted.
            counts.no_product += 1
            done.record(trigger.network, trigger.post_id, "no_product")
            continue
        product_id, words = _chosen_with_words(shop, offered, trigger)
        contact = contacts.get((trigger.network, trigger.author_id))
        if product_id is None:
            counts.which_product += 1
            done.record(trigger.network, trigger.post_id, Reason.WHICH_PRODUCT)
            done.notices.tell(
                trigger.network,
                trigger.author_id,
                trigger.author_handle,
                trigger.post_id,
                Reason.WHICH_PRODUCT,
                contact,
                options=[shop.group_title(p) for p in offered],
            )
            continue
        chosen = shop.variants.choose(product_id, words)
        if isinstance(chosen, Options):
            _ask_which_variant(shop, trigger, chosen, contact, done, counts)
            continue
        product_id = chosen
        quantity = trigger.quantity or 1
        if contact is None:
            unlinked.append((trigger, product_id, quantity))
            continue
        requests.append(
            ListRequest(
                trigger.network,
                trigger.post_id,
                trigger.author_id,
                trigger.author_handle,
                contact.customer_id,
                trigger.list_kind,
                product_id,
                quantity,
            )
        )
    _apply(repo, shop, requests, done, counts, {c.customer_id: c for c in contacts.values()})
    kept: list[tuple[StoredPost, str, int]] = []
    answered_now: list[tuple[StoredPost, str, int]] = []
    for item in unlinked:
        (answered_now if _answers_unlinked(item[0].list_kind or "") else kept).append(item)
    _keep_pending(repo, shop, kept, done, counts)
    _answer_unlinked(repo, shop, answered_now, done, counts)
    counts.messages += done.flush_new(repo, [(t.network, t.post_id) for t in todo])


def apply_requests(
    repo: Repository,
    shop: Shop,
    requests: Sequence[ListRequest],
    at: datetime,
    notices: Notices | None = None,
) -> list[str]:
    """Apply list requests outside ingest (a new link applying pending intents); outcomes.

    Their messages join `notices` when given (the caller queues them), else are queued here.
    """
    done = _Outcomes(at, notices or Notices(shop))
    contacts = repo.contacts_of_customers(r.customer_id for r in requests) if requests else {}
    outcomes = _apply(repo, shop, requests, done, ActionCounts(), contacts)
    repo.set_action_outcomes(done.actions)
    if notices is None:
        done.notices.flush(repo, at)
    return outcomes


def _chosen(offered: list[str], position: int | None) -> str | None:
    """The product a trigger names: by position, or the only one; None means ask which."""
    if position is not None:
        return offered[position - 1] if 1 <= position <= len(offered) else None
    return offered[0] if len(offered) == 1 else None


def _chosen_with_words(
    shop: Shop, offered: list[str], trigger: StoredPost
) -> tuple[str | None, tuple[str, ...]]:
    """The product a trigger names, and the words that may pick its variant. Under a post
    of one product in several variants, the number after the tag is a word, not a
    position: `#cart 10` asks for size 10 of the only product there is."""
    position = trigger.position
    if len(offered) == 1 and position is not None and shop.variants.group_of(offered[0]):
        return offered[0], (str(position), *trigger.words)
    return _chosen(offered, position), trigger.words


def _ask_which_variant(
    shop: Shop,
    trigger: StoredPost,
    options: Options,
    contact: Contact | None,
    done: _Outcomes,
    counts: ActionCounts,
) -> None:
    """The words did not settle the variant: nothing is added, the shopper is asked (a
    public reply for an account not linked yet, as for which_product)."""
    counts.which_variant += 1
    done.record(trigger.network, trigger.post_id, Reason.WHICH_VARIANT)
    done.notices.tell(
        trigger.network,
        trigger.author_id,
        trigger.author_handle,
        trigger.post_id,
        Reason.WHICH_VARIANT,
        contact,
        title=shop.group_title(options.product_id),
        choices=(("color", options.colors), ("size", options.sizes)),
        example=options.example,
    )


def _answers_unlinked(kind: str) -> bool:
    handler = reply_handler(kind)
    return handler is not None and handler.act_unlinked is not None


def _answer_unlinked(
    repo: Repository,
    shop: Shop,
    unlinked: list[tuple[StoredPost, str, int]],
    done: _Outcomes,
    counts: ActionCounts,
) -> None:
    """Hand the requests of unlinked accounts whose kind answers them at once to their
    handlers (after the batch's pending intents are written), and announce what each did
    by public reply."""
    by_kind: dict[str, list[tuple[StoredPost, str, int]]] = {}
    for item in unlinked:
        by_kind.setdefault(item[0].list_kind or "", []).append(item)
    batch = ReplyBatch(repo, shop, done.at)
    for kind, items in by_kind.items():
        handler = reply_handler(kind)
        assert handler is not None and handler.act_unlinked is not None
        decisions = handler.act_unlinked(
            batch,
            [
                UnlinkedRequest(
                    t.network, t.post_id, t.author_id, t.author_handle, kind, product, quantity
                )
                for t, product, quantity in items
            ],
        )
        for (trigger, product_id, _), decision in zip(items, decisions, strict=True):
            _count(counts, decision.reason)
            done.record(trigger.network, trigger.post_id, decision.reason, None, product_id)
            done.notices.tell(
                trigger.network,
                trigger.author_id,
                trigger.author_handle,
                trigger.post_id,
                decision.reason,
                None,
                title=decision.title,
                quantity=decision.quantity,
                list_kind=decision.into,
                **decision.details,
            )


def _count(counts: ActionCounts, reason: Reason) -> None:
    if reason in (Reason.ADDED, Reason.WISHLISTED):
        counts.lines_added += 1
    elif reason == Reason.UNAVAILABLE:
        counts.unavailable += 1
    elif reason == Reason.REMOVED:
        counts.removed += 1
    elif reason == Reason.BUY_CONFIRM_NEEDED:
        counts.buys_requested += 1
    else:
        counts.already += 1


def _apply(
    repo: Repository,
    shop: Shop,
    requests: Sequence[ListRequest],
    done: _Outcomes,
    counts: ActionCounts,
    contacts: dict[int, Contact],
) -> list[str]:
    """Hand each kind's requests to its handler in one go, then record and announce what
    each did in the requests' own order, telling each shopper the way they chose
    (`contacts`, by customer id)."""
    by_kind: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        by_kind.setdefault(request.list_kind, []).append(index)
    batch = ReplyBatch(repo, shop, done.at)
    decided: dict[int, Decision] = {}
    for kind, indexes in by_kind.items():
        handler = reply_handler(kind)
        if handler is not None:
            decisions = handler.act(batch, [requests[i] for i in indexes])
            decided.update(zip(indexes, decisions, strict=True))
    outcomes: list[str] = []
    for index, request in enumerate(requests):
        decision = decided.get(index)
        if decision is None:
            outcomes.append(UNKNOWN_KIND)
            done.record(request.network, request.trigger_post_id, UNKNOWN_KIND)
            continue
        reason = decision.reason
        outcomes.append(reason.value)
        _count(counts, reason)
        done.record(
            request.network,
            request.trigger_post_id,
            reason,
            request.customer_id,
            request.product_id,
        )
        if request.confirm_as is not None and reason in (Reason.ADDED, Reason.WISHLISTED):
            reason = request.confirm_as
        done.notices.tell(
            request.network,
            request.account_id,
            request.handle,
            request.trigger_post_id,
            reason,
            contacts.get(request.customer_id),
            title=decision.title,
            quantity=decision.quantity,
            list_kind=decision.into,
            **decision.details,
        )
    return outcomes


def _keep_pending(
    repo: Repository,
    shop: Shop,
    unlinked: list[tuple[StoredPost, str, int]],
    done: _Outcomes,
    counts: ActionCounts,
) -> None:
    """Keep requests from unlinked accounts, and ask each account to link once a day."""
    if not unlinked:
        return
    repo.add_pending_intents(
        [
            {
                "network": t.network,
                "account_id": t.author_id,
                "account_handle": t.author_handle,
                "trigger_post_id": t.post_id,
                "list_kind": t.list_kind,
                "product_id": product_id,
                "quantity": quantity,
                "trigger_at": t.created_at,
                "expires_at": _plus(t.created_at, shop.pending_expiry),
            }
            for t, product_id, quantity in unlinked
        ]
    )
    # One link_needed per account per UTC day of the triggers' own times: a fixed window, so
    # the same posts in any order ask the same number of times.
    days = {(t.network, t.author_id, _day(t.created_at)): t for t, _, _ in reversed(unlinked)}
    noticed = repo.claim_link_notices(list(days))
    expiry_days = shop.pending_expiry.total_seconds() / SECONDS_PER_DAY
    for trigger, product_id, _ in unlinked:
        counts.pending += 1
        done.record(trigger.network, trigger.post_id, "pending", None, product_id)
        notice = (trigger.network, trigger.author_id, _day(trigger.created_at))
        if notice in noticed and days[notice] is trigger:
            # Not linked: no preference is known, so this is a public reply.
            done.notices.tell(
                trigger.network,
                trigger.author_id,
                trigger.author_handle,
                trigger.post_id,
                Reason.LINK_NEEDED,
                None,
                expiry_days=expiry_days,
            )


def _day(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() // SECONDS_PER_DAY)


def _plus(moment: datetime, span: timedelta) -> datetime:
    """`moment + span`, or the last moment there is: ingest dates posts from the future as
    now, but an expiry must never be what overflows."""
    try:
        return moment + span
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)
