"""Telling a shopper what happened, the way they chose: a public reply, a private message, or
email only (a shopper who wants privacy gets nothing in public).

Messages are collected while a batch is decided and queued in bulk at the end, in the
caller's transaction, so the change and its announcement commit together (the outbox rule).
Accounts not linked to a customer have no preference we know of: they get public replies.

A shopper's first message on a network where the shop has advice for them (X: write
`@shop #cart`, or the shop cannot answer there: networks/x/guidance) carries it; when X
refuses that message it goes by email, advice included. "First" is read from the outbox at
flush: an account that was never sent anything there, and only its first message of the
batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from hashcart.domain.email_templates import fill_email
from hashcart.domain.messages import (
    Channel,
    NotifyBy,
    OutboundMessage,
    Placed,
    Reason,
    SaleFacts,
    compose,
    email_subject,
)
from hashcart.domain.posts import Network, display_name
from hashcart.ports import Contact, Email, Repository
from hashcart.services.shop import Shop


@dataclass
class Notices:
    """The messages of one unit of work, each already routed to its channel."""

    shop: Shop
    messages: list[OutboundMessage] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    # A message's text with the network's first-message advice (composed when it is the
    # account's first), by its place in `messages`.
    advised: dict[int, Callable[[], str]] = field(default_factory=dict)

    def tell(
        self,
        network: Network,
        account_id: str,
        handle: str,
        post_id: str,
        reason: Reason,
        contact: Contact | None,
        **details: Any,
    ) -> None:
        """Queue what `reason` says about the post `post_id` by `account_id`; `contact` is
        the linked customer (None for an unlinked account), `details` go to `compose`."""
        notify_by = contact.notify_by if contact is not None else NotifyBy.PUBLIC_REPLY
        if contact is not None and notify_by == NotifyBy.EMAIL_ONLY:
            # No @greeting: the email goes to the customer, not to a public thread.
            body = compose(reason, self.shop.message_context("", post_id), **details)
            self.emails.append(
                Email(
                    to=contact.email,
                    subject=email_subject(reason, self.shop.name, self.shop.templates),
                    text=self._email_text(body, network),
                    reason=str(reason),
                    # The same key the reply would have had: redelivery mails nothing twice.
                    dedupe_key=f"{network}:{post_id}:{reason}",
                )
            )
            return
        context = self.shop.message_context(handle, post_id)
        limit = self.shop.text_limit(network)
        text = self._placed_text(network, handle, post_id, reason, details)
        if text is None:
            text = compose(reason, context, limit=limit, **details)
        advice = self.shop.first_advice.get(network)
        if advice:
            # Composed at `flush`, only for the account's first message (a burst's shoppers
            # get many; composing each twice was a good part of answering them).
            self.advised[len(self.messages)] = partial(
                compose, reason, context, limit=limit, advice=advice, **details
            )
        channel: Channel = "private" if notify_by == NotifyBy.PRIVATE_MESSAGE else "reply"
        self.messages.append(OutboundMessage(network, account_id, post_id, reason, text, channel))

    def tell_placed(
        self,
        network: Network,
        account_id: str,
        handle: str,
        post_id: str,
        contact: Contact | None,
        placed: Placed,
        place: int,
    ) -> None:
        """`tell(network, account_id, handle, post_id, placed.reason, contact,
        title=placed.title, sale=replace(placed.sale, place=place))` for `placed` =
        `Shop.waitlisted_reply(network, ...)`, without making those facts per shopper: a
        burst's waitlisted are most of its messages. Its reply's text is the one `tell`
        fills from the same rendering; an email, or a network whose first message carries
        advice, goes through `tell` itself."""
        email_only = contact is not None and contact.notify_by == NotifyBy.EMAIL_ONLY
        if email_only or self.shop.first_advice.get(network) or place <= 0:
            sale = replace(placed.sale, place=place)
            self.tell(
                network,
                account_id,
                handle,
                post_id,
                placed.reason,
                contact,
                title=placed.title,
                sale=sale,
            )
            return
        text = placed.text(handle, post_id, place)
        private = contact is not None and contact.notify_by == NotifyBy.PRIVATE_MESSAGE
        channel: Channel = "private" if private else "reply"
        self.messages.append(
            OutboundMessage(network, account_id, post_id, placed.reason, text, channel)
        )

    def _placed_text(
        self, network: Network, handle: str, post_id: str, reason: Reason, details: dict[str, Any]
    ) -> str | None:
        """A waitlisted claim's reply from its item's rendering (None: not one)."""
        sale = details.get("sale")
        if reason is not Reason.CLAIM_WAITLISTED or not isinstance(sale, SaleFacts):
            return None
        title = details.get("title", "")
        if set(details) - {"title", "sale"} or not sale.place or not isinstance(title, str):
            return None
        placed = self.shop.waitlisted_reply(network, title, replace(sale, place=0))
        return placed.text(handle, post_id, sale.place)

    def _email_text(self, body: str, network: Network) -> str:
        base = self.shop.account_url.removesuffix("/account")
        where = display_name(network)
        values = {
            "message": body,
            "cart_url": f"{base}/cart",
            "network": where,
            "account_url": self.shop.account_url,
            "shop": self.shop.name,
        }
        # The merchant's words when they rewrote it (issue 14), else the default.
        return fill_email("email.email_only", self.shop.templates, values) + "\n"

    def flush(self, repo: Repository, at: datetime) -> int:
        """Queue everything collected (one statement per channel kind); how many were new."""
        queued = repo.queue_messages(self._with_first_advice(repo), at)
        queued += repo.queue_emails(self.emails, at)
        self.messages, self.emails, self.advised = [], [], {}
        return queued

    def _with_first_advice(self, repo: Repository) -> list[OutboundMessage]:
        """`messages`, the advised text put in where the message is its account's first."""
        if not self.advised:
            return self.messages
        accounts: dict[str, set[str]] = {}
        for index in self.advised:
            message = self.messages[index]
            accounts.setdefault(message.network, set()).add(message.account_id)
        told = {
            (network, account)
            for network, ids in accounts.items()
            for account in repo.messaged_accounts(network, ids)
        }
        messages = list(self.messages)
        for index, text in sorted(self.advised.items()):
            key = (messages[index].network, messages[index].account_id)
            if key not in told:
                told.add(key)
                messages[index] = replace(messages[index], text=text())
        return messages
