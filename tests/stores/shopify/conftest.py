"""The Shopify stand-in (tests/peers/shopify) served on loopback once a session and emptied
before each test, and a ShopifyStore on it whose waits move a clock instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hashcart.clock import FixedClock
from hashcart.stores.shopify import ShopifyStore
from tests.loopback import LiveServer
from tests.peers.shopify import standin
from tests.peers.shopify.standin import StandIn


@dataclass
class Served:
    standin: StandIn
    url: str


@pytest.fixture(scope="session")
def shopify_served() -> Iterator[Served]:
    shop = StandIn()
    with LiveServer(shop.app()) as server:
        yield Served(shop, server.url)


@pytest.fixture
def shop(shopify_served: Served) -> StandIn:
    shopify_served.standin.reset()
    return shopify_served.standin


@dataclass
class Sleeper:
    """Records each wait and moves the clock by it: the time passes, nobody sleeps."""

    clock: FixedClock
    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper(FixedClock(datetime(2026, 12, 6, 4, 0, tzinfo=UTC)))


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def make_store(
    served: Served, http: httpx.Client, sleeper: Sleeper, **options: Any
) -> ShopifyStore:
    return ShopifyStore(
        standin.SHOP,
        standin.ADMIN_TOKEN,
        standin.STOREFRONT_TOKEN,
        standin.API_VERSION,
        api_base=served.url,
        http=http,
        sleep=sleeper,
        **options,
    )


@pytest.fixture
def store(
    shopify_served: Served, shop: StandIn, http: httpx.Client, sleeper: Sleeper
) -> ShopifyStore:
    return make_store(shopify_served, http, sleeper)
