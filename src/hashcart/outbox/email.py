"""The dispatcher's sender for email rows: SMTP, with the server's answer turned into
"sent", "try again later" (4xx, a dropped or refused connection) or "never" (5xx).

One connection is kept for a dispatch run and closed after it (`close`), so a run with
many emails does not log in once per email.

At least once, never blindly twice: the dispatcher's `before_data` commits a mark just before
DATA. Only a crash or a dropped connection between that mark and the dispatcher's record of
the answer can leave an email that may have arrived; it is sent again with the same
Message-ID and counted as possibly received twice (see `outbox.smtp`)."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from hashcart.config import Settings
from hashcart.outbox.senders import OutboxItem, SendFailed, Sent
from hashcart.outbox.smtp import SMTPConnection, connect_smtp, outbox_email
from hashcart.ports import EMAIL_NETWORK


class EmailSender:
    """Sends `email` outbox rows over the SMTP server the settings name."""

    network = EMAIL_NETWORK

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("EmailSender needs smtp_host")
        self.settings = settings
        self._smtp: SMTPConnection | None = None

    @classmethod
    def of(cls, settings: Settings) -> EmailSender | None:
        """The sender, or None when no SMTP server is configured (email then waits)."""
        return cls(settings) if settings.smtp_host else None

    def send(
        self, item: OutboxItem, now: datetime, before_data: Callable[[], object] | None = None
    ) -> Sent:
        """Send `item`; `before_data()` runs once the server took the envelope, just before
        DATA (the dispatcher commits its mark there; if it raises, nothing is delivered)."""
        message = outbox_email(
            self.settings, item.id, item.account_id, item.subject, item.text, item.dedupe_key
        )
        data_began = False

        def mark() -> None:
            nonlocal data_began
            if before_data is not None:
                before_data()
            data_began = True

        fresh = self._smtp is None
        try:
            self._try(message, mark)
        except smtplib.SMTPServerDisconnected as error:
            if fresh or data_began:
                raise _failure(error, data_began) from None
            # The kept connection had gone stale (the server's idle timeout) before this
            # message was handed over: one fresh try. Once DATA began, a try now could
            # deliver it twice; it goes back to the dispatcher, marked, instead.
            try:
                self._try(message, mark)
            except (OSError, smtplib.SMTPException) as retry_error:
                raise _failure(retry_error, data_began) from None
        except (OSError, smtplib.SMTPException) as error:
            raise _failure(error, data_began) from None
        return Sent(remote_id=message["Message-ID"])

    def _try(self, message: EmailMessage, mark: Callable[[], None]) -> None:
        """One try on the kept connection, which stays open only after a server's refusal
        (smtplib then resets the transaction, ready for the next email)."""
        try:
            self._connection().send_marked(message, mark)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise
        except BaseException:
            # The connection is in an unknown state, or mid-transaction because `before_data`
            # refused: start over next time.
            self._drop()
            raise

    def close(self) -> None:
        """Quit the kept connection (ignoring a server that is already gone)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _drop(self) -> None:
        """Close the kept connection without a word: in an unknown state, a QUIT could be
        taken for part of the message, and its answer waited for until the timeout."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _connection(self) -> SMTPConnection:
        if self._smtp is None:
            try:
                self._smtp = connect_smtp(self.settings)
            except (OSError, smtplib.SMTPException) as error:
                raise SendFailed(f"SMTP server unreachable: {error}", permanent=False) from None
        return self._smtp


def _failure(error: Exception, data_began: bool) -> SendFailed:
    """SMTP's own rule: 4xx means try again later, 5xx means this message will never go.
    A server's answer is certain; a connection lost after DATA began leaves the end unknown."""
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
        return SendFailed(
            f"SMTP server closed the connection: {error}", permanent=False, end_unknown=data_began
        )
    if data_began:  # a timeout or a reset while the message was being handed over
        return SendFailed(
            f"SMTP connection lost during DATA: {error}", permanent=False, end_unknown=True
        )
    return SendFailed(f"SMTP server unreachable: {error}", permanent=False)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
