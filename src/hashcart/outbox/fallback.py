"""When a reply or private message cannot go out on its network, the shopper still hears
from us: the same message by email, saying why, if their account is linked (an unlinked
account has no address; its failed row in the console is all there is).

Queued in the transaction that marks the network row failed, with the dedupe key
`fallback:<outbox id>`, so a failure recorded twice emails once.

A private message can also go out and still be kept from the shopper's eyes (Mastodon files
private mentions from accounts the recipient does not follow among filtered notifications).
The sender says so (`Sent.may_be_unseen`) and the sent row keeps it as its console note,
starting with `MAY_BE_UNSEEN`. From then on the shopper's private messages on that network are
handed to the sender with `earlier_unseen`; one that finds the same cause again fails them for
good, so that they come here and go by email."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, Engine, exists, select

from hashcart.domain.messages import Reason, email_subject
from hashcart.domain.posts import display_name
from hashcart.outbox.senders import OutboxItem, Sent
from hashcart.services.mail import Email, queue_email
from hashcart.store import schema as t

# A reply starts with the @handle it answers: meaningless in an email, so it goes.
_GREETING = re.compile(r"^@\S+\s+")
_REASONS = frozenset(reason.value for reason in Reason)
MAY_BE_UNSEEN = "May not be seen: "


# The outbox dedupe key of the email sent instead of a row is this and the row's id.
FALLBACK_KEY_PREFIX = "email:fallback:"


def fallback_key(outbox_id: int) -> str:
    """The outbox dedupe key of the email sent instead of row `outbox_id`."""
    return f"{FALLBACK_KEY_PREFIX}{outbox_id}"


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


def unseen_note(sent: Sent) -> str | None:
    """The console note for a message sent but maybe not seen, or None."""
    return MAY_BE_UNSEEN + sent.may_be_unseen if sent.may_be_unseen else None


def with_earlier_unseen(engine: Engine, item: OutboxItem) -> OutboxItem:
    """`item`, told whether an earlier private message to its account may have gone unseen."""
    if item.channel != "private":
        return item
    o = t.outbox
    with engine.connect() as connection:
        earlier = connection.scalar(
            select(
                exists().where(
                    o.c.network == item.network,
                    o.c.account_id == item.account_id,
                    o.c.channel == "private",
                    o.c.status == "sent",
                    o.c.last_error.startswith(MAY_BE_UNSEEN, autoescape=True),
                    o.c.id != item.id,
                )
            )
        )
    return replace(item, earlier_unseen=bool(earlier))
