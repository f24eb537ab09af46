"""Telling a shopper what happened, the way they chose: a public reply, a private message, or
email only (a shopper who wants privacy gets nothing in public).

Messages are collected while a batch is decided and queued in bulk at the end, in the
caller's transaction, so the change and its announcement commit together (the outbox rule).
Accounts not linked to a customer have no preference we know of: they get public replies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hashcart.domain.messages import (
    Channel,
    NotifyBy,
    OutboundMessage,
    Reason,
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
                    subject=email_subject(reason, self.shop.name),
                    text=self._email_text(body, network),
                    reason=str(reason),
                    # The same key the reply would have had: redelivery mails nothing twice.
                    dedupe_key=f"{network}:{post_id}:{reason}",
                )
            )
            return
        text = compose(
            reason,
            self.shop.message_context(handle, post_id),
            limit=self.shop.text_limit(network),
            **details,
        )
        channel: Channel = "private" if notify_by == NotifyBy.PRIVATE_MESSAGE else "reply"
        self.messages.append(OutboundMessage(network, account_id, post_id, reason, text, channel))

    def _email_text(self, body: str, network: Network) -> str:
        base = self.shop.account_url.removesuffix("/account")
        where = display_name(network)
        return (
            f"{body}\n\nYour cart: {base}/cart\n\n"
            f"You asked to hear from us by email only, so we did not reply on {where}. "
            f"You can change that on your account page: {self.shop.account_url}\n"
        )

    def flush(self, repo: Repository, at: datetime) -> int:
        """Queue everything collected (one statement per channel kind); how many were new."""
        queued = repo.queue_messages(self.messages, at)
        queued += repo.queue_emails(self.emails, at)
        self.messages, self.emails = [], []
        return queued
