"""X tests: a shop on a real database, and the X stand-in served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hashcart.domain.posts import Network
from hashcart.networks.x.api import XApi
from tests.harness import Shop
from tests.loopback import LiveServer
from tests.networks.x.stand_in import APP_BEARER, USER_TOKEN, XStandIn

SHOP_ID, SHOP_HANDLE = "1250000000000000001", "trailhead"
SHOPPER_ID, SHOPPER_HANDLE, SHOPPER_EMAIL = "2244994945", "maya", "maya@example.com"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    shop = Shop(f"sqlite:///{tmp_path / 'x.db'}")
    shop.customer(SHOPPER_EMAIL, (Network.X, SHOPPER_ID, SHOPPER_HANDLE))
    yield shop
    shop.app.engine.dispose()


class ServedStandIn:
    """The stand-in and where it listens."""

    def __init__(self, stand_in: XStandIn, url: str) -> None:
        self.x = stand_in
        self.url = url

    def api(
        self, bearer_token: str | None = APP_BEARER, user_token: str | None = USER_TOKEN
    ) -> XApi:
        return XApi(self.url, bearer_token=bearer_token, user_token=user_token)


@pytest.fixture
def x(shop: Shop) -> Iterator[ServedStandIn]:
    stand_in = XStandIn(shop.clock.now)
    with LiveServer(stand_in.app) as server:
        try:
            yield ServedStandIn(stand_in, server.url)
        finally:
            stand_in.release()
