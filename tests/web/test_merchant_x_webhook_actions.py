"""The Networks page's X webhook panel: the webhook's state as X lists it (registered URL,
valid, created) and the actions of `hashcart x webhook` / `hashcart x subscribe`, as POST
forms with the console's CSRF token, against a loopback stand-in answering with the bodies
of xdevplatform/docs x-api/webhooks/quickstart.mdx (see tests/networks/x/webhooks_stand_in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loopback import LiveServer
from tests.networks.x.stand_in import APP_BEARER, USER_TOKEN
from tests.networks.x.webhooks_stand_in import (
    CREATED,
    LISTED,
    WebhooksStandIn,
    refusal,
)
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import HOSTILE_SCRIPT, assert_inert, parse

SHOP_USER_ID = "2244994945"


class Panel:
    def __init__(self, shop: WebShop, stand_in: WebhooksStandIn) -> None:
        self.shop = shop
        self.x = stand_in
        self.browser: Browser = shop.browser()
        assert self.browser.merchant_sign_in().status_code == 303

    def post(self, action: str, **fields: str) -> tuple[int, str]:
        response = self.browser.submit(f"/merchant/networks/x/webhook/{action}", fields)
        return response.status_code, " ".join(parse(response.text).text.split())


@pytest.fixture
def panel(tmp_path: Path) -> Iterator[Panel]:
    stand_in = WebhooksStandIn()
    with LiveServer(stand_in.app) as server:
        shop = WebShop(
            f"sqlite:///{tmp_path / 'x.db'}",
            x_api_url=server.url,
            x_bearer_token=APP_BEARER,
            x_access_token=USER_TOKEN,
            x_shop_user_id=SHOP_USER_ID,
            public_url="https://shop.example",
        )
        try:
            yield Panel(shop, stand_in)
        finally:
            shop.close()


def test_a_visit_does_not_ask_x(panel: Panel) -> None:
    page = panel.browser.get("/merchant/networks")
    assert page.status_code == 200
    assert "Not asked yet" in page.text
    assert parse(page.text).inputs["url"] == "https://shop.example/webhooks/x"
    assert panel.x.requests == []


def test_asking_shows_the_webhook_s_url_validity_and_creation(panel: Panel) -> None:
    status, text = panel.post("list")
    assert status == 200
    assert "1234567890 https://yourdomain.com/webhooks/twitter valid 2025-01-15T12:00:00.000Z" in (
        text
    )
    assert panel.x.requests == [("GET", "/2/webhooks", APP_BEARER, None)]


def test_register_check_subscribe_delete(panel: Panel) -> None:
    status, text = panel.post("register", url=CREATED["data"]["url"])
    assert status == 200
    assert "Webhook 1234567890 registered: X's CRC check passed." in text
    assert panel.x.requests[0] == (
        "POST",
        "/2/webhooks",
        APP_BEARER,
        {"url": "https://yourdomain.com/webhooks/twitter"},
    )
    assert "X's CRC check passed." in panel.post("check", webhook_id="1234567890")[1]
    assert (
        "Subscribed: post.reply.create, post.mention.create."
        in (panel.post("subscribe", webhook_id="1234567890")[1])
    )
    assert "Webhook 1234567890 deleted." in panel.post("delete", webhook_id="1234567890")[1]
    calls = [(method, path, token) for method, path, token, _ in panel.x.requests]
    assert ("PUT", "/2/webhooks/1234567890", APP_BEARER) in calls
    assert calls.count(("POST", "/2/activity/subscriptions", USER_TOKEN)) == 2
    assert ("DELETE", "/2/webhooks/1234567890", APP_BEARER) in calls


def test_a_documented_refusal_is_the_page_s_error(panel: Panel) -> None:
    panel.x.script.append(refusal("CrcValidationFailed", "Invalid response_token"))
    status, text = panel.post("register")
    assert status == 400
    assert "X refused POST /2/webhooks: CrcValidationFailed: the webhook URL did not answer" in (
        text
    )
    assert panel.x.requests[0][3] == {"url": "https://shop.example/webhooks/x"}


def test_without_the_csrf_token_nothing_is_asked(panel: Panel) -> None:
    response = panel.browser.client.post(
        "/merchant/networks/x/webhook/delete",
        data={"webhook_id": "1234567890"},
        follow_redirects=False,
    )
    assert response.status_code in (400, 403)
    assert panel.x.requests == []


def test_signed_out_nothing_is_asked(panel: Panel) -> None:
    stranger = panel.shop.browser()
    response = stranger.submit("/merchant/networks/x/webhook/list", {})
    assert response.status_code == 303
    assert panel.x.requests == []


@pytest.mark.parametrize(
    "hostile", ["12\x0034", "../../2/tweets", "9" * 40, HOSTILE_SCRIPT[:40], "١٢٣"]
)
def test_a_hostile_webhook_id_is_refused_before_x(panel: Panel, hostile: str) -> None:
    status, text = panel.post("delete", webhook_id=hostile)
    assert status == 400
    assert "not an X webhook id" in text
    assert panel.x.requests == []


def test_what_x_says_stays_text(panel: Panel) -> None:
    panel.x.listed = {
        "data": [LISTED["data"][0] | {"url": f"https://shop.example/{HOSTILE_SCRIPT}"}],
        "meta": {"result_count": 1},
    }
    panel.x.script.append(refusal("NotADocumentedReason", HOSTILE_SCRIPT))
    refused = panel.browser.submit("/merchant/networks/x/webhook/register", {})
    assert refused.status_code == 400
    assert_inert(refused.text)
    assert HOSTILE_SCRIPT in parse(refused.text).text
    response = panel.browser.submit("/merchant/networks/x/webhook/list", {})
    assert_inert(response.text)
    assert HOSTILE_SCRIPT in parse(response.text).text
