"""Email: every message is written to the outbox first (so the console shows it and nothing
is lost), then sent over SMTP when the settings name a server."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update

from hashcart.config import Settings
from hashcart.store import schema as t
from hashcart.store.repository import insert_ignoring

EMAIL_NETWORK = "email"
SMTP_TIMEOUT_SECONDS = 20
_MESSAGE_ID_DOMAIN = "hashcart.local"


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


@dataclass
class MailRun:
    sent: int = 0
    failed: int = 0


def send_queued_email(
    engine: Engine, settings: Settings, now: datetime, limit: int = 100
) -> MailRun:
    """Send queued emails over SMTP; each is marked sent or failed with the server's answer.
    Without smtp_host, mail stays in the outbox (the console shows it)."""
    run = MailRun()
    if not settings.smtp_host:
        return run
    queued = _claim(engine, limit, now)
    if not queued:
        return run
    try:
        smtp = connect_smtp(settings)
    except (OSError, smtplib.SMTPException) as error:
        _mark_all(engine, [row.id for row in queued], f"SMTP server unreachable: {error}")
        run.failed = len(queued)
        return run
    with smtp:
        for row in queued:
            message = outbox_email(settings, row.id, row.account_id, row.subject, row.text)
            try:
                smtp.send_message(message)
            except (OSError, smtplib.SMTPException) as error:
                _mark(engine, row.id, "failed", now, str(error))
                run.failed += 1
            else:
                _mark(engine, row.id, "sent", now, None)
                run.sent += 1
    return run


def _claim(engine: Engine, limit: int, now: datetime) -> list[Any]:
    """Take up to `limit` queued emails for this sender, marking them `sending` in one
    transaction: two senders at once (two checkouts, say) never send the same email.
    Emails the dispatcher put back for a later retry (next_attempt_at) wait for it; the
    claim's time is recorded so the dispatcher can tell a crashed send from a running one."""
    due = or_(t.outbox.c.next_attempt_at.is_(None), t.outbox.c.next_attempt_at <= now)
    with engine.begin() as connection:
        ids = connection.scalars(
            select(t.outbox.c.id)
            .where(t.outbox.c.channel == "email", t.outbox.c.status == "queued", due)
            .order_by(t.outbox.c.id)
            .limit(limit)
        ).all()
        if not ids:
            return []
        claimed = connection.execute(
            update(t.outbox)
            .where(t.outbox.c.id.in_(ids), t.outbox.c.status == "queued")
            .values(status="sending", attempt_started_at=now)
            .returning(t.outbox.c.id, t.outbox.c.account_id, t.outbox.c.subject, t.outbox.c.text)
        ).all()
    return sorted(claimed, key=lambda row: row.id)


def outbox_email(
    settings: Settings, outbox_id: int, to: str, subject: str | None, text: str
) -> EmailMessage:
    """The email for one outbox row (shared with the dispatcher's EmailSender)."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject or settings.shop_name
    # One id per outbox row: a resend after a crash is recognisably the same email.
    message["Message-ID"] = f"<outbox-{outbox_id}@{_MESSAGE_ID_DOMAIN}>"
    message.set_content(text)
    return message


def connect_smtp(settings: Settings) -> smtplib.SMTP:
    """A connection to the settings' SMTP server, after STARTTLS and login when configured."""
    assert settings.smtp_host is not None
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    if settings.smtp_starttls:
        smtp.starttls()
    if settings.smtp_username and settings.smtp_password is not None:
        smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
    return smtp


def _mark(engine: Engine, outbox_id: int, status: str, now: datetime, error: str | None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(t.outbox)
            .where(t.outbox.c.id == outbox_id)
            .values(
                status=status,
                attempts=t.outbox.c.attempts + 1,
                last_error=error,
                sent_at=now if status == "sent" else None,
                attempt_started_at=None,
            )
        )


def _mark_all(engine: Engine, ids: list[int], error: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(t.outbox)
            .where(t.outbox.c.id.in_(ids))
            .values(
                status="failed",
                attempts=t.outbox.c.attempts + 1,
                last_error=error,
                attempt_started_at=None,
            )
        )
