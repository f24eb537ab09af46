"""Linking by one-time code: the account page makes a code, the shopper posts it with a link
tag from the social account they want to link, and the engine, seeing that post in the
normal ingest path (stream, file, stdin, demo), links its author to the code's customer.

A code works once, until it expires (judged when the post is ingested, against the shop's
clock). A link post that arrives before its code exists, or after it expired or was used,
links nothing: it is counted and gets no reply (silence beats answering strangers' guesses).
An account already linked to another customer stays theirs; that is counted too, and
answered by nobody, since a reply would tell the world which account shops here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hashcart.domain.link_codes import new_code
from hashcart.domain.messages import Reason
from hashcart.domain.posts import Network
from hashcart.ports import Repository
from hashcart.services.linking import link_account
from hashcart.services.notify import Notices
from hashcart.services.shop import Shop

# A fresh code colliding with a live one is a 1 in 2**40 event; retrying a few times is plenty.
_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class LinkPost:
    """A post asking to link its author with a code (None: a link tag without a code)."""

    network: Network
    post_id: str
    author_id: str
    author_handle: str
    created_at: datetime
    code: str | None


@dataclass
class LinkCounts:
    linked: int = 0  # accounts linked (or confirmed linked again) by a code
    invalid: int = 0  # no such code, expired, already used, or no code after the tag
    refused: int = 0  # the account is linked to another customer
    repeated: int = 0  # the same link post again: its code already linked this very account
    messages: int = 0  # confirmations queued (linked, and the pending intents it applied)


def issue_link_code(repo: Repository, customer_id: int, now: datetime, minutes: float) -> str:
    """A new code for the customer, replacing any unused one they had (one live code each)."""
    repo.forget_unused_link_codes(customer_id)
    expires_at = now + timedelta(minutes=minutes)
    for _ in range(_ATTEMPTS):
        code = new_code()
        if repo.add_link_code(code, customer_id, now, expires_at):
            return code
    raise RuntimeError("could not make a link code that is not in use; try again")


def link_by_codes(
    repo: Repository, shop: Shop, posts: Sequence[LinkPost], now: datetime
) -> LinkCounts:
    """Link the authors of these posts, each to its code's customer, inside the caller's
    transaction; the first post (by time, then id) to use a code wins it."""
    counts = LinkCounts()
    if not posts:
        return counts
    codes = repo.link_codes_among(post.code for post in posts if post.code is not None)
    contacts = repo.contacts_of_customers(code.customer_id for code in codes.values())
    notices = Notices(shop)
    for post in sorted(posts, key=lambda p: (p.created_at, p.network, p.post_id)):
        stored = codes.get(post.code) if post.code is not None else None
        contact = contacts.get(stored.customer_id) if stored is not None else None
        if stored is None or contact is None:
            counts.invalid += 1
            continue
        owner = repo.customer_for_account(post.network, post.author_id)
        if stored.used_at is not None or stored.expires_at <= now:
            if stored.used_at is not None and owner == stored.customer_id:
                counts.repeated += 1  # a redelivered link post: nothing to do again
            else:
                counts.invalid += 1
            continue
        if owner is not None and owner != stored.customer_id:
            counts.refused += 1
            continue
        # Said first, so the shopper reads "linked" before what their earlier replies did.
        notices.tell(
            post.network, post.author_id, post.author_handle, post.post_id, Reason.LINKED, contact
        )
        link_account(
            repo,
            shop,
            contact.email,
            post.network,
            post.author_id,
            post.author_handle or None,  # Jetstream names the DID only: no handle known
            now,
            notices=notices,
        )
        repo.use_link_code(stored.code, now)
        codes[stored.code] = replace(stored, used_at=now)
        counts.linked += 1
    counts.messages = notices.flush(repo, now)
    return counts
