"""A shop wired to localstripe, and the shopper Sam with or without a saved card."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import stripe

from hashcart.payments.stripe_cards import StripeCards
from hashcart.payments.stripe_gateway import StripeGateway
from hashcart.ports import SavedPaymentMethod
from tests.harness import Shop
from tests.peers.fake_stripe.fixture import LocalStripe

SAM = "sam@example.com"
WEBHOOK_SECRET = "whsec_hashcart_tests"


class StripeShop(Shop):
    def __init__(self, database_url: str, localstripe: LocalStripe, **settings: Any) -> None:
        settings.setdefault("stripe_secret_key", localstripe.secret_key)
        settings.setdefault("stripe_publishable_key", localstripe.publishable_key)
        settings.setdefault("stripe_webhook_secret", WEBHOOK_SECRET)
        settings.setdefault("stripe_api_base", localstripe.url)
        super().__init__(database_url, **settings)
        self.localstripe = localstripe

    @property
    def gateway(self) -> StripeGateway:
        gateway = self.app.stripe_gateway()
        assert gateway is not None
        return gateway

    @property
    def cards(self) -> StripeCards:
        cards = self.app.stripe_cards()
        assert cards is not None
        return cards

    @property
    def stripe(self) -> stripe.StripeClient:
        return self.gateway.client

    def customer_id(self, email: str = SAM) -> int:
        with self.app.unit_of_work() as uow:
            found = uow.gateway_records.customer_with_email(email)
        assert found is not None
        return found

    def with_card(self, number: str = "4242424242424242", email: str = SAM) -> SavedPaymentMethod:
        self.customer(email)
        return self.cards.save_test_card(self.customer_id(email), email, number)

    def intents(self) -> list[Any]:
        return list(self.stripe.v1.payment_intents.list().data)


class DocumentedStripe(stripe.HTTPClient):
    """Stripe's documented answers where localstripe answers otherwise: each request is
    answered from `answers` by method and path (the edge of the internet, no server)."""

    name = "documented"

    def __init__(self, answers: Mapping[tuple[str, str], tuple[int, dict[str, Any]]]) -> None:
        super().__init__()
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, Mapping[str, str]]:
        path = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        self.asked.append((method.upper(), "/" + path))
        status, body = self.answers[(method.upper(), "/" + path)]
        return json.dumps(body), status, {"request-id": "req_documented"}

    def close(self) -> None:
        pass
