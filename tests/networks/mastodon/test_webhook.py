"""The admin webhook receiver, `POST /webhooks/mastodon`, through the real web app.

Deliveries are built the way Mastodon's Webhooks::DeliveryWorker sends them: the envelope
`{"event", "created_at", "object"}` as the raw body and `X-Hub-Signature: sha256=<hex
HMAC-SHA256>` of it; the statuses inside are recorded Mastodon statuses with our text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from hashcart.domain.posts import Network
from hashcart.networks.mastodon import webhook
from hashcart.store import schema as t
from tests.networks.mastodon.conftest import Case, link_shopper, shopper_uri
from tests.web.conftest import WebShop

SECRET = "0123456789abcdef0123456789abcdef01234567"  # SecureRandom.hex(20), as Mastodon makes


@pytest.fixture
def web(database_url: str) -> Iterator[WebShop]:
    shop = WebShop(database_url, mastodon_webhook_secret=SECRET)
    yield shop
    shop.close()


def envelope(event: str, status: dict[str, Any]) -> bytes:
    body = {"event": event, "created_at": "2026-11-20T12:01:00.000Z", "object": status}
    return json.dumps(body).encode()


def deliver(web: WebShop, body: bytes, signature: str | None = "good") -> Any:
    headers = {"Content-Type": "application/json", "User-Agent": "Mastodon/4.6.4"}
    if signature == "good":
        headers[webhook.SIGNATURE_HEADER] = webhook.signature(SECRET, body)
    elif signature is not None:
        headers[webhook.SIGNATURE_HEADER] = signature
    return web.browser().client.post("/webhooks/mastodon", content=body, headers=headers)


def count(web: WebShop, table: Any) -> int:
    with web.app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"event":"status.created"}'
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert webhook.signature("secret", body) == f"sha256={expected}"
    # The value computed independently in the research notes (section 2.3).
    assert webhook.signature("secret", body) == (
        "sha256=d0be735cf60e423b2162bc9344073a6b2e3fd89e5bacdf521cec87b7cf131798"
    )
    assert webhook.is_signed("secret", body, f"SHA256={expected.upper()}")
    assert not webhook.is_signed("secret", body + b" ", f"sha256={expected}")


def test_signed_deliveries_put_the_reply_in_the_cart(web: WebShop, case: Case) -> None:
    email = link_shopper(web, "sam")
    parent = deliver(web, envelope("status.created", case.shop_post("1100")))
    reply = deliver(web, envelope("status.created", case.reply("1101", "1100", "sam")))
    assert parent.status_code == 200 and reply.status_code == 200, reply.text
    assert reply.json()["status"] == "accepted"
    assert web.cart(email) == [("mug", 1)]
    assert [(m["reason"], m["account_id"]) for m in web.outbox()] == [("added", shopper_uri("sam"))]


def test_a_repeated_delivery_is_taken_once(web: WebShop, case: Case) -> None:
    email = link_shopper(web, "sam")
    deliver(web, envelope("status.created", case.shop_post("1100")))
    body = envelope("status.created", case.reply("1101", "1100", "sam"))
    first, again = deliver(web, body), deliver(web, body)
    assert first.json()["status"] == "accepted"
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert web.cart(email) == [("mug", 1)]
    assert len(web.outbox()) == 1
    assert count(web, t.webhook_deliveries) == 2  # the parent and the reply, once each


def test_an_edit_is_a_new_delivery_not_a_repeat(case: Case) -> None:
    status = case.reply("1101", "1100", "sam")
    created = webhook.delivery_key(envelope("status.created", status))
    edited = webhook.delivery_key(
        envelope("status.updated", {**status, "edited_at": "2026-11-20T12:05:00.000Z"})
    )
    edited_again = webhook.delivery_key(
        envelope("status.updated", {**status, "edited_at": "2026-11-20T12:06:00.000Z"})
    )
    assert created == "status.created:1101:2026-11-20T12:01:00.000Z"
    assert len({created, edited, edited_again}) == 3
    assert webhook.delivery_key(b"not json").startswith("sha256:")


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=" + "0" * 64,
        "sha1=" + "0" * 40,
        # X's scheme (base64 of the HMAC) is not Mastodon's: refused.
        "sha256=" + base64.b64encode(b"\x00" * 32).decode(),
    ],
    ids=["missing", "empty", "wrong", "other-algorithm", "base64"],
)
def test_a_bad_or_missing_signature_is_refused_and_nothing_is_kept(
    web: WebShop, case: Case, signature: str | None
) -> None:
    link_shopper(web, "sam")
    response = deliver(web, envelope("status.created", case.shop_post("1100")), signature)
    assert response.status_code == 401
    assert "X-Hub-Signature" in response.json()["error"]
    assert count(web, t.posts) == 0
    assert count(web, t.webhook_deliveries) == 0
    assert count(web, t.dead_letters) == 0


def test_a_body_signed_with_another_secret_is_refused(web: WebShop, case: Case) -> None:
    body = envelope("status.created", case.shop_post("1100"))
    response = deliver(web, body, webhook.signature("another-secret-entirely", body))
    assert response.status_code == 401
    assert count(web, t.posts) == 0


def test_without_a_secret_the_receiver_says_it_is_not_configured(tmp_path: Any, case: Case) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'unset.db'}")
    try:
        body = envelope("status.created", case.shop_post("1100"))
        response = deliver(shop, body, webhook.signature(SECRET, body))
        assert response.status_code == 503
        assert "mastodon_webhook_secret" in response.json()["error"]
        assert count(shop, t.posts) == 0
    finally:
        shop.close()


def test_a_signed_body_that_is_not_json_is_kept_as_a_dead_letter(web: WebShop) -> None:
    body = b'{"event": "status.created", "object": {"id": "1", \xff'
    response = deliver(web, body)
    assert response.status_code == 200
    letters = web.dead_letters()
    assert len(letters) == 1 and letters[0]["source"] == "mastodon-webhook"
    assert count(web, t.posts) == 0


def test_a_huge_body_is_refused_before_it_is_read(web: WebShop) -> None:
    body = b"x" * (1024 * 1024 + 1)
    response = deliver(web, body)
    assert response.status_code == 413
    assert count(web, t.dead_letters) == 0 and count(web, t.webhook_deliveries) == 0


def test_other_events_are_taken_but_change_nothing(web: WebShop) -> None:
    report = {"event": "report.created", "created_at": "2026-11-20T12:00:00.000Z",
              "object": {"id": "1", "action_taken": False, "comment": "spam"}}  # fmt: skip
    response = deliver(web, json.dumps(report).encode())
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert count(web, t.posts) == 0 and count(web, t.dead_letters) == 0


def test_the_network_is_mastodon(web: WebShop, case: Case) -> None:
    deliver(web, envelope("status.created", case.shop_post("1100")))
    assert web.post_text(Network.MASTODON, "1100") is not None
