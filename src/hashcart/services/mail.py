"""Email: every message is written to the outbox first (so the console shows it and nothing
is lost), then sent over SMTP when the settings name a server.

Delivery is at least once. SMTP gives no way to ask a server afterwards whether it took a
message, so a sender commits a mark on the row (`delivery_started_at`) just before the DATA
command, the one step after which the server may hold the message. A crash before the mark
leaves an email that certainly did not go: it is sent again, once. A crash between the mark and
the commit that records the email sent (the DATA round trip, then one short transaction) leaves
one that may have gone: it is sent again too, under the same Message-ID, so mail clients and
servers that drop repeated Message-IDs show it once, and the dispatcher counts it and the
console shows it as possibly received twice."""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, or_, select, update

from hashcart.config import Settings
from hashcart.store import schema as t
from hashcart.store.repository import insert_ignoring

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

EMAIL_NETWORK = "email"
SMTP_TIMEOUT_SECONDS = 20
# Message-IDs' right-hand side when mail_from names no domain.
_FALLBACK_ID_DOMAIN = "hashcart.local"


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
            message = outbox_email(
                settings, row.id, row.account_id, row.subject, row.text, row.dedupe_key
            )
            try:
                smtp.send_marked(message, partial(_mark_delivery_started, engine, row.id, now))
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
    claim's time is recorded so the dispatcher can tell a crashed send from a running one.
    An email an earlier attempt may have delivered (`delivery_started_at`) is left to the
    dispatcher, which sends it again as possibly received twice and says so."""
    due = or_(t.outbox.c.next_attempt_at.is_(None), t.outbox.c.next_attempt_at <= now)
    with engine.begin() as connection:
        ids = connection.scalars(
            select(t.outbox.c.id)
            .where(
                t.outbox.c.channel == "email",
                t.outbox.c.status == "queued",
                t.outbox.c.delivery_started_at.is_(None),
                due,
            )
            .order_by(t.outbox.c.id)
            .limit(limit)
        ).all()
        if not ids:
            return []
        claimed = connection.execute(
            update(t.outbox)
            .where(t.outbox.c.id.in_(ids), t.outbox.c.status == "queued")
            .values(status="sending", attempt_started_at=now)
            .returning(
                t.outbox.c.id,
                t.outbox.c.account_id,
                t.outbox.c.subject,
                t.outbox.c.text,
                t.outbox.c.dedupe_key,
            )
        ).all()
    return sorted(claimed, key=lambda row: row.id)


def outbox_email(
    settings: Settings, outbox_id: int, to: str, subject: str | None, text: str, dedupe_key: str
) -> EmailMessage:
    """The email for one outbox row (shared with the dispatcher's EmailSender)."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject or settings.shop_name
    message["Message-ID"] = message_id(settings, outbox_id, dedupe_key)
    message.set_content(text)
    return message


def message_id(settings: Settings, outbox_id: int, dedupe_key: str) -> str:
    """Row `outbox_id`'s Message-ID, the same on every attempt: a resend after a crash is
    recognisably the same email (RFC 5322), which receivers may drop. It is the shop's own:
    the domain of `mail_from` and the hash of the row's dedupe key (what the email is about)
    keep it apart from another shop's row of the same number, and from a different email
    that got the number in a database started afresh; a mail program that drops repeated ids
    would otherwise hide a new email. (Changing `mail_from` changes the ids of unsent ones.)"""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:16]
    return f"<outbox-{outbox_id}.{digest}@{_id_domain(settings.mail_from)}>"


def _id_domain(mail_from: str) -> str:
    _, at, domain = parseaddr(mail_from)[1].lower().rpartition("@")
    # Only a plain host name can stand unquoted on the right of a Message-ID.
    labels = domain.replace("-", "a").split(".")
    if at and domain.isascii() and all(label.isalnum() for label in labels):
        return domain
    return _FALLBACK_ID_DOMAIN


class SMTPConnection(smtplib.SMTP):
    """smtplib's client, able to run a step between the envelope and the DATA command."""

    _before_data: Callable[[], object] | None = None

    def send_marked(self, message: EmailMessage, before_data: Callable[[], object]) -> None:
        """`send_message`, calling `before_data()` once the server took the sender and the
        recipients, just before DATA: from then on the server may hold the message whatever
        happens to us. If `before_data` raises, DATA is never sent (and the connection is
        left mid-transaction: close it)."""
        self._before_data = before_data
        try:
            self.send_message(message)
        finally:
            self._before_data = None

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        step, self._before_data = self._before_data, None
        if step is not None:
            step()
        return super().data(msg)


def connect_smtp(settings: Settings) -> SMTPConnection:
    """A connection to the settings' SMTP server, after STARTTLS and login when configured."""
    assert settings.smtp_host is not None
    smtp = SMTPConnection(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    if settings.smtp_starttls:
        smtp.starttls()
    if settings.smtp_username and settings.smtp_password is not None:
        smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
    return smtp


def _mark_delivery_started(engine: Engine, outbox_id: int, now: datetime) -> None:
    """Committed before DATA (see the module's docstring). This sender sends right after its
    claim, well within the dispatcher's lease, so the claim is still its own."""
    with engine.begin() as connection:
        connection.execute(
            update(t.outbox)
            .where(t.outbox.c.id == outbox_id, t.outbox.c.status == "sending")
            .values(delivery_started_at=now)
        )


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
                delivery_started_at=None,
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
                delivery_started_at=None,
            )
        )
