"""`hashcart serve` as a real process with X configured, against the X stand-in on loopback
(tests/networks/x/stand_in.py, answering in X's recorded shapes): a signed X Activity API
delivery of a `#cart` reply whose parent hashcart never saw ends as a cart line (the parent
fetched from X after the webhook answered) and as the shop's reply posted to X by the
dispatcher; and when X refuses that reply under its 2026 rule, the shopper gets the
confirmation by email from a real SMTP server, and the console's outbox says why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hashcart.domain.posts import Network
from hashcart.networks.x.send import REPLY_RESTRICTED
from hashcart.networks.x.webhook import CONSUMER_SIGNATURE_HEADER, signature
from tests.harness import Shop
from tests.integration.test_cli_live import Running, smtp_env, wait_until
from tests.loopback import LiveServer
from tests.networks.x.conftest import SHOPPER_EMAIL, SHOPPER_HANDLE, SHOPPER_ID, ServedStandIn
from tests.networks.x.payloads import (
    activity_reply_event,
    lookup_answer,
    v2_cart_reply,
    v2_shop_post,
)
from tests.networks.x.stand_in import (
    APP_BEARER,
    SHOP_USER_ID,
    USER_TOKEN,
    Scripted,
    XStandIn,
)
from tests.networks.x.stand_in import (
    REPLY_RESTRICTED as RESTRICTION_ANSWER,
)
from tests.smtp_support import SMTPServer, free_port, smtp_server
from tests.web.conftest import MERCHANT_EMAIL, PASSWORD, WebShop

__all__ = ["smtp_server"]  # a fixture, used by name

CONSUMER_SECRET = "consumer-secret-for-serve"
PARENT_ID, REPLY_ID = "1860000000000000101", "1860000000000000102"


@pytest.fixture
def served_x() -> Iterator[ServedStandIn]:
    stand_in = XStandIn(lambda: datetime.now(UTC))
    with LiveServer(stand_in.app) as server:
        try:
            yield ServedStandIn(stand_in, server.url)
        finally:
            stand_in.release()


def _serve(tmp_path: Path, served_x: ServedStandIn, **extra: str) -> tuple[Running, int]:
    x = served_x.x
    shop = Shop(f"sqlite:///{tmp_path / 'cli.db'}")  # where test_cli_live.Running points
    shop.customer(SHOPPER_EMAIL, (Network.X, SHOPPER_ID, SHOPPER_HANDLE))
    shop.app.engine.dispose()
    x.lookup_answers[PARENT_ID] = lookup_answer(v2_shop_post(PARENT_ID))
    port = free_port()
    settings = {
        "HASHCART_X_API_URL": served_x.url,
        "HASHCART_X_CONSUMER_SECRET": CONSUMER_SECRET,
        "HASHCART_X_BEARER_TOKEN": APP_BEARER,
        "HASHCART_X_ACCESS_TOKEN": USER_TOKEN,
        "HASHCART_X_SHOP_USER_ID": SHOP_USER_ID,
        **extra,
    }
    server = Running(tmp_path, "serve", "--port", str(port), **settings)
    server.wait_for_line("Press Ctrl-C to stop.")
    server.wait_until_serving(port)
    return server, port


def _deliver(port: int) -> int:
    """The shopper's reply as X Activity API delivers it, without the parent post in
    `includes` (as when X does not expand it), so hashcart must look the parent up."""
    envelope = json.loads(
        activity_reply_event(
            "b5f4c0c5-2f0e-4c7e-9a4e-6a1c0e6f0001",
            v2_cart_reply(REPLY_ID, PARENT_ID),
            v2_shop_post(PARENT_ID),
        )
    )
    del envelope["data"]["includes"]["tweets"]
    body = json.dumps(envelope).encode()
    answer = httpx.post(
        f"http://127.0.0.1:{port}/webhooks/x",
        content=body,
        headers={
            "content-type": "application/json",
            CONSUMER_SIGNATURE_HEADER: signature(body, CONSUMER_SECRET),
        },
        timeout=10,
    )
    return answer.status_code


def test_a_webhook_reply_fills_the_cart_and_serve_replies_on_x(
    tmp_path: Path, served_x: ServedStandIn
) -> None:
    x = served_x.x
    server, port = _serve(tmp_path, served_x)
    try:
        assert _deliver(port) == 200
        wait_until(lambda: len(x.create_requests) == 1)
        assert server.terminate() == 0
    finally:
        server.kill()
    assert x.lookups == [PARENT_ID]  # the parent nobody streamed, fetched once
    [reply] = x.create_requests
    assert reply["reply"] == {"in_reply_to_tweet_id": REPLY_ID}
    assert reply["text"].startswith(f"@{SHOPPER_HANDLE} ")
    assert Shop(f"sqlite:///{tmp_path / 'cli.db'}").cart(SHOPPER_EMAIL) == [("mug", 1)]


def test_a_reply_x_refuses_under_its_2026_rule_goes_by_email_and_the_console_says_why(
    tmp_path: Path, served_x: ServedStandIn, smtp_server: SMTPServer
) -> None:
    served_x.x.create_script.append(Scripted(403, RESTRICTION_ANSWER))  # hand-built (stand_in)
    server, port = _serve(tmp_path, served_x, **smtp_env(smtp_server))
    try:
        assert _deliver(port) == 200
        wait_until(lambda: len(smtp_server.messages) == 1)
        assert server.terminate() == 0
    finally:
        server.kill()
    [email] = smtp_server.messages
    assert email["To"] == SHOPPER_EMAIL
    assert "Enamel Mug" in email.get_content()
    # The merchant's outbox page shows the refusal's reason on the failed reply.
    shop = WebShop(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        browser = shop.browser()
        browser.merchant_sign_in(MERCHANT_EMAIL, PASSWORD)
        page = browser.get("/merchant/outbox?status=failed").text
        assert REPLY_RESTRICTED in page
        assert "Emailed to the shopper instead" in page
    finally:
        shop.close()
