"""Email over real SMTP, through the one path every email takes: queued in the outbox with
what it announces, sent by the dispatcher. An aiosmtpd server on loopback receives the order
confirmation and the password-reset mail; checkout never waits on the mail server, and one
that is down leaves the email to be tried again, with the reason, while the order stands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.store import schema as t
from tests.smtp_support import SMTPServer, dead_smtp_port, smtp_server
from tests.web.cart_support import (
    bluesky_reply_cart,
    checkout_form,
    link_everywhere,
    post_form,
    signed_in,
)
from tests.web.conftest import WebShop

__all__ = ["dead_smtp_port", "smtp_server"]  # fixtures, used by name

SAM = "sam@example.com"


@pytest.fixture
def mailing_shop(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[WebShop]:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'mail.db'}",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        mail_from="Trailhead Coffee <shop@trailhead.example>",
    )
    yield shop
    shop.close()


def _outbox_email(shop: WebShop) -> list[tuple[str, str, str, str | None, int]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox).where(t.outbox.c.channel == "email").order_by(t.outbox.c.id)
        ).all()
    return [(row.reason, row.status, row.account_id, row.last_error, row.attempts) for row in rows]


def test_the_order_confirmation_arrives_over_smtp(
    mailing_shop: WebShop, smtp_server: SMTPServer
) -> None:
    browser = signed_in(mailing_shop)
    link_everywhere(mailing_shop)
    bluesky_reply_cart(mailing_shop)

    response = post_form(browser, "/checkout", checkout_form(browser))

    assert response.status_code == 303
    order_id = int(re.findall(r"/orders/(\d+)", response.headers["location"])[0])
    # The request only queued it: nothing went to the mail server while the shopper waited.
    assert smtp_server.messages == []
    assert _outbox_email(mailing_shop) == [("order_confirmed", "queued", SAM, None, 0)]

    assert dispatch_once(mailing_shop.app) == DispatchRun(sent=1)

    [message] = smtp_server.messages
    assert message["To"] == SAM
    assert message["From"] == "Trailhead Coffee <shop@trailhead.example>"
    assert message["Subject"] == f"Your Trailhead Coffee order #{order_id}"
    body = message.get_content()
    assert f"Thank you for your order #{order_id} at Trailhead Coffee. It is paid." in body
    assert "1 × Trailhead Enamel Mug: 18.00 USD" in body
    assert "Total: 18.00 USD" in body
    assert f"/orders/{order_id}" in body
    assert "4242424242424242" not in body
    assert _outbox_email(mailing_shop) == [("order_confirmed", "sent", SAM, None, 1)]


def test_the_password_reset_mail_arrives_over_smtp_with_a_working_link(
    mailing_shop: WebShop, smtp_server: SMTPServer
) -> None:
    signed_in(mailing_shop)
    browser = mailing_shop.browser()  # signed out, as someone who forgot the password
    response = browser.submit("/reset", {"email": SAM})
    assert response.status_code == 200
    # The reset page queues the mail; it goes out with the dispatcher's next run.
    assert dispatch_once(mailing_shop.app) == DispatchRun(sent=1)

    [message] = smtp_server.messages
    assert message["To"] == SAM
    assert message["Subject"] == "Reset your Trailhead Coffee password"
    body = message.get_content()
    [link] = re.findall(r"http://127\.0\.0\.1:8000(/reset/\S+)", body)
    assert browser.get(link).status_code == 200
    assert _outbox_email(mailing_shop) == [("password_reset", "sent", SAM, None, 1)]


def test_a_dead_mail_server_leaves_the_email_to_be_retried_and_the_order_still_stands(
    tmp_path: Path, dead_smtp_port: int
) -> None:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'dead.db'}", smtp_host="127.0.0.1", smtp_port=dead_smtp_port
    )
    try:
        browser = signed_in(shop)
        link_everywhere(shop)
        bluesky_reply_cart(shop)

        response = post_form(browser, "/checkout", checkout_form(browser))

        assert response.status_code == 303
        assert browser.get(response.headers["location"]).status_code == 200
        with shop.app.engine.connect() as connection:
            assert connection.execute(select(t.orders.c.status)).scalars().all() == ["paid"]
        assert dispatch_once(shop.app) == DispatchRun(retried=1)
        [(reason, status, to, error, attempts)] = _outbox_email(shop)
        assert (reason, status, to, attempts) == ("order_confirmed", "queued", SAM, 1)
        assert error is not None and error.startswith("SMTP server unreachable:")
        assert shop.cart(SAM) == []
    finally:
        shop.close()
