"""SMTP for the dispatcher's email sender: the message for an outbox row, its Message-ID
(the same on every attempt), and a connection that can commit a mark just before DATA.

Delivery is at least once. SMTP gives no way to ask a server afterwards whether it took a
message, so the dispatcher commits a mark on the row (`delivery_started_at`) just before the
DATA command, the one step after which the server may hold the message. A crash before the
mark leaves an email that certainly did not go: it is sent again, once. A crash between the
mark and the commit that records the email sent (the DATA round trip, then one short
transaction) leaves one that may have gone: it is sent again too, under the same Message-ID,
so mail clients and servers that drop repeated Message-IDs show it once, and the dispatcher
counts it and the console shows it as possibly received twice."""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING

from hashcart.config import Settings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

SMTP_TIMEOUT_SECONDS = 20
# Message-IDs' right-hand side when mail_from names no domain.
_FALLBACK_ID_DOMAIN = "hashcart.local"


def outbox_email(
    settings: Settings, outbox_id: int, to: str, subject: str | None, text: str, dedupe_key: str
) -> EmailMessage:
    """The email for one outbox row."""
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
