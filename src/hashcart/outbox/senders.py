"""What the dispatcher asks of a network's sender, and how a sender answers.

A sender does one thing: send one outbox message on its network and say what happened.
It never touches the database; the dispatcher claims, retries, falls back and records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from hashcart.errors import HashcartError


@dataclass(frozen=True)
class OutboxItem:
    """One claimed outbox row, as a sender sees it."""

    id: int
    network: str  # x | mastodon | bluesky | email
    channel: Literal["reply", "private", "email"]
    account_id: str  # the shopper's account on `network` (an address for email)
    in_reply_to: str  # the trigger post the message answers ("" for email)
    reason: str
    text: str
    subject: str | None
    dedupe_key: str
    attempts: int  # attempts before this one
    # Set when an earlier attempt began and its end is unknown (a crash): a sender without
    # an idempotency key (X) looks for what it may have sent before sending again.
    attempt_started_at: datetime | None = None
    # Set when an earlier attempt began handing the message over in a way nobody can ask
    # about afterwards (SMTP's DATA) and its end is unknown: it may have been delivered, so
    # sending it again may deliver it twice.
    delivery_started_at: datetime | None = None


@dataclass(frozen=True)
class Sent:
    """Delivered; `remote_id` is the network's id for it (a post id, an AT-URI…)."""

    remote_id: str | None = None


class SendFailed(HashcartError):
    """The message did not go. `permanent` failures are never retried: the dispatcher marks
    them failed with `reason` (the console shows it) and emails the shopper instead.
    Temporary ones are retried with backoff, not before `retry_at` when the network said when.
    `end_unknown`: the message may have gone all the same (the connection dropped after SMTP's
    DATA began), so the next attempt is told so."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_at: datetime | None = None,
        end_unknown: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_at = retry_at
        self.end_unknown = end_unknown


class Sender(Protocol):
    """Sends one network's messages (`network` is the outbox's network column)."""

    network: str

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        """Send `item`; raise SendFailed when it did not go."""
        ...
