"""`@shop #order`: a linked shopper's latest orders, told privately (issue 12, order care).

A post of its own (Grammar.POST), acted on once (its action is claimed like a trigger's).
The answer lists the shopper's newest orders (number, day, status, tracking link once
shipped) and is never a public reply, whatever the shopper chose for other messages: a
direct message where hashcart has one it can rely on (domain/order_care.
carries_order_details: Mastodon, Bluesky), else email, and email for those who chose email
only. A private message that cannot go out is emailed by the dispatcher (outbox/fallback).

Only a post that mentions the shop asks (a hashtag stream also carries `#order` posts about
other things): one of the shop's handles on that network (Shop.own_handles). Where none is
configured nobody can tell, and a linked shopper's post is taken as asking. An account no
customer linked learns nothing about any order: it gets the link prompt, at most once a UTC
day (the same daily allowance as `#cart`'s), and only when its post mentions the shop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hashcart.domain.hashtags import hashtags
from hashcart.domain.kinds import ORDER_STATUS
from hashcart.domain.messages import NotifyBy, OutboundMessage, Reason, email_subject
from hashcart.domain.order_care import (
    MAX_LISTED,
    CustomerOrders,
    carries_order_details,
    mentions,
    order_link_prompt,
    order_status_email,
    order_status_text,
)
from hashcart.domain.posts import Network, Post, display_name
from hashcart.domain.triggers import normalize_tag
from hashcart.ports import Contact, Email, Repository
from hashcart.services.counts import IngestStats
from hashcart.services.handlers.base import PostHandler
from hashcart.services.shop import Shop

SECONDS_PER_DAY = 86_400
# Outcomes recorded on the post's action besides Reason values: an unlinked account told
# to link (`link_needed`), or one left unanswered (it did not mention the shop, or was
# told to link earlier that day).
NOT_LINKED = "not_linked"
# A linked shopper's `#order` post that does not mention the shop: not a question for us.
NOT_ASKED = "not_asked"


@dataclass(frozen=True, slots=True)
class OrderAsk:
    """A post asking how its author's orders stand."""

    network: Network
    post_id: str
    author_id: str
    author_handle: str
    created_at: datetime
    # Whether the post mentions the shop; None when the shop's handle on that network is
    # not configured, so nobody can tell.
    mentions_shop: bool | None


def read(post: Post, shop: Shop) -> OrderAsk | None:
    forms = shop.every_word.normal_forms_of(ORDER_STATUS.name)
    if not forms:
        return None
    tags = post.tags if post.tags is not None else hashtags(post.text)
    if not any(normalize_tag(tag) in forms for tag in tags):
        return None
    handles = shop.own_handles.get(post.network.value)
    return OrderAsk(
        post.network,
        post.post_id,
        post.author_id,
        post.author_handle,
        post.created_at,
        mentions(post.text, handles) if handles else None,
    )


def act(
    repo: Repository, shop: Shop, asks: Sequence[OrderAsk], now: datetime, stats: IngestStats
) -> None:
    unique = {(ask.network, ask.post_id): ask for ask in asks}
    claimed = repo.claim_actions(list(unique), now)
    todo = [ask for key, ask in unique.items() if key in claimed]
    stats.duplicates += len(unique) - len(todo)  # delivered again: answered the first time
    if not todo:
        return
    contacts = repo.contacts_for_accounts([(ask.network, ask.author_id) for ask in todo])
    orders = repo.recent_orders({c.customer_id for c in contacts.values()}, MAX_LISTED)
    answer = _Answers(shop)
    outcomes: list[dict[str, object]] = []
    strangers: list[OrderAsk] = []
    for ask in todo:
        contact = contacts.get((ask.network, ask.author_id))
        if contact is None:
            strangers.append(ask)
            continue
        if ask.mentions_shop is False:
            # `#order` about something else (a pizza): a linked shopper asks by mentioning us.
            outcomes.append(_outcome(ask, NOT_ASKED, contact.customer_id))
            continue
        answer.orders(ask, contact, orders.get(contact.customer_id, CustomerOrders((), 0)))
        outcomes.append(_outcome(ask, Reason.ORDER_STATUS, contact.customer_id))
    outcomes += _prompt_strangers(repo, answer, strangers)
    repo.set_action_outcomes(outcomes)
    stats.actions.messages += repo.queue_messages(answer.messages, now)
    stats.actions.messages += repo.queue_emails(answer.emails, now)


def _prompt_strangers(
    repo: Repository, answer: _Answers, strangers: Sequence[OrderAsk]
) -> list[dict[str, object]]:
    """The link prompt for unlinked accounts that mentioned the shop, once per account and
    UTC day of the posts' own times (shared with `#cart`'s prompts: claim_link_notices)."""
    asking = [ask for ask in strangers if ask.mentions_shop is True]
    days = {(a.network, a.author_id, _day(a.created_at)): a for a in reversed(asking)}
    noticed = repo.claim_link_notices(list(days)) if days else set()
    outcomes: list[dict[str, object]] = []
    for ask in strangers:
        notice = (ask.network, ask.author_id, _day(ask.created_at))
        if ask.mentions_shop is True and notice in noticed and days[notice] is ask:
            answer.link_prompt(ask)
            outcomes.append(_outcome(ask, Reason.LINK_NEEDED, None))
        else:
            outcomes.append(_outcome(ask, NOT_LINKED, None))
    return outcomes


class _Answers:
    """The batch's answers, routed: private messages where they can carry order details,
    emails otherwise, and public link prompts (which carry none)."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.messages: list[OutboundMessage] = []
        self.emails: list[Email] = []
        base = shop.account_url.removesuffix("/account")
        self.orders_url = f"{base}/orders"

    def orders(self, ask: OrderAsk, contact: Contact, found: CustomerOrders) -> None:
        shop = self.shop
        by_email = contact.notify_by == NotifyBy.EMAIL_ONLY or not carries_order_details(
            ask.network
        )
        if by_email:
            context = shop.message_context("", ask.post_id)
            self.emails.append(
                Email(
                    to=contact.email,
                    subject=email_subject(Reason.ORDER_STATUS, shop.name, shop.templates),
                    text=order_status_email(
                        context,
                        found.latest,
                        found.total,
                        self.orders_url,
                        display_name(ask.network),
                    ),
                    reason=str(Reason.ORDER_STATUS),
                    # The key a message would have had: a redelivered post mails nothing twice.
                    dedupe_key=f"{ask.network}:{ask.post_id}:{Reason.ORDER_STATUS}",
                )
            )
            return
        text = order_status_text(
            shop.message_context(ask.author_handle, ask.post_id),
            found.latest,
            found.total,
            self.orders_url,
            shop.text_limit(ask.network),
        )
        self.messages.append(
            OutboundMessage(
                ask.network, ask.author_id, ask.post_id, Reason.ORDER_STATUS, text, "private"
            )
        )

    def link_prompt(self, ask: OrderAsk) -> None:
        text = order_link_prompt(self.shop.message_context(ask.author_handle, ask.post_id))
        self.messages.append(
            OutboundMessage(ask.network, ask.author_id, ask.post_id, Reason.LINK_NEEDED, text)
        )


def _outcome(ask: OrderAsk, outcome: str, customer_id: int | None) -> dict[str, object]:
    return {
        "network": ask.network,
        "trigger_post_id": ask.post_id,
        "outcome": str(outcome),
        "customer_id": customer_id,
        "product_id": None,
    }


def _day(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() // SECONDS_PER_DAY)


HANDLER = PostHandler(read, act)
