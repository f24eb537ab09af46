"""Email, queued: every email is a row in the outbox, written in the transaction of what it
announces (an order, a password reset), shown in the console, and sent by the one dispatcher
(`outbox.dispatcher`, over SMTP when the settings name a server; `outbox.smtp`). No request
waits on a mail server.

Queued through the unit of work's repository (ports.Repository.queue_emails), in the caller's
transaction: `queue_email(uow.repository, email, now)`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hashcart.ports import EMAIL_NETWORK, Email, Repository

__all__ = ["EMAIL_NETWORK", "Email", "queue_email", "queue_emails"]


def queue_email(repository: Repository, email: Email, at: datetime) -> bool:
    """Put `email` in the outbox; True if it is new (the same dedupe key queues once)."""
    return queue_emails(repository, [email], at) == 1


def queue_emails(repository: Repository, emails: Sequence[Email], at: datetime) -> int:
    """Put emails in the outbox in one statement (the engine queues a batch's at once);
    how many were new."""
    return repository.queue_emails(emails, at)
