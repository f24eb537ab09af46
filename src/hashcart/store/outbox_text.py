"""What staff may read of an outbox message: everything but secrets meant for one person."""

from __future__ import annotations

# Emails holding a link that signs its recipient in (a password reset, a sign-up's link):
# whoever reads it in the console or through the API could take the account over.
SECRET_EMAIL_REASONS = frozenset({"password_reset", "sign_up"})
WITHHELD = "(withheld: this message holds a secret link for its recipient only)"


def text_for_staff(channel: str, reason: str, text: str) -> str:
    if channel == "email" and reason in SECRET_EMAIL_REASONS:
        return WITHHELD
    return text
