"""The shop's X user token: refreshed when X rejects it (access tokens last 2 hours), the
rotated pair kept sealed so the next refresh and the next process use it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hashcart.config import Settings
from hashcart.networks.x.api import XApi
from hashcart.networks.x.send import TOKEN_REJECTED, XSender
from hashcart.networks.x.shop_token import ShopToken
from hashcart.outbox.senders import OutboxItem, SendFailed
from hashcart.store import schema as t
from hashcart.store.network_sessions import StoredSessions
from tests.harness import Shop
from tests.networks.x.conftest import SHOPPER_ID, ServedStandIn
from tests.networks.x.stand_in import CLIENT_ID, CLIENT_SECRET, SHOP_USER_ID, USER_TOKEN

KEY = Fernet.generate_key().decode()


def _item(number: int) -> OutboxItem:
    return OutboxItem(
        id=number,
        network="x",
        channel="reply",
        account_id=SHOPPER_ID,
        in_reply_to=f"188000000000000000{number}",
        reason="added",
        text=f"@maya Added the mug to your cart (ref {number})",
        subject=None,
        dedupe_key=f"x:188000000000000000{number}:added",
        attempts=0,
    )


def _settings(shop: Shop, x: ServedStandIn, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": shop.app.settings.database_url,
        "x_api_url": x.url,
        "x_access_token": USER_TOKEN,
        "x_refresh_token": "refresh-token-0",
        "x_client_id": CLIENT_ID,
        "x_client_secret": CLIENT_SECRET,
        "token_key": KEY,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _sender(shop: Shop, settings: Settings) -> XSender:
    return XSender(
        XApi.from_settings(settings),
        shop_user_id=SHOP_USER_ID,
        token=ShopToken(StoredSessions(shop.app.engine, shop.clock), settings, shop.clock),
    )


def test_an_expired_token_is_refreshed_and_the_reply_goes(shop: Shop, x: ServedStandIn) -> None:
    x.x.accepted_user_token = None  # two hours later: X rejects the settings' token
    sent = _sender(shop, _settings(shop, x)).send(_item(1), shop.clock.now())
    assert sent.remote_id is not None
    assert [request["refresh_token"] for request in x.x.token_requests] == ["refresh-token-0"]
    assert len(x.x.create_requests) == 1  # the refused attempt posted nothing


def test_the_rotated_pair_is_kept_sealed_and_used_next_time(shop: Shop, x: ServedStandIn) -> None:
    settings = _settings(shop, x)
    x.x.accepted_user_token = None
    _sender(shop, settings).send(_item(1), shop.clock.now())
    with shop.app.engine.connect() as connection:
        sealed = connection.scalar(select(t.network_sessions.c.secret_data))
    assert sealed is not None and "user-token-1" not in sealed and "refresh-token-1" not in sealed
    # A new process: the stored token works without asking X again.
    _sender(shop, settings).send(_item(2), shop.clock.now())
    assert len(x.x.token_requests) == 1
    # When that one expires too, the rotated refresh token (not the settings') renews it.
    x.x.accepted_user_token = None
    _sender(shop, settings).send(_item(3), shop.clock.now())
    assert [request["refresh_token"] for request in x.x.token_requests] == [
        "refresh-token-0",
        "refresh-token-1",
    ]


def test_without_a_refresh_token_a_rejected_token_fails_for_good(
    shop: Shop, x: ServedStandIn
) -> None:
    x.x.accepted_user_token = None
    settings = _settings(shop, x, x_refresh_token=None)
    with pytest.raises(SendFailed) as failed:
        _sender(shop, settings).send(_item(1), shop.clock.now())
    assert failed.value.permanent and failed.value.reason == TOKEN_REJECTED
    assert x.x.token_requests == []


def test_a_refused_refresh_is_a_rejected_token(shop: Shop, x: ServedStandIn) -> None:
    x.x.accepted_user_token = None
    x.x.refresh_token = "something-else"  # ours was spent elsewhere
    with pytest.raises(SendFailed) as failed:
        _sender(shop, _settings(shop, x)).send(_item(1), shop.clock.now())
    assert failed.value.reason == TOKEN_REJECTED
    assert x.x.create_requests == []
