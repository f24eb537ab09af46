"""The dispatcher's sender for email rows: SMTP, with the server's answer turned into
"sent", "try again later" (4xx, a dropped or refused connection) or "never" (5xx).

One connection is kept for a dispatch run and closed after it (`close`), so a run with
many emails does not log in once per email."""

from __future__ import annotations

import smtplib
from datetime import datetime

from hashcart.config import Settings
from hashcart.outbox.senders import OutboxItem, SendFailed, Sent
from hashcart.services.mail import EMAIL_NETWORK, connect_smtp, outbox_email


class EmailSender:
    """Sends `email` outbox rows over the SMTP server the settings name."""

    network = EMAIL_NETWORK

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("EmailSender needs smtp_host")
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def of(cls, settings: Settings) -> EmailSender | None:
        """The sender, or None when no SMTP server is configured (email then waits)."""
        return cls(settings) if settings.smtp_host else None

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        message = outbox_email(self.settings, item.id, item.account_id, item.subject, item.text)
        fresh = self._smtp is None
        try:
            self._connection().send_message(message)
        except smtplib.SMTPServerDisconnected as error:
            self.close()
            if fresh:
                raise _failure(error) from None
            # The kept connection had gone stale (the server's idle timeout): one fresh try.
            try:
                self._connection().send_message(message)
            except (OSError, smtplib.SMTPException) as retry_error:
                self.close()
                raise _failure(retry_error) from None
        except (OSError, smtplib.SMTPException) as error:
            if not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                self.close()  # the connection is in an unknown state: start over next time
            raise _failure(error) from None
        return Sent(remote_id=message["Message-ID"])

    def close(self) -> None:
        """Quit the kept connection (ignoring a server that is already gone)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            try:
                self._smtp = connect_smtp(self.settings)
            except (OSError, smtplib.SMTPException) as error:
                raise SendFailed(f"SMTP server unreachable: {error}", permanent=False) from None
        return self._smtp


def _failure(error: Exception) -> SendFailed:
    """SMTP's own rule: 4xx means try again later, 5xx means this message will never go."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        answer = "; ".join(
            f"{address}: {code} {_text(reply)}"
            for address, (code, reply) in error.recipients.items()
        )
        permanent = all(code >= 500 for code in codes)
        return SendFailed(f"SMTP server refused the recipient: {answer}", permanent=permanent)
    if isinstance(error, smtplib.SMTPResponseException):
        return SendFailed(
            f"SMTP server answered {error.smtp_code} {_text(error.smtp_error)}",
            permanent=error.smtp_code >= 500,
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return SendFailed(f"SMTP server closed the connection: {error}", permanent=False)
    return SendFailed(f"SMTP server unreachable: {error}", permanent=False)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
