"""The merchant's words in email (issue 14): every email's subject, the order emails' own
words (shipped, shipped with tracking, cancelled, the answer to `#order`) and the email sent
instead of a reply are templates the merchant rewrites at /merchant/messages, previewed as
the email says them. What the console saves is what a real SMTP server on loopback
receives; a template that drops the link its email exists for is refused beside the field;
the defaults are the texts sent before (tests/integration/test_mail.py and
test_order_care.py pin those); emails stay plain text, one subject line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import update

from hashcart.domain.email_templates import EMAIL_TEMPLATES
from hashcart.domain.posts import Network
from hashcart.outbox.claims import claim_due
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.outbox.fallback import queue_fallback_email
from hashcart.services.order_care import cancel_order, mark_shipped
from hashcart.store import schema as t
from hashcart.store.orders import Address, NewOrder, OrderLine, add_order
from tests.payloads import x_tweet
from tests.smtp_support import SMTPServer, smtp_server
from tests.web.cart_support import (
    BEANS,
    SHOPPER_DID,
    SHOPPER_X_ID,
    bluesky_reply_cart,
    checkout_form,
    post_form,
    signed_in,
    x_reply_cart,
)
from tests.web.conftest import PASSWORD, WebShop
from tests.web.console_support import HOSTILE_SCRIPT, parse
from tests.web.test_merchant_messages import merchant, stored

__all__ = ["smtp_server"]  # a fixture, used by name

SAM = "sam@example.com"
TRACKING = "https://track.carrier-example.com/parcels/1Z999AA10123456784"


@pytest.fixture
def mailing_shop(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[WebShop]:
    shop = WebShop(
        f"sqlite:///{tmp_path / 'words.db'}",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        shop_accounts=("x:trailhead",),
        cart_reminders=True,
    )
    shop.customer(SAM, (Network.X, SHOPPER_X_ID, "sam_x"))
    yield shop
    shop.close()


def text_of(message: EmailMessage) -> str:
    """The email's text with its line ends as written (SMTP sends them as CRLF)."""
    return str(message.get_content()).replace("\r\n", "\n")


def email_only(shop: WebShop) -> None:
    with shop.app.engine.begin() as connection:
        connection.execute(
            update(t.customers).where(t.customers.c.email == SAM).values(notify_by="email_only")
        )


def web_order(shop: WebShop) -> int:
    """An order Sam placed on the web: its news goes by email."""
    with shop.app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(SAM)
        assert customer_id is not None
        return add_order(
            uow.connection,
            NewOrder(
                customer_id,
                "web-1",
                "paid",
                SAM,
                Address("Sam", "1 Trail Rd", "", "Leeds", "LS1 1AA", "GB"),
                "test_card",
                "ref-web-1",
                Decimal("18.00"),
                "USD",
                shop.clock.now() - timedelta(days=1),
                [OrderLine("mug", "Trailhead Enamel Mug", Decimal("18.00"), "USD", 1, None, None)],
            ),
        )


def reply_by_email(shop: WebShop) -> None:
    email_only(shop)
    x_reply_cart(shop, link=BEANS, post_id="1001")


def ship_with_tracking(shop: WebShop) -> None:
    mark_shipped(
        shop.app.unit_of_work, shop.app.shop(), web_order(shop), TRACKING, shop.clock.now()
    )


def ship_without_tracking(shop: WebShop) -> None:
    mark_shipped(shop.app.unit_of_work, shop.app.shop(), web_order(shop), None, shop.clock.now())


def cancel(shop: WebShop) -> None:
    cancel_order(shop.app.unit_of_work, shop.app.shop(), web_order(shop), shop.clock.now())


def ask_orders_on_x(shop: WebShop) -> None:
    """`@trailhead #order` from X, which has no private message hashcart can use: email."""
    web_order(shop)
    text = "@trailhead #order any news?"
    shop.ingest([x_tweet("1800000000000000001", SHOPPER_X_ID, "sam_x", text, hashtags=("order",))])


def refused_on_x(shop: WebShop) -> None:
    """Sam's X reply fails for good (as the dispatcher records a refusal): it goes by email."""
    x_reply_cart(shop, link=BEANS, post_id="1001")
    now = shop.clock.now()
    [item] = claim_due(shop.app.unit_of_work, ["x"], now, limit=1)
    with shop.app.unit_of_work() as uow:
        assert uow.outbox.mark_failed(item, now, "403 Forbidden")
        assert queue_fallback_email(uow, item, "403 Forbidden.", "Trailhead Coffee", now)


def reminded_by_email(shop: WebShop) -> None:
    """Sam's cart waited two days; Sam asked for reminders, by email only."""
    x_reply_cart(shop, link=BEANS, post_id="1001")  # its reply to X has no sender here
    email_only(shop)
    with shop.app.engine.begin() as connection:
        connection.execute(update(t.customers).values(cart_reminders=True))
    shop.clock.advance(timedelta(hours=48))
    assert shop.app.send_reminders() == 1


# (the template saved, the words, what makes the email, (subject, start of the body, in its
# last line) received)
EACH_KIND = [
    (
        "subject.added",
        "In your basket at $shop!",
        reply_by_email,
        (
            "In your basket at Trailhead Coffee!",
            "Added Summit Roast Beans 1kg to your cart",
            "You can change that on your account page: http://127.0.0.1:8000/account",
        ),
    ),
    (
        "email.email_only",
        "Hello from $shop.\n\n$message\n\nSee you soon.\n\nBasket: $cart_url",
        reply_by_email,
        (
            "Added to your cart at Trailhead Coffee",
            "Hello from Trailhead Coffee.\n\nAdded",
            "Basket: http://127.0.0.1:8000/cart",
        ),
    ),
    (
        "email.shipped_tracking",
        "On its way: order $order.\n\nFollow it at $tracking_url\n\nOrder page: $order_url",
        ship_with_tracking,
        (
            "Your order has shipped at Trailhead Coffee",
            f"On its way: order 1.\n\nFollow it at {TRACKING}",
            "Order page: http://127.0.0.1:8000/orders/1",
        ),
    ),
    (
        "subject.shipped",
        "Order news from $shop: it shipped",
        ship_with_tracking,
        (
            "Order news from Trailhead Coffee: it shipped",
            "Your order 1 at Trailhead Coffee has shipped.",
            "Your order: http://127.0.0.1:8000/orders/1",
        ),
    ),
    (
        "email.shipped",
        "Order $order left $shop today. $order_url",
        ship_without_tracking,
        (
            "Your order has shipped at Trailhead Coffee",
            "Order 1 left Trailhead Coffee today. http://",
            "Order 1 left Trailhead Coffee today. http://127.0.0.1:8000/orders/1",
        ),
    ),
    (
        "email.order_cancelled",
        "We are sorry: order $order is cancelled.\n\nYour money comes back. $order_url",
        cancel,
        (
            "Your order has been cancelled at Trailhead Coffee",
            "We are sorry: order 1 is cancelled.",
            "Your money comes back. http://127.0.0.1:8000/orders/1",
        ),
    ),
    (
        "email.fallback",
        "$message\n\n(We tried $network first: $why.)",
        refused_on_x,
        (
            "Added to your cart at Trailhead Coffee",
            "Added Summit Roast Beans 1kg to your cart",
            "(We tried X first: 403 Forbidden.)",
        ),
    ),
    (
        "email.cart_reminder",
        "$message\n\nStop these at $account_url",
        reminded_by_email,
        (
            "Still in your cart at Trailhead Coffee",
            "Summit Roast Beans 1kg is still waiting",
            "Stop these at http://127.0.0.1:8000/account",
        ),
    ),
    (
        "email.order_status",
        "You asked on $network.\n\n$answer",
        ask_orders_on_x,
        (
            "Your orders at Trailhead Coffee",
            "You asked on X.\n\nYour latest orders at Trailhead",
            "All your orders: http://127.0.0.1:8000/orders (ref ",
        ),
    ),
]


@pytest.mark.parametrize(
    ("key", "words", "make", "received"), EACH_KIND, ids=[k[0] for k in EACH_KIND]
)
def test_saved_email_words_are_what_the_smtp_server_receives(
    mailing_shop: WebShop,
    smtp_server: SMTPServer,
    key: str,
    words: str,
    make: Callable[[WebShop], None],
    received: tuple[str, str, str],
) -> None:
    saved = merchant(mailing_shop).submit(f"/merchant/messages/{key}", {"template": words})
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
    assert stored(mailing_shop) == {key: words}

    make(mailing_shop)
    assert dispatch_once(mailing_shop.app) == DispatchRun(sent=1)

    [message] = smtp_server.messages
    subject, body_start, ends_with = received
    assert message["To"] == SAM
    assert message["Subject"] == subject
    assert text_of(message).startswith(body_start)
    assert ends_with in text_of(message).splitlines()[-1]


def test_a_shop_that_edits_nothing_sends_the_emails_it_sent_before(
    mailing_shop: WebShop, smtp_server: SMTPServer
) -> None:
    ship_with_tracking(mailing_shop)
    assert dispatch_once(mailing_shop.app) == DispatchRun(sent=1)
    [message] = smtp_server.messages
    assert message["Subject"] == "Your order has shipped at Trailhead Coffee"
    assert text_of(message) == (
        "Your order 1 at Trailhead Coffee has shipped.\n\n"
        f"Track it: {TRACKING}\n\n"
        "Your order: http://127.0.0.1:8000/orders/1\n"
    )


# (template, words, the start of the problem said beside the field)
REFUSED = [
    (
        "email.shipped_tracking",
        "Shipped! Order page: $order_url",
        "This message must keep $tracking_url",
    ),
    ("email.shipped", "Order $order shipped.", "This message must keep $order_url"),
    ("email.order_cancelled", "Order $order is off.", "This message must keep $order_url"),
    ("email.order_status", "Your orders: $orders", "This message has no placeholder $orders"),
    ("email.email_only", "We did not reply on $network.", "This message must keep $message"),
    ("subject.added", "Added $item at $shop", "This message has no placeholder $item"),
    ("subject.added", "Save $5 at $shop", "A $ must start a placeholder"),
    ("subject.shipped", "  \n ", "Write the words, or reset them to the default"),
    ("subject.shipped", "x" * 201, "A subject has at most 200 characters"),
    ("email.shipped", "$order_url " + "y" * 4000, "An email has at most 4000 characters"),
    ("email.order_confirmed", "Thanks for order $order: $total", "This message must keep $lines"),
]


def test_email_words_that_break_a_rule_are_refused_beside_the_field(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    for key, words, problem in REFUSED:
        refused = browser.submit(f"/merchant/messages/{key}", {"template": words})
        assert refused.status_code == 400, words
        found = re.search(
            r'<span class="field-error" id="template-error">([^<]*)</span>', refused.text
        )
        assert found and found.group(1).startswith(problem), (words, found)
        assert 'aria-invalid="true"' in refused.text
    assert stored(web_shop) == {}


def test_the_list_and_each_editor_show_the_email_words_with_a_preview(web_shop: WebShop) -> None:
    browser = merchant(web_shop)
    listed = browser.get("/merchant/messages").text
    for key, spec in EMAIL_TEMPLATES.items():
        assert f'href="/merchant/messages/{key}"' in listed
        editor = browser.get(f"/merchant/messages/{key}")
        said = " ".join(parse(editor.text).text.split())
        assert editor.status_code == 200 and "(email has no limit)" in said, key
        assert str(escape(spec.default.splitlines()[0])) in editor.text, key
    page = browser.get("/merchant/messages/email.shipped_tracking").text
    said = " ".join(parse(page).text.split())
    assert "Your order has shipped at Trailhead Coffee Your order 9999999 at Trailhead" in said
    assert "Track it: https://tracking.example-carrier.com/" in said
    subject = browser.get("/merchant/messages/subject.claim_won").text
    assert "You got it at Trailhead Coffee" in subject
    assert stored(web_shop) == {}


def test_hostile_words_stay_text_in_the_preview_and_in_the_plain_text_email(
    mailing_shop: WebShop, smtp_server: SMTPServer
) -> None:
    browser = merchant(mailing_shop)
    body = f"$message {HOSTILE_SCRIPT}\n\n<b>bold</b> $cart_url"
    shown = browser.submit(
        "/merchant/messages/email.email_only", {"template": body, "action": "preview"}
    )
    assert shown.status_code == 200
    assert HOSTILE_SCRIPT not in shown.text and "&lt;script&gt;" in shown.text
    assert "script" not in parse(shown.text).tags
    # A line break in a subject would start a header of the merchant's (or a stranger's).
    injected = "Hi from $shop\r\nBcc: everyone@example.com"
    assert (
        browser.submit("/merchant/messages/subject.added", {"template": injected}).status_code
        == 303
    )
    assert (
        browser.submit("/merchant/messages/email.email_only", {"template": body}).status_code == 303
    )

    reply_by_email(mailing_shop)
    assert dispatch_once(mailing_shop.app) == DispatchRun(sent=1)
    [message] = smtp_server.messages
    assert message["Subject"] == "Hi from Trailhead Coffee Bcc: everyone@example.com"
    assert message["Bcc"] is None
    assert smtp_server.handler.envelopes[0][1] == [SAM]
    # One plain-text part: the merchant's markup is characters, never HTML.
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    assert "(ref " in text_of(message) and HOSTILE_SCRIPT in text_of(message)


def test_the_order_confirmation_s_subject_and_receipt_are_the_merchant_s_words(
    mailing_shop: WebShop, smtp_server: SMTPServer
) -> None:
    console = merchant(mailing_shop)
    receipt = "$greeting\n\nOrder #$order is $status.\n\n$lines\nTotal: $total\n\n$order_url"
    for key, words in (
        ("subject.order_confirmed", "Thanks! $shop order #$order"),
        ("email.order_confirmed", receipt),
    ):
        assert console.submit(f"/merchant/messages/{key}", {"template": words}).status_code == 303
    ann = "ann@example.com"
    browser = signed_in(mailing_shop, ann)
    mailing_shop.link(ann, Network.BLUESKY, SHOPPER_DID, "ann.bsky.social")
    bluesky_reply_cart(mailing_shop)

    placed = post_form(browser, "/checkout", checkout_form(browser))
    assert placed.status_code == 303
    order_id = int(re.findall(r"/orders/(\d+)", placed.headers["location"])[0])
    assert dispatch_once(mailing_shop.app) == DispatchRun(sent=1)

    [message] = smtp_server.messages
    assert message["To"] == ann
    assert message["Subject"] == f"Thanks! Trailhead Coffee order #{order_id}"
    assert text_of(message) == (
        f"Hello Sam Shopper,\n\nOrder #{order_id} is paid.\n\n"
        "  1 × Trailhead Enamel Mug: 18.00 USD\nTotal: 18.00 USD\n\n"
        f"http://127.0.0.1:8000/orders/{order_id}\n"
    )


def test_the_account_emails_are_the_merchant_s_words_and_their_links_work(
    mailing_shop: WebShop, smtp_server: SMTPServer
) -> None:
    console = merchant(mailing_shop)
    for key, words in (
        ("subject.sign_up", "One step left at $shop"),
        ("email.sign_up", "Welcome, $email!\n\nFinish here within $hours hours: $sign_up_url"),
        ("subject.password_reset", "$shop: a new password"),
        ("email.password_reset", "New password for $email: $reset_url ($hours hours)"),
    ):
        assert console.submit(f"/merchant/messages/{key}", {"template": words}).status_code == 303
    # Refused: the link the email exists for.
    dropped = console.submit("/merchant/messages/email.password_reset", {"template": "Hi $email"})
    assert dropped.status_code == 400 and "must keep $reset_url" in dropped.text

    newcomer = mailing_shop.browser()
    ann = {"email": "ann@example.com", "name": "Ann", "password": PASSWORD}
    assert newcomer.submit("/sign-up", ann).status_code == 200
    signed_in(mailing_shop, "bo@example.com")  # made its account (its sign-up email is gone)
    forgetful = mailing_shop.browser()
    assert forgetful.submit("/reset", {"email": "bo@example.com"}).status_code == 200
    assert dispatch_once(mailing_shop.app) == DispatchRun(sent=2)

    by_address = {message["To"]: text_of(message) for message in smtp_server.messages}
    subjects = {message["To"]: message["Subject"] for message in smtp_server.messages}
    assert subjects == {
        "ann@example.com": "One step left at Trailhead Coffee",
        "bo@example.com": "Trailhead Coffee: a new password",
    }
    [finish] = re.findall(
        r"^Welcome, ann@example\.com!\n\nFinish here within 24 hours: http://127\.0\.0\.1:8000"
        r"(/sign-up/\S+)\n$",
        by_address["ann@example.com"],
    )
    [reset] = re.findall(
        r"^New password for bo@example\.com: http://127\.0\.0\.1:8000(/reset/\S+) \(2 hours\)\n$",
        by_address["bo@example.com"],
    )
    assert newcomer.get(finish).status_code == 200
    assert forgetful.get(reset).status_code == 200
