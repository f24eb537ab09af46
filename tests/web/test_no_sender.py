"""The console says when messages wait because no sender is configured, and what to set,
on the real SQLite file and PostgreSQL (the counts are a query on the outbox)."""

from __future__ import annotations

import html
import re

import pytest
from pydantic import SecretStr

from hashcart.domain.posts import Network
from hashcart.services.mail import Email, queue_email
from hashcart.views import console
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.web.conftest import Browser, WebShop

ALICE = "did:plc:alice0000000000000000000"
MUG_LINK = "https://shop.example/products/enamel-mug"


def _merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def _queue_bluesky_reply_and_email(shop: WebShop) -> None:
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE, "alice.bsky.social"))
    shop.ingest(
        [
            jetstream_post(SHOP_DID, "3mmbrand00001", f"New in: {MUG_LINK}", links=(MUG_LINK,)),
            jetstream_post(
                ALICE, "3mmreply00001", "#cart", reply_to=post_uri(SHOP_DID, "3mmbrand00001")
            ),
        ]
    )
    with shop.app.unit_of_work() as uow:
        for n in range(2):
            email = Email(
                to="alice@example.com",
                subject="Hello",
                text="x",
                reason="order_placed",
                dedupe_key=f"e{n}",
            )
            queue_email(uow.repository, email, shop.clock.now())


def _notice(page: str) -> str:
    """The notice's words, tags taken out ("" when there is none)."""
    found = re.search(r'<section class="no-sender".*?</section>', page, re.DOTALL)
    return (
        ""
        if found is None
        else " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(0))).split())
    )


def test_home_and_outbox_say_which_channels_have_no_sender_and_what_to_set(
    web_shop_any_db: WebShop,
) -> None:
    _queue_bluesky_reply_and_email(web_shop_any_db)
    browser = _merchant(web_shop_any_db)
    for path in ("/merchant", "/merchant/outbox"):
        notice = _notice(browser.get(path).text)
        assert "no sender configured" in notice, path
        assert "Bluesky: 1 message waiting" in notice
        assert "bluesky_identifier (HASHCART_BLUESKY_IDENTIFIER)" in notice
        assert "bluesky_app_password (HASHCART_BLUESKY_APP_PASSWORD)" in notice
        assert "Email: 2 messages waiting" in notice
        assert "smtp_host (HASHCART_SMTP_HOST)" in notice
        assert "Networks page" in notice


def test_a_configured_channel_is_not_named(web_shop_any_db: WebShop) -> None:
    _queue_bluesky_reply_and_email(web_shop_any_db)
    web_shop_any_db.app.settings = web_shop_any_db.app.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "bluesky_identifier": "shop.test",
            "bluesky_app_password": SecretStr("app-pass-word"),
        }
    )
    page = _merchant(web_shop_any_db).get("/merchant").text
    assert _notice(page) == ""


def test_nothing_queued_says_nothing(web_shop_any_db: WebShop) -> None:
    browser = _merchant(web_shop_any_db)
    for path in ("/merchant", "/merchant/outbox"):
        assert _notice(browser.get(path).text) == ""


def test_only_waiting_messages_count(web_shop_any_db: WebShop) -> None:
    from sqlalchemy import update

    from hashcart.store import schema as t

    _queue_bluesky_reply_and_email(web_shop_any_db)
    with web_shop_any_db.app.engine.begin() as connection:
        connection.execute(
            update(t.outbox).where(t.outbox.c.network == "email").values(status="sent")
        )
    notice = _notice(_merchant(web_shop_any_db).get("/merchant/outbox").text)
    assert "Bluesky: 1 message waiting" in notice
    assert "Email" not in notice


def test_a_shop_account_connected_on_the_networks_page_is_a_sender(web_shop: WebShop) -> None:
    from hashcart.store import shop_connections
    from hashcart.store.shop_connections import ShopConnection

    _queue_bluesky_reply_and_email(web_shop)
    with web_shop.app.engine.begin() as connection:
        shop_connections.save(
            connection,
            ShopConnection(
                "bluesky", "did:plc:shop", "shop.test", None, "atproto", web_shop.clock.now()
            ),
        )
    notice = _notice(_merchant(web_shop).get("/merchant").text)
    assert "Email: 2 messages waiting" in notice
    assert "Bluesky" not in notice


def test_counting_stops_at_the_outboxs_cap(
    web_shop: WebShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Counting every waiting message cost the console's pages 10-20 ms at 37,500 of them
    # (issue 14, pages that stay fast): above the outbox's cap the notice says "1,000+".
    monkeypatch.setattr(console, "OUTBOX_COUNT_CAP", 1)
    _queue_bluesky_reply_and_email(web_shop)

    notice = _notice(_merchant(web_shop).get("/merchant").text)

    assert "Bluesky: 1 message waiting" in notice
    assert "Email: 1+ messages waiting" in notice
