"""When a reply or private message cannot go out on its network, the shopper still hears
from us: the same message by email, saying why, if their account is linked (an unlinked
account has no address; its failed row in the console is all there is).

Queued in the transaction that marks the network row failed, with the dedupe key
`fallback:<outbox id>`, so a failure recorded twice emails once."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Connection, select

from hashcart.domain.messages import Reason, email_subject
from hashcart.domain.posts import display_name
from hashcart.outbox.senders import OutboxItem
from hashcart.services.mail import Email, queue_email
from hashcart.store import schema as t

# A reply starts with the @handle it answers: meaningless in an email, so it goes.
_GREETING = re.compile(r"^@\S+\s+")
_REASONS = frozenset(reason.value for reason in Reason)


def fallback_key(outbox_id: int) -> str:
    """The outbox dedupe key of the email sent instead of row `outbox_id`."""
    return f"email:fallback:{outbox_id}"


def linked_email(connection: Connection, network: str, account_id: str) -> str | None:
    """The email address of the customer who linked this account, if anyone did."""
    found: str | None = connection.scalar(
        select(t.customers.c.email)
        .join(t.account_links, t.account_links.c.customer_id == t.customers.c.id)
        .where(t.account_links.c.network == network, t.account_links.c.account_id == account_id)
    )
    return found


def queue_fallback_email(
    connection: Connection, item: OutboxItem, why: str, shop_name: str, at: datetime
) -> bool:
    """Queue `item`'s message as an email to its linked shopper; True if one was queued."""
    address = linked_email(connection, item.network, item.account_id)
    if address is None:
        return False
    subject = (
        email_subject(Reason(item.reason), shop_name) if item.reason in _REASONS else shop_name
    )
    email = Email(
        to=address,
        subject=subject,
        text=fallback_text(item, why),
        reason=item.reason,
        dedupe_key=fallback_key(item.id).removeprefix("email:"),
    )
    return queue_email(connection, email, at)


def fallback_text(item: OutboxItem, why: str) -> str:
    """The message, then a line saying in words why it came by email."""
    network = display_name(item.network)
    what = "send you a private message" if item.channel == "private" else "reply to you"
    body = _GREETING.sub("", item.text, count=1)
    because = why.strip().rstrip(".")
    return (
        f"{body}\n\nWe could not {what} on {network} ({because}), so this comes by email instead.\n"
    )
