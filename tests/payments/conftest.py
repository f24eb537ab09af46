"""The payment tests' shops: wired to localstripe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.payments.stripe_support import WEBHOOK_SECRET, StripeShop
from tests.peers.fake_stripe.fixture import LocalStripe
from tests.web.conftest import WebShop


@pytest.fixture
def stripe_shop(database_url: str, localstripe: LocalStripe) -> Iterator[StripeShop]:
    shop = StripeShop(database_url, localstripe)
    yield shop
    shop.app.engine.dispose()


@pytest.fixture
def shop(database_url: str, localstripe: LocalStripe) -> Iterator[WebShop]:
    """The web shop, its payments through Stripe at localstripe and its webhook secret set."""
    shop = WebShop(
        database_url,
        stripe_secret_key=localstripe.secret_key,
        stripe_publishable_key=localstripe.publishable_key,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=localstripe.url,
    )
    yield shop
    shop.close()
