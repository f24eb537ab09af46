"""Email, queued: every email is a row in the outbox, written in the transaction of what it
announces (an order, a password reset), shown in the console, and sent by the one dispatcher
(`outbox.dispatcher`, over SMTP when the settings name a server; `outbox.smtp`). No request
waits on a mail server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from hashcart.store.repository import insert_ignoring

EMAIL_NETWORK = "email"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    # Why it is sent (order_confirmed, password_reset, …), as the console shows it.
    reason: str
    # The same key twice queues one email: a retried request does not mail twice.
    dedupe_key: str


def queue_email(connection: Connection, email: Email, at: datetime) -> bool:
    """Put `email` in the outbox; True if it is new."""
    return queue_emails(connection, [email], at) == 1


def queue_emails(connection: Connection, emails: Sequence[Email], at: datetime) -> int:
    """Put emails in the outbox in one statement (the engine queues a batch's at once);
    how many were new."""
    rows = {
        email.dedupe_key: {
            "network": EMAIL_NETWORK,
            "account_id": email.to,
            "in_reply_to": "",
            "reason": email.reason,
            "text": email.text,
            "dedupe_key": f"email:{email.dedupe_key}",
            "status": "queued",
            "created_at": at,
            "channel": "email",
            "subject": email.subject,
            "attempts": 0,
        }
        for email in emails
    }
    if not rows:
        return 0
    statement = insert_ignoring(connection.dialect.name, "outbox")
    return len(connection.execute(statement, list(rows.values())).all())
