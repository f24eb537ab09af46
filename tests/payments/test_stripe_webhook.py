"""`/webhooks/stripe`: events verified with the endpoint's signing secret by Stripe's own
library (https://docs.stripe.com/webhooks#verify-events), taken once each, keeping hashcart's
payment records right. Real deliveries come from localstripe (registered with its own
`POST /_config/webhooks/<id>`); forged, stale and replayed ones are signed here."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hashcart.ports import PaymentDetails
from hashcart.services import payments
from hashcart.web.app import create_app
from tests.loopback import LiveServer
from tests.payments.stripe_support import SAM, WEBHOOK_SECRET, StripeShop
from tests.peers.fake_stripe.fixture import LocalStripe
from tests.polling import wait_until

KEY = "checkout-key-0002-abcdefghijklmnop"


@pytest.fixture
def client(stripe_shop: StripeShop) -> Iterator[TestClient]:
    with TestClient(create_app(stripe_shop.app), base_url="http://127.0.0.1") as client:
        yield client


def _authorise(shop: StripeShop) -> Any:
    shop.with_card()
    details = PaymentDetails({}, KEY, date(2026, 12, 5), customer_email=SAM)
    return payments.authorise_once(
        shop.app.unit_of_work, shop.gateway, Decimal("12.50"), "USD", details, shop.clock.now()
    )


def _status(shop: StripeShop) -> str:
    with shop.app.unit_of_work() as uow:
        record = uow.payments.find(KEY)
    assert record is not None
    return record.status


def _signed(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe makes it: t=<unix time>,v1=<HMAC-SHA256 of
    "t.body" with the endpoint secret> (https://docs.stripe.com/webhooks#verify-manually)."""
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def _event(kind: str, intent: dict[str, Any], event_id: str = "evt_hashcart0001") -> bytes:
    # The event object's shape: https://docs.stripe.com/api/events/object (hand-built).
    document = {"id": event_id, "object": "event", "type": kind, "data": {"object": intent}}
    return json.dumps(document).encode()


def _post(client: TestClient, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/webhooks/stripe", content=body, headers=headers)


def test_a_real_delivery_from_localstripe_records_a_capture_made_at_stripe(
    stripe_shop: StripeShop, localstripe: LocalStripe
) -> None:
    """Captured at Stripe (the dashboard, or a capture whose answer was lost): Stripe's
    signed `payment_intent.succeeded` moves hashcart's record to captured."""
    record = _authorise(stripe_shop)
    with LiveServer(create_app(stripe_shop.app)) as server:
        localstripe.register_webhook("hashcart", f"{server.url}/webhooks/stripe", WEBHOOK_SECRET)
        stripe_shop.stripe.v1.payment_intents.capture(record.reference)
        wait_until(lambda: _status(stripe_shop) == "captured", "the capture is recorded")


def test_a_failed_payment_whose_answer_was_lost_is_recorded_declined(
    stripe_shop: StripeShop, client: TestClient
) -> None:
    stripe_shop.with_card()
    with stripe_shop.app.unit_of_work() as uow:
        uow.payments.start(KEY, "stripe", Decimal("12.50"), "USD", stripe_shop.clock.now())
        uow.gateway_records.keep_intent(KEY, "stripe", "pi_lost", stripe_shop.clock.now())
    error = {"code": "card_declined", "message": "Your card was declined."}
    body = _event("payment_intent.payment_failed", {"id": "pi_lost", "last_payment_error": error})
    assert _post(client, body, _signed(body)).status_code == 200
    with stripe_shop.app.unit_of_work() as uow:
        record = uow.payments.find(KEY)
    assert record is not None
    assert (record.status, record.message) == ("declined", "Your card was declined.")


def test_an_authorisation_whose_answer_was_lost_is_recorded(
    stripe_shop: StripeShop, client: TestClient
) -> None:
    with stripe_shop.app.unit_of_work() as uow:
        uow.payments.start(KEY, "stripe", Decimal("12.50"), "USD", stripe_shop.clock.now())
        uow.gateway_records.keep_intent(KEY, "stripe", "pi_lost", stripe_shop.clock.now())
    body = _event("payment_intent.amount_capturable_updated", {"id": "pi_lost"})
    assert _post(client, body, _signed(body)).status_code == 200
    with stripe_shop.app.unit_of_work() as uow:
        record = uow.payments.find(KEY)
    assert record is not None and (record.status, record.reference) == ("authorised", "pi_lost")


def test_a_cancellation_at_stripe_voids_the_record(
    stripe_shop: StripeShop, client: TestClient
) -> None:
    record = _authorise(stripe_shop)
    body = _event("payment_intent.canceled", {"id": record.reference})
    assert _post(client, body, _signed(body)).status_code == 200
    assert _status(stripe_shop) == "voided"


def test_a_replayed_event_changes_nothing(stripe_shop: StripeShop, client: TestClient) -> None:
    record = _authorise(stripe_shop)
    succeeded = _event("payment_intent.succeeded", {"id": record.reference})
    assert _post(client, succeeded, _signed(succeeded)).json()["detail"].endswith("recorded")
    with stripe_shop.app.unit_of_work() as uow:
        uow.payments.move(KEY, expected={"captured"}, to="refunded", now=stripe_shop.clock.now())
    again = _post(client, succeeded, _signed(succeeded))
    assert again.status_code == 200 and again.json()["detail"] == "a repeat: nothing changed"
    assert _status(stripe_shop) == "refunded"


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "t=1,v1=00",
        "garbage\x00",
        _signed(b"another body"),
        "signed with another secret",
    ],
    # The signed case's value holds the clock: ids by position keep collection the same in
    # every process (pytest-xdist workers must agree on the test ids).
    ids=["none", "empty", "stale-zero", "garbage-nul", "signed-other-body", "other-secret"],
)
def test_a_forged_signature_is_refused_and_changes_nothing(
    stripe_shop: StripeShop, client: TestClient, signature: str | None
) -> None:
    record = _authorise(stripe_shop)
    body = _event("payment_intent.canceled", {"id": record.reference})
    if signature == "signed with another secret":
        signature = _signed(body, secret="whsec_someone_else")
    assert _post(client, body, signature).status_code == 400
    assert _status(stripe_shop) == "authorised"


def test_a_stale_signature_is_refused(stripe_shop: StripeShop, client: TestClient) -> None:
    """Stripe's library refuses a timestamp older than its 300 s tolerance: a recorded
    delivery replayed later with its genuine signature changes nothing."""
    record = _authorise(stripe_shop)
    body = _event("payment_intent.canceled", {"id": record.reference})
    assert _post(client, body, _signed(body, at=int(time.time()) - 3600)).status_code == 400
    assert _status(stripe_shop) == "authorised"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8",
        b"{\x00}",
        b"[]",
        b"{}",
        _event("payment_intent.canceled", {"id": "pi_\u0000nul"}),
        _event("payment_intent.canceled", {"id": "pi_" + "a" * 400}),
        _event("payment_intent.canceled", {"id": "pi_x"}, event_id="evt_" + "9" * 400),
        _event("payment_intent.canceled", {"id": 12}),
    ],
)
def test_a_signed_body_that_is_no_event_is_refused(
    stripe_shop: StripeShop, client: TestClient, body: bytes
) -> None:
    assert _post(client, body, _signed(body)).status_code == 400


def test_an_oversized_body_is_refused_unread(stripe_shop: StripeShop, client: TestClient) -> None:
    body = b"{" + b" " * (600 * 1024) + b"}"
    assert _post(client, body, _signed(body)).status_code == 413


def test_without_a_webhook_secret_there_is_no_endpoint(
    database_url: str, localstripe: LocalStripe
) -> None:
    shop = StripeShop(database_url, localstripe, stripe_webhook_secret=None)
    with TestClient(create_app(shop.app), base_url="http://127.0.0.1") as client:
        body = _event("payment_intent.canceled", {"id": "pi_x"})
        assert _post(client, body, _signed(body)).status_code == 404
    shop.app.engine.dispose()
