"""The payment tests' shop: wired to localstripe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.payments.stripe_support import StripeShop
from tests.peers.fake_stripe.fixture import LocalStripe


@pytest.fixture
def stripe_shop(database_url: str, localstripe: LocalStripe) -> Iterator[StripeShop]:
    shop = StripeShop(database_url, localstripe)
    yield shop
    shop.app.engine.dispose()
