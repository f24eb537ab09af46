"""When a reply or private message cannot go out on its network, the shopper still hears
from us: the same message by email, saying why, if their account is linked (an unlinked
account has no address; its failed row in the console is all there is).

Queued in the unit of work that marks the network row failed, with the dedupe key
`fallback:<outbox id>`, so a failure recorded twice emails once. The email is composed here,
from the domain's words; the store only finds the address and keeps the row.

A refused X message goes first to the shopper's other linked networks, as a private message
(a Mastodon direct message, a Bluesky chat message), when the shop can send there: X refuses
every reply to a shopper who did not mention the shop (its 2026 reply rule, networks/x/
guidance), and a shopper who linked another network hears from us where they are. Its dedupe
key is `private:fallback:<outbox id>`; if that one fails too, it goes by email (a fallback
never falls back to another network).

A private message can also go out and still be kept from the shopper's eyes (Mastodon files
private mentions from accounts the recipient does not follow among filtered notifications).
The sender says so (`Sent.may_be_unseen`) and the sent row keeps it as its console note,
starting with `MAY_BE_UNSEEN`. From then on the shopper's private messages on that network are
handed to the sender with `earlier_unseen`; one that finds the same cause again fails them for
good, so that they come here and go by email."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime

from hashcart.domain.email_templates import fill_email
from hashcart.domain.messages import Reason, email_subject
from hashcart.domain.posts import display_name
from hashcart.ports import (
    EMAIL_NETWORK,
    MAY_BE_UNSEEN,
    Email,
    LinkedAccount,
    OutboxItem,
    Sent,
    UnitOfWork,
    UnitsOfWork,
)

__all__ = [
    "FALLBACK_KEY_PREFIX",
    "MAY_BE_UNSEEN",
    "OTHER_NETWORK_FIRST",
    "PRIVATE_FALLBACK_KEY_PREFIX",
    "fallback_email",
    "fallback_key",
    "fallback_text",
    "other_linked_account",
    "other_network_text",
    "private_fallback_key",
    "queue_fallback_email",
    "queue_other_network_message",
    "unseen_note",
    "with_earlier_unseen",
]

# A reply starts with the @handle it answers: meaningless in an email, so it goes.
_GREETING = re.compile(r"^@\S+\s+")
_REASONS = frozenset(reason.value for reason in Reason)
# A Mastodon account's address as its server writes it: `user` or `user@domain`.
_MASTODON_ACCT = re.compile(r"[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9.-]{1,253})?")


# The outbox dedupe key of the email sent instead of a row is this and the row's id.
FALLBACK_KEY_PREFIX = "email:fallback:"


def fallback_key(outbox_id: int) -> str:
    """The outbox dedupe key of the email sent instead of row `outbox_id`."""
    return f"{FALLBACK_KEY_PREFIX}{outbox_id}"


# --- issue 11: a refused X message goes to the shopper's other networks first ---

# The outbox dedupe key of the private message sent on another network instead of a row is
# this and the row's id.
PRIVATE_FALLBACK_KEY_PREFIX = "private:fallback:"
# The networks whose refused messages try the shopper's other networks before email.
OTHER_NETWORK_FIRST = frozenset({"x"})


def private_fallback_key(outbox_id: int) -> str:
    """The outbox dedupe key of the private message sent instead of row `outbox_id`."""
    return f"{PRIVATE_FALLBACK_KEY_PREFIX}{outbox_id}"


def other_linked_account(
    uow: UnitOfWork, item: OutboxItem, networks: Collection[str]
) -> LinkedAccount | None:
    """The same shopper's link on the first of `networks` they linked (in that order), other
    than the item's own; None when there is none."""
    wanted = [network for network in networks if network not in (item.network, EMAIL_NETWORK)]
    if not wanted:
        return None
    found = {
        link.network: link
        for link in uow.outbox.other_links(item.network, item.account_id, wanted)
        # A Mastodon direct message reaches whom it mentions: without an address-like
        # handle it could reach nobody, or someone else ("ada @mallory").
        if link.network != "mastodon" or _MASTODON_ACCT.fullmatch(link.handle)
    }
    return next((found[network] for network in wanted if network in found), None)


def queue_other_network_message(
    uow: UnitOfWork,
    item: OutboxItem,
    why: str,
    networks: Collection[str],
    at: datetime,
) -> bool:
    """Queue `item`'s message, in `uow`, as a private message on the shopper's other linked
    network (among `networks`, the ones the shop can send on); True if one is queued."""
    if item.network not in OTHER_NETWORK_FIRST or item.dedupe_key.startswith(
        PRIVATE_FALLBACK_KEY_PREFIX
    ):
        return False
    other = other_linked_account(uow, item, networks)
    if other is None:
        return False
    # A Mastodon direct message reaches only the accounts it mentions: it greets the handle
    # (the acct the shop's server knows); Bluesky chat needs no greeting.
    greeting = f"@{other.handle} " if other.network == "mastodon" and other.handle else ""
    return uow.outbox.queue_private(
        other,
        reason=item.reason,
        text=greeting + other_network_text(item, why),
        dedupe_key=private_fallback_key(item.id),
        at=at,
    )


def other_network_text(item: OutboxItem, why: str) -> str:
    """The message, then a sentence saying in words why it came this way."""
    network = display_name(item.network)
    what = "send you a private message" if item.channel == "private" else "reply to you"
    body = _GREETING.sub("", item.text, count=1)
    because = why.strip().rstrip(".")
    return f"{body}\n\nWe could not {what} on {network} ({because}), so this comes here instead."


# --- the email sent instead ---


def queue_fallback_email(
    uow: UnitOfWork, item: OutboxItem, why: str, shop_name: str, at: datetime
) -> bool:
    """Queue `item`'s message as an email to its linked shopper, in `uow`; True if one was
    queued."""
    address = uow.outbox.linked_email(item.network, item.account_id)
    if address is None:
        return False
    # The merchant's subjects (issue 14), read in the same unit of work.
    templates = uow.repository.message_templates()
    email = fallback_email(item, address, why, shop_name, templates)
    return uow.repository.queue_emails([email], at) == 1


def fallback_email(
    item: OutboxItem,
    address: str,
    why: str,
    shop_name: str,
    templates: Mapping[str, str] | None = None,
) -> Email:
    """The email that carries `item`'s message to `address`, saying why; its subject in the
    merchant's words when they rewrote it (`templates`)."""
    subject = (
        email_subject(Reason(item.reason), shop_name, templates)
        if item.reason in _REASONS
        else shop_name
    )
    return Email(
        to=address,
        subject=subject,
        text=fallback_text(item, why, templates),
        reason=item.reason,
        dedupe_key=fallback_key(item.id).removeprefix("email:"),
    )


def fallback_text(item: OutboxItem, why: str, templates: Mapping[str, str] | None = None) -> str:
    """The message, then a line saying in words why it came by email (in the merchant's
    words when they rewrote `email.fallback`)."""
    values = {
        "message": _GREETING.sub("", item.text, count=1),
        "what": "send you a private message" if item.channel == "private" else "reply to you",
        "network": display_name(item.network),
        "why": why.strip().rstrip("."),
    }
    return fill_email("email.fallback", templates, values) + "\n"


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
