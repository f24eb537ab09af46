"""When a reply or private message cannot go out on its network, the shopper still hears
from us: the same message by email, saying why, if their account is linked (an unlinked
account has no address; its failed row in the console is all there is).

Queued in the unit of work that marks the network row failed, with the dedupe key
`fallback:<outbox id>`, so a failure recorded twice emails once. The email is composed here,
from the domain's words; the store only finds the address and keeps the row.

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

from hashcart.domain.messages import Reason, email_subject
from hashcart.domain.posts import display_name
from hashcart.ports import MAY_BE_UNSEEN, Email, OutboxItem, Sent, UnitOfWork, UnitsOfWork

__all__ = [
    "FALLBACK_KEY_PREFIX",
    "MAY_BE_UNSEEN",
    "fallback_email",
    "fallback_key",
    "fallback_text",
    "queue_fallback_email",
    "unseen_note",
    "with_earlier_unseen",
]

# A reply starts with the @handle it answers: meaningless in an email, so it goes.
_GREETING = re.compile(r"^@\S+\s+")
_REASONS = frozenset(reason.value for reason in Reason)


# The outbox dedupe key of the email sent instead of a row is this and the row's id.
FALLBACK_KEY_PREFIX = "email:fallback:"


def fallback_key(outbox_id: int) -> str:
    """The outbox dedupe key of the email sent instead of row `outbox_id`."""
    return f"{FALLBACK_KEY_PREFIX}{outbox_id}"


def queue_fallback_email(
    uow: UnitOfWork, item: OutboxItem, why: str, shop_name: str, at: datetime
) -> bool:
    """Queue `item`'s message as an email to its linked shopper, in `uow`; True if one was
    queued."""
    address = uow.outbox.linked_email(item.network, item.account_id)
    if address is None:
        return False
    return uow.repository.queue_emails([fallback_email(item, address, why, shop_name)], at) == 1


def fallback_email(item: OutboxItem, address: str, why: str, shop_name: str) -> Email:
    """The email that carries `item`'s message to `address`, saying why."""
    subject = (
        email_subject(Reason(item.reason), shop_name) if item.reason in _REASONS else shop_name
    )
    return Email(
        to=address,
        subject=subject,
        text=fallback_text(item, why),
        reason=item.reason,
        dedupe_key=fallback_key(item.id).removeprefix("email:"),
    )


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


def with_earlier_unseen(reads: UnitsOfWork, item: OutboxItem) -> OutboxItem:
    """`item`, told whether an earlier private message to its account may have gone unseen
    (`reads` opens units of work that only read)."""
    if item.channel != "private":
        return item
    with reads() as uow:
        earlier = uow.outbox.earlier_unseen(item)
    return replace(item, earlier_unseen=earlier)
