"""The merchant's words in email (issue 14): each email's subject, and the bodies of the
emails with words of their own (the order confirmation; order news: shipped, cancelled, the
answer to `#order`; the email sent instead of a reply, to a shopper who chose email only or
whose network refused it; the cart reminder; the password-reset and sign-up emails), are
templates the merchant may rewrite in the console, like the replies
(domain/message_templates, whose `$name` syntax and placeholders they share). The defaults
here are the texts the shop sent before they could be edited, so a shop that edits nothing
sends the same emails.

Keys: `subject.<reason>` for a subject, `email.<name>` for a body. A subject is one line
(a line break would end the header); a body keeps its line breaks (paragraphs). A body that
drops what the email exists for (its link, the order's lines, the answer) is refused.
Emails are plain text: nothing a stranger or the merchant wrote can become markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template

from hashcart.domain.message_templates import TemplateProblem, check_placeholders

# The longest subject kept, in characters (RFC 5322's advice is 78 a line; mail programs
# show far less), and the longest email body.
MAX_SUBJECT_CHARS = 200
MAX_EMAIL_CHARS = 4000
SUBJECT_PREFIX = "subject."
BODY_PREFIX = "email."

# What each email says about, before " at <shop>": the subjects the shop has always sent.
_SUBJECTS = {
    "added": "Added to your cart",
    "wishlisted": "Saved to your wish list",
    "already_in_cart": "Already in your cart",
    "already_wishlisted": "Already on your wish list",
    "unavailable": "Not available right now",
    "link_needed": "Link your account",
    "which_product": "Which product did you mean?",
    "pending_applied": "Your earlier reply is in",
    "linked": "Your account is linked",
    "removed": "Removed from your cart",
    "not_in_cart": "Not in your cart",
    "which_variant": "Which one would you like?",
    # --- order care (issue 12) ---
    "order_status": "Your orders",
    "shipped": "Your order has shipped",
    # --- orders and fulfilment (issue 14) ---
    "order_cancelled": "Your order has been cancelled",
    # --- buy with a post (issue 12) ---
    "buy_confirm_needed": "Confirm your purchase",
    "purchased": "Bought",
    "confirm_expired": "Your code has expired",
    "payment_declined": "Your card was declined",
    "payment_method_needed": "Save a card to buy with a post",
    "limit_reached": "Daily limit reached",
    "address_needed": "Save your address to buy with a post",
    "finish_at_store": "Finish your purchase at the store",
    # --- offers by hashtag (issue 12) ---
    "offer_loaded": "Your offer is loaded",
    "offer_already_loaded": "Your offer is already loaded",
    "offer_exhausted": "That offer is all taken",
    "offer_expired": "That offer has ended",
    # --- live sales (issue 13) ---
    "claim_won": "You got it",
    "claim_waitlisted": "You are on the waitlist",
    "claim_promoted": "It came free: it is yours",
    "claim_released": "Your claim was released",
    "claim_unknown_item": "No such item in the sale",
    "claim_limit": "Claim limit reached",
    "sale_closed": "The sale has closed",
    "invoice_due": "Your invoice is due",
    # --- issue 14 ---
    "cart_reminder": "Still in your cart",
}


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    """One email's subject or body: its key, what the console calls it, the default words,
    the placeholders it may use and those it must keep."""

    key: str
    label: str
    default: str
    placeholders: tuple[str, ...]
    required: tuple[str, ...] = ()

    @property
    def is_subject(self) -> bool:
        return self.key.startswith(SUBJECT_PREFIX)

    @property
    def limit(self) -> int:
        return MAX_SUBJECT_CHARS if self.is_subject else MAX_EMAIL_CHARS


def _body(
    key: str, label: str, default: str, required: tuple[str, ...], also: str = ""
) -> EmailTemplate:
    used = tuple(dict.fromkeys((*Template(default).get_identifiers(), *also.split())))
    return EmailTemplate(BODY_PREFIX + key, label, default, used, required)


_ORDER_PAGE = "Your order: $order_url"
_SHOP = ("shop",)
_RESET = "Email subject: reset a password"
_SIGN_UP = "Email subject: confirm a sign-up"
_EXISTS = "Email subject: sign-up of an address that has an account"
_IGNORE = "If it was not you, ignore this email"
# What happens to a cancelled order's money, whichever the gateway step: a payment only
# authorised is voided (never charged), a captured one refunded (also order_care's words).
MONEY_BACK = "Nothing more is charged, and what you paid goes back the way you paid it."
EMAIL_TEMPLATES: dict[str, EmailTemplate] = {
    template.key: template
    for template in (
        *(
            EmailTemplate(
                SUBJECT_PREFIX + reason, f"Email subject: {about}", f"{about} at $shop", _SHOP
            )
            for reason, about in _SUBJECTS.items()
        ),
        EmailTemplate(
            SUBJECT_PREFIX + "password_reset", _RESET, "Reset your $shop password", _SHOP
        ),
        EmailTemplate(SUBJECT_PREFIX + "sign_up", _SIGN_UP, "Confirm your email for $shop", _SHOP),
        EmailTemplate(SUBJECT_PREFIX + "sign_up_exists", _EXISTS, "Your $shop account", _SHOP),
        EmailTemplate(
            SUBJECT_PREFIX + "order_confirmed",
            "Email subject: order confirmation",
            "Your $shop order #$order",
            ("shop", "order"),
        ),
        _body(
            "order_confirmed",
            "Email: order confirmation (the receipt)",
            "$greeting\n\nThank you for your order #$order at $shop. It is $status.\n\n"
            "$lines\n${offer_line}Total: $total\n\n"
            "Payment: $payment Reference: $reference\n\n"
            "It ships to:\n$ship_to\n\n"
            "See your order any time: $order_url",
            ("lines", "total", "order_url"),
        ),
        _body(
            "shipped",
            "Email: order shipped",
            f"Your order $order at $shop has shipped.\n\n{_ORDER_PAGE}",
            ("order_url",),
        ),
        _body(
            "shipped_tracking",
            "Email: order shipped, with tracking",
            f"Your order $order at $shop has shipped.\n\nTrack it: $tracking_url\n\n{_ORDER_PAGE}",
            ("tracking_url", "order_url"),
        ),
        _body(
            "order_cancelled",
            "Email: order cancelled",
            "Your order $order at $shop has been cancelled by the shop.\n\n"
            f"{MONEY_BACK}\n\n{_ORDER_PAGE}",
            ("order_url",),
        ),
        _body(
            "order_status",
            "Email: your orders (answer to the order tag)",
            "$answer\n\nYou asked about your orders on $network. Order details are private, "
            "so they come by email rather than in a reply.",
            ("answer",),
            also="shop orders_url",
        ),
        _body(
            "email_only",
            "Email: instead of a reply (shopper chose email only)",
            "$message\n\nYour cart: $cart_url\n\nYou asked to hear from us by email only, so "
            "we did not reply on $network. You can change that on your account page: "
            "$account_url",
            ("message",),
            also="shop",
        ),
        _body(
            "fallback",
            "Email: instead of a message the network refused",
            "$message\n\nWe could not $what on $network ($why), so this comes by email instead.",
            ("message",),
        ),
        _body(
            "cart_reminder",
            "Email: cart reminder",
            "$message\n\nYou asked us to remind you of a waiting cart on your account page; "
            "you can turn that off there: $account_url",
            ("message", "account_url"),
            also="shop",
        ),
        _body(
            "password_reset",
            "Email: reset a password",
            "Someone asked to reset the password for $email.\n\nChoose a new one here (the "
            f"link works once, for $hours hours):\n$reset_url\n\n{_IGNORE}.",
            ("reset_url",),
            also="shop",
        ),
        _body(
            "sign_up",
            "Email: confirm a sign-up",
            "Someone asked to create a $shop account for $email.\n\nIf it was you, finish here "
            f"(the link works once, for $hours hours):\n$sign_up_url\n\n{_IGNORE}: no "
            "account is made.",
            ("sign_up_url",),
        ),
        _body(
            "sign_up_exists",
            "Email: sign-up of an address that has an account",
            "Someone asked to create a $shop account for $email, which has one already.\n\n"
            "Sign in here:\n$sign_in_url\n\nForgot the password? Choose a new one here:\n"
            f"$reset_url\n\n{_IGNORE}: nothing was changed.",
            ("sign_in_url", "reset_url"),
        ),
    )
}

_BLANK_RUNS = re.compile(r"\n{3,}")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def tidy_email_words(key: str, text: str) -> str:
    """`text` as it is kept: a subject on one line, a body with its line breaks (spaces
    tidied in each line, at most one blank line in a row), both trimmed."""
    if EMAIL_TEMPLATES[key].is_subject:
        return " ".join(text.split())
    lines = (" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def check_email_template(key: str, text: str) -> str:
    """`text` as it will be kept, or TemplateProblem: empty, too long, a `$` that is no
    placeholder, a placeholder this email does not have, or one it must keep left out."""
    spec = EMAIL_TEMPLATES[key]
    kept = tidy_email_words(key, text)
    if not kept:
        raise TemplateProblem("write the words, or reset them to the default")
    if len(kept) > spec.limit:
        what = "a subject" if spec.is_subject else "an email"
        raise TemplateProblem(f"{what} has at most {spec.limit} characters")
    return check_placeholders(kept, spec.placeholders, spec.required)


def fill_email(key: str, templates: Mapping[str, str] | None, values: Mapping[str, str]) -> str:
    """The email words of `key` (the merchant's, else the default) with `values` put in. A
    stored template that no longer reads keeps its `$` text rather than fail an email."""
    text = (templates or {}).get(key) or EMAIL_TEMPLATES[key].default
    return Template(text).safe_substitute(values)


def subject(reason: str, shop_name: str, templates: Mapping[str, str] | None = None) -> str:
    """The subject of the email about `reason` (a reason code): the merchant's words, else
    "<what happened> at <shop>"."""
    return subject_line(reason, templates, {"shop": shop_name})


def subject_line(
    reason: str, templates: Mapping[str, str] | None, values: Mapping[str, str]
) -> str:
    """The subject `subject.<reason>` with `values` put in, on one line: a line break in a
    value becomes a space (it would otherwise end the header and start another)."""
    return _LINE_BREAKS.sub(" ", fill_email(SUBJECT_PREFIX + reason, templates, values))
