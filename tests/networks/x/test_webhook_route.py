"""`/webhooks/x` through the real web app on a real database: the challenge, signatures,
duplicate deliveries, and deliveries that put products in carts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select

from hashcart.domain.posts import Network
from hashcart.networks.x.webhook import (
    CONSUMER_SIGNATURE_HEADER,
    MAX_BODY_BYTES,
    OAUTH2_SIGNATURE_HEADER,
    delivery_id,
    signature,
)
from hashcart.store import schema as t
from hashcart.web import create_app
from tests.harness import Shop
from tests.networks.x.conftest import (
    SHOP_HANDLE,
    SHOP_ID,
    SHOPPER_EMAIL,
    SHOPPER_HANDLE,
    SHOPPER_ID,
)
from tests.networks.x.payloads import (
    account_activity,
    activity_reply_event,
    cart_reply,
    shop_post,
    v2_cart_reply,
    v2_shop_post,
)

CONSUMER_SECRET = "consumer-secret-for-tests"
CLIENT_SECRET = "oauth2-client-secret-for-tests"
PARENT_ID, REPLY_ID = "1860000000000000001", "1860000000000000002"
# crc_tokens as X shows them: the docs' example (x-api/webhooks/quickstart.mdx), the UUID of
# X's own sample code (gist jcipriano/46c4b3f3…), Base64 of a UUID as X has been seen to
# send, and Base64 of 32 random bytes (with padding).
X_CRC_TOKENS = (
    "challenge_string",
    "9b4507b3-9040-4669-9ca3-6b94edb50553",
    "M2RkODJkZmMtYjlkYi00NmQ4LTk0MGUtM2JjYzkwM2Q4MjQ0",
    "q1Xw7kz+V0b/2m9YJ3eR8tLr6nQp4uHsDfGa1cBvE0o=",
)


class Webhook:
    """The shop's web app and a client that delivers as X would."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.client = TestClient(create_app(shop.app), base_url="http://127.0.0.1")

    def deliver(self, body: bytes, secret: str | None = CONSUMER_SECRET, **headers: str) -> int:
        sent = dict(headers)
        if secret is not None:
            sent[CONSUMER_SIGNATURE_HEADER] = signature(body, secret)
        response = self.client.post(
            "/webhooks/x", content=body, headers={"content-type": "application/json", **sent}
        )
        return response.status_code

    def count(self, table: Table) -> int:
        with self.shop.app.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(table)) or 0)

    def deliveries(self) -> list[str]:
        with self.shop.app.engine.connect() as connection:
            return list(connection.scalars(select(t.webhook_deliveries.c.event_id)))


def _shop(database_url: str, **settings: str) -> Shop:
    shop = Shop(database_url, **settings)
    shop.customer(SHOPPER_EMAIL, (Network.X, SHOPPER_ID, SHOPPER_HANDLE))
    return shop


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[Webhook]:
    shop = _shop(f"sqlite:///{tmp_path / 'hook.db'}", x_consumer_secret=CONSUMER_SECRET)
    hook = Webhook(shop)
    yield hook
    hook.client.close()
    shop.app.engine.dispose()


# --- the challenge ------------------------------------------------------------------------


def _docs_crc_answer(crc_token: str, consumer_secret: str) -> str:
    """`handle_crc` of docs.x.com/x-api/webhooks/quickstart ("Example: Python"), as written."""
    sha256_hash = hmac.new(
        consumer_secret.encode("utf-8"), crc_token.encode("utf-8"), hashlib.sha256
    ).digest()
    return "sha256=" + base64.b64encode(sha256_hash).decode("utf-8")


@pytest.mark.parametrize("token", X_CRC_TOKENS)
def test_the_challenge_is_answered_with_the_consumer_secret(webhook: Webhook, token: str) -> None:
    response = webhook.client.get("/webhooks/x", params={"crc_token": token})
    assert response.status_code == 200
    assert response.json() == {"response_token": _docs_crc_answer(token, CONSUMER_SECRET)}


def test_with_both_secrets_set_the_challenge_is_still_answered_with_the_consumer_secret(
    tmp_path: Path,
) -> None:
    # The README's settings: X keys the CRC with the consumer secret whatever else the app
    # has, so an answer keyed with the client secret fails registration (CrcValidationFailed).
    shop = _shop(
        f"sqlite:///{tmp_path / 'c.db'}",
        x_consumer_secret=CONSUMER_SECRET,
        x_client_secret=CLIENT_SECRET,
    )
    token = X_CRC_TOKENS[2]
    with TestClient(create_app(shop.app)) as client:
        answer = client.get("/webhooks/x", params={"crc_token": token}).json()
    assert answer == {"response_token": _docs_crc_answer(token, CONSUMER_SECRET)}


def test_a_challenge_without_a_token_is_a_bad_request(webhook: Webhook) -> None:
    assert webhook.client.get("/webhooks/x").status_code == 400
    assert webhook.client.get("/webhooks/x", params={"crc_token": ""}).status_code == 400


@pytest.mark.parametrize(
    "token",
    [
        '{"for_user_id":"1"}',
        "{",
        'abc"def',
        "abc'def",
        "abc def",
        "abc\ndef",
        "abc\tdef",
        "a" * 65,
        "challenge_string\n",
        "défi",
    ],
    ids=["json", "brace", "double-quote", "quote", "space", "newline", "tab", "overlong",
         "trailing-newline", "non-ascii"],
)  # fmt: skip
def test_a_challenge_not_shaped_like_xs_is_refused_unanswered(webhook: Webhook, token: str) -> None:
    response = webhook.client.get("/webhooks/x", params={"crc_token": token})
    assert response.status_code == 400
    assert "response_token" not in response.json()
    assert "not shaped like X's" in response.json()["detail"]


def test_without_any_secret_the_webhook_says_it_is_not_configured(tmp_path: Path) -> None:
    shop = _shop(f"sqlite:///{tmp_path / 'none.db'}")
    with TestClient(create_app(shop.app)) as client:
        challenge = client.get("/webhooks/x", params={"crc_token": "c"})
        post = client.post("/webhooks/x", content=b"{}")
    assert challenge.status_code == 503
    assert "x_consumer_secret" in challenge.json()["detail"]
    assert post.status_code == 503


def test_with_only_a_client_secret_the_webhook_asks_for_the_consumer_secret(
    tmp_path: Path,
) -> None:
    # X documents no way to answer its CRC or check its deliveries with the client secret.
    shop = _shop(f"sqlite:///{tmp_path / 'client.db'}", x_client_secret=CLIENT_SECRET)
    body = b'{"for_user_id": "1"}'
    with TestClient(create_app(shop.app)) as client:
        challenge = client.get("/webhooks/x", params={"crc_token": "challenge_string"})
        post = client.post(
            "/webhooks/x",
            content=body,
            headers={OAUTH2_SIGNATURE_HEADER: signature(body, CLIENT_SECRET)},
        )
    assert challenge.status_code == 503
    assert "set x_consumer_secret" in challenge.json()["detail"]
    assert "response_token" not in challenge.json()
    assert post.status_code == 503
    assert "set x_consumer_secret" in post.json()["detail"]


# --- deliveries -------------------------------------------------------------------------


def test_a_signed_account_activity_delivery_puts_the_product_in_the_cart(
    webhook: Webhook, shared_fixtures: Path
) -> None:
    assert webhook.deliver(account_activity(shop_post(shared_fixtures, PARENT_ID))) == 200
    reply = cart_reply(shared_fixtures, REPLY_ID, PARENT_ID)
    assert webhook.deliver(account_activity(reply)) == 200
    assert webhook.shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    assert webhook.shop.reasons() == ["added"]
    assert f"aaa:{SHOP_ID}:tweet_create_events:{REPLY_ID}" in webhook.deliveries()


@pytest.mark.parametrize("secret", ["wrong-secret", None], ids=["bad", "missing"])
def test_a_delivery_without_a_good_signature_is_refused_and_nothing_is_kept(
    webhook: Webhook, shared_fixtures: Path, secret: str | None
) -> None:
    body = account_activity(
        shop_post(shared_fixtures, PARENT_ID), cart_reply(shared_fixtures, REPLY_ID, PARENT_ID)
    )
    assert webhook.deliver(body, secret=secret) == 401
    assert webhook.count(t.posts) == 0
    assert webhook.count(t.dead_letters) == 0
    assert webhook.count(t.webhook_deliveries) == 0
    assert webhook.shop.cart(SHOPPER_EMAIL) == []


def test_a_body_that_is_not_json_is_refused_after_the_signature_and_kept_as_dead_letter(
    webhook: Webhook,
) -> None:
    assert webhook.deliver(b"{not json", secret="wrong") == 401
    assert webhook.count(t.dead_letters) == 0
    assert webhook.deliver(b"{not json") == 400
    assert webhook.count(t.dead_letters) == 1
    assert webhook.count(t.webhook_deliveries) == 0


def test_a_huge_delivery_is_refused_unread(webhook: Webhook) -> None:
    body = b'{"for_user_id": "1", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert webhook.deliver(body) == 413
    assert webhook.count(t.dead_letters) == 0


def test_the_documented_header_is_required_and_the_oauth2_one_only_checked_beside_it(
    tmp_path: Path, shared_fixtures: Path
) -> None:
    shop = _shop(
        f"sqlite:///{tmp_path / 'o.db'}",
        x_consumer_secret=CONSUMER_SECRET,
        x_client_secret=CLIENT_SECRET,
    )
    hook = Webhook(shop)
    parent = account_activity(shop_post(shared_fixtures, PARENT_ID))
    reply = account_activity(cart_reply(shared_fixtures, REPLY_ID, PARENT_ID))
    # Only the undocumented OAuth 2.0 header, rightly keyed: refused, nothing kept.
    oauth2_only = {OAUTH2_SIGNATURE_HEADER: signature(reply, CLIENT_SECRET)}
    assert hook.deliver(reply, secret=None, **oauth2_only) == 401
    assert hook.count(t.posts) == 0
    # Both headers, the OAuth 2.0 one wrong: refused, though the documented one is right.
    assert hook.deliver(parent, **{OAUTH2_SIGNATURE_HEADER: signature(parent, "x")}) == 401
    assert hook.count(t.posts) == 0
    # The documented header alone, as X's docs describe every delivery: taken.
    assert hook.deliver(parent) == 200
    # Both headers right: taken.
    assert hook.deliver(reply, **oauth2_only) == 200
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    hook.client.close()


def _forged_reply(fixtures: Path) -> bytes:
    """A small Account Activity delivery of a `#cart` reply to the shop's post: the fields
    hashcart reads, compact, well under the 1,024 characters the old challenge signed."""
    tweet = cart_reply(fixtures, REPLY_ID, PARENT_ID)
    kept = ("id_str", "created_at", "text", "in_reply_to_status_id_str")
    forged = {key: tweet[key] for key in kept}
    forged["user"] = {"id_str": SHOPPER_ID, "screen_name": SHOPPER_HANDLE}
    forged["entities"] = {"hashtags": [{"text": "cart"}], "urls": []}
    envelope = {"for_user_id": SHOP_ID, "tweet_create_events": [forged]}
    return json.dumps(envelope, separators=(",", ":")).encode()


@pytest.mark.parametrize("header", [CONSUMER_SIGNATURE_HEADER, OAUTH2_SIGNATURE_HEADER])
@pytest.mark.parametrize("with_client_secret", [False, True], ids=["consumer", "both-secrets"])
def test_a_delivery_body_challenged_through_the_crc_is_refused_and_carts_nothing(
    tmp_path: Path, shared_fixtures: Path, header: str, with_client_secret: bool
) -> None:
    """Issue 9's attack: no credential, the CRC asked to answer for a delivery body, the
    answer sent as a signature header. The shop's post itself came from X, signed."""
    extra = {"x_client_secret": CLIENT_SECRET} if with_client_secret else {}
    shop = _shop(f"sqlite:///{tmp_path / 'a.db'}", x_consumer_secret=CONSUMER_SECRET, **extra)
    hook = Webhook(shop)
    assert hook.deliver(account_activity(shop_post(shared_fixtures, PARENT_ID))) == 200
    posts_before = hook.count(t.posts)
    body = _forged_reply(shared_fixtures)
    assert SHOP_HANDLE in body.decode() and len(body) <= 1024
    challenge = hook.client.get("/webhooks/x", params={"crc_token": body.decode()})
    answer = challenge.json().get("response_token", "")
    assert hook.deliver(body, secret=None, **{header: answer}) == 401
    assert shop.cart(SHOPPER_EMAIL) == []
    assert shop.outbox() == []
    assert hook.count(t.posts) == posts_before
    assert challenge.status_code == 400
    hook.client.close()


@pytest.mark.parametrize("token", ["challenge_string", "12345"], ids=["text", "json-number"])
@pytest.mark.parametrize("with_client_secret", [False, True], ids=["consumer", "both-secrets"])
def test_a_crc_answer_never_verifies_as_a_delivery_signature(
    tmp_path: Path, token: str, with_client_secret: bool
) -> None:
    # A token X's shape allows is answered; posted as a body with that answer, it is refused
    # before anything reads or keeps it, whichever header or headers carry the answer.
    extra = {"x_client_secret": CLIENT_SECRET} if with_client_secret else {}
    shop = _shop(f"sqlite:///{tmp_path / 'd.db'}", x_consumer_secret=CONSUMER_SECRET, **extra)
    hook = Webhook(shop)
    challenge = hook.client.get("/webhooks/x", params={"crc_token": token})
    assert challenge.status_code == 200
    answer = challenge.json()["response_token"]
    body = token.encode()
    for headers in (
        [CONSUMER_SIGNATURE_HEADER],
        [OAUTH2_SIGNATURE_HEADER],
        [CONSUMER_SIGNATURE_HEADER, OAUTH2_SIGNATURE_HEADER],
    ):
        assert hook.deliver(body, secret=None, **dict.fromkeys(headers, answer)) == 401, headers
    assert hook.count(t.dead_letters) == 0
    assert hook.count(t.webhook_deliveries) == 0
    hook.client.close()


def test_a_signed_delivery_that_is_not_a_json_object_is_kept_not_acted_on(
    webhook: Webhook, shared_fixtures: Path
) -> None:
    # X delivers one JSON object per request; a bare list of tweets is not a delivery.
    events = json.loads(
        account_activity(
            shop_post(shared_fixtures, PARENT_ID),
            cart_reply(shared_fixtures, REPLY_ID, PARENT_ID),
        )
    )["tweet_create_events"]
    assert webhook.deliver(json.dumps(events).encode()) == 400
    assert webhook.count(t.dead_letters) == 1
    assert webhook.count(t.webhook_deliveries) == 0
    assert webhook.shop.cart(SHOPPER_EMAIL) == []


def test_the_same_delivery_twice_acts_once_and_is_recorded_once(
    database_url: str, shared_fixtures: Path
) -> None:
    shop = _shop(database_url, x_consumer_secret=CONSUMER_SECRET)
    hook = Webhook(shop)
    body = account_activity(
        shop_post(shared_fixtures, PARENT_ID), cart_reply(shared_fixtures, REPLY_ID, PARENT_ID)
    )
    assert hook.deliver(body) == 200
    posts_after_first = hook.count(t.posts)
    second = hook.client.post(
        "/webhooks/x",
        content=body,
        headers={CONSUMER_SIGNATURE_HEADER: signature(body, CONSUMER_SECRET)},
    )
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    assert hook.count(t.posts) == posts_after_first
    assert hook.deliveries() == [f"aaa:{SHOP_ID}:tweet_create_events:{PARENT_ID},{REPLY_ID}"]
    assert len(shop.outbox()) == 1
    hook.client.close()
    shop.app.engine.dispose()


def test_an_activity_api_reply_event_puts_the_product_in_the_cart(webhook: Webhook) -> None:
    event = activity_reply_event(
        "2080765813578191303", v2_cart_reply(REPLY_ID, PARENT_ID), v2_shop_post(PARENT_ID)
    )
    assert webhook.deliver(event) == 200
    assert webhook.deliver(event) == 200
    assert webhook.shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    assert webhook.deliveries() == ["xaa:2080765813578191303"]


# --- event ids ----------------------------------------------------------------------------


def test_deliveries_without_event_ids_are_keyed_by_their_bytes() -> None:
    revoke = {"user_event": {"revoke": {"date_time": "2018-05-24T09:48:12+00:00"}}}
    body = json.dumps(revoke).encode()
    assert delivery_id(revoke, body).startswith("sha256:")
    assert delivery_id(revoke, body) == delivery_id(revoke, body)
    assert delivery_id(revoke, body) != delivery_id(revoke, body + b" ")


def test_account_activity_deletions_are_keyed_by_the_deleted_ids() -> None:
    envelope = {
        "for_user_id": "930524282358325248",
        "tweet_delete_events": [
            {"status": {"id": "1045405559317569537", "user_id": "930524282358325248"}}
        ],
    }
    key = delivery_id(envelope, b"")
    assert key == "aaa:930524282358325248:tweet_delete_events:1045405559317569537"


def test_a_long_account_activity_key_is_shortened_to_fit() -> None:
    envelope = {
        "for_user_id": SHOP_ID,
        "tweet_create_events": [{"id_str": str(10**18 + n)} for n in range(40)],
    }
    key = delivery_id(envelope, b"")
    assert key.startswith(f"aaa:{SHOP_ID}:sha256:")
    assert len(key) <= 300
