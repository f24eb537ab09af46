"""The emails' words (issue 14, domain/email_templates): every reason has a subject the
merchant may rewrite, a body keeps its paragraphs, and a subject stays one header line."""

from __future__ import annotations

import pytest

from hashcart.domain.email_templates import (
    EMAIL_TEMPLATES,
    check_email_template,
    fill_email,
    subject_line,
)
from hashcart.domain.message_templates import TemplateProblem
from hashcart.domain.messages import Reason, email_subject


def test_every_reason_has_a_subject_and_the_default_is_the_one_sent_before() -> None:
    assert {f"subject.{reason}" for reason in Reason} <= set(EMAIL_TEMPLATES)
    assert (
        email_subject(Reason.ADDED, "Trailhead Coffee") == "Added to your cart at Trailhead Coffee"
    )
    assert email_subject(Reason.CLAIM_WON, "Shop") == "You got it at Shop"
    mine = {"subject.claim_won": "$shop: yours!"}
    assert email_subject(Reason.CLAIM_WON, "Shop", mine) == "Shop: yours!"


def test_a_body_keeps_its_paragraphs_and_a_subject_is_one_line() -> None:
    body = check_email_template("email.shipped", " Sent!  \r\n\r\n\r\n\r\nSee  $order_url \n")
    assert body == "Sent!\n\nSee $order_url"
    assert check_email_template("subject.shipped", "Shipped\r\nBcc: x@y.z") == "Shipped Bcc: x@y.z"
    # A value with a line break (a shop name, an order's facts) cannot start a header either.
    said = subject_line("order_confirmed", None, {"shop": "Shop\r\nBcc: x@y.z", "order": "7"})
    assert said == "Your Shop Bcc: x@y.z order #7"


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("email.order_status", "Your orders on $network"),  # drops $answer
        ("email.shipped_tracking", "Shipped: $order_url"),  # drops $tracking_url
        ("subject.added", "Added $product"),  # a placeholder subjects do not have
    ],
)
def test_words_that_drop_or_invent_a_placeholder_are_refused(key: str, words: str) -> None:
    with pytest.raises(TemplateProblem):
        check_email_template(key, words)


def test_a_stored_template_that_no_longer_reads_keeps_its_text() -> None:
    stored = {"email.shipped": "Order $order shipped; $gone stays as written. $order_url"}
    filled = fill_email("email.shipped", stored, {"order": "7", "order_url": "https://s/o/7"})
    assert filled == "Order 7 shipped; $gone stays as written. https://s/o/7"
