"""Errors for people are pages with a way back; errors for programs stay JSON.

A browser's navigation sends `Accept: text/html,...` (the HTML standard's fetch of a
document, https://fetch.spec.whatwg.org/#concept-request-destination "document"); curl,
scripts and the test client send `*/*`, and the API and webhooks are for programs whatever
they send."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hashcart.web.security import CONTENT_SECURITY_POLICY
from tests.web.conftest import WebShop

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def _is_page(response: Any) -> bool:
    return response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/no-such-page", "/merchant/no-such-page", "/static/x.css"])
def test_an_unknown_address_is_a_page_with_a_way_back_for_a_browser(
    web_shop: WebShop, path: str
) -> None:
    response = web_shop.browser().get(path, headers=PAGE)
    assert response.status_code == 404
    assert _is_page(response)
    assert "Page not found" in response.text
    assert 'href="/s/demo"' in response.text or 'href="/s/' in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert '<link rel="stylesheet" href="/static/style.css">' in response.text


def test_an_unknown_console_address_offers_the_merchant_sign_in_or_the_console(
    web_shop: WebShop,
) -> None:
    browser = web_shop.browser()
    stranger = browser.get("/merchant/no-such-page", headers=PAGE)
    assert 'href="/merchant/sign-in"' in stranger.text
    assert browser.merchant_sign_in().status_code == 303
    merchant = browser.get("/merchant/no-such-page", headers=PAGE)
    assert merchant.status_code == 404
    assert 'href="/merchant">Go to the console' in merchant.text


@pytest.mark.parametrize("path", ["/no-such-page", "/merchant/no-such-page", "/static/x.css"])
def test_programs_keep_the_json_problem_they_always_had(web_shop: WebShop, path: str) -> None:
    browser = web_shop.browser()
    for headers in ({}, JSON, {"Accept": "*/*"}):
        response = browser.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}


def test_the_api_and_webhooks_answer_json_even_to_a_browser(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    missing = browser.get("/api/no-such-list", headers=PAGE)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    unknown_network = browser.client.post("/webhooks/no-such-network", headers=PAGE, content=b"{}")
    assert (unknown_network.status_code, unknown_network.json()) == (404, {"detail": "Not Found"})
    anonymous = browser.get("/api/posts", headers=PAGE)
    assert anonymous.status_code == 401
    assert not _is_page(anonymous)


def test_a_wrong_method_is_a_page_for_a_browser_and_json_for_a_program(
    web_shop: WebShop,
) -> None:
    browser = web_shop.browser()
    page = browser.client.put("/sign-in", headers=PAGE)
    assert page.status_code == 405
    assert _is_page(page)
    assert "Not like that" in page.text
    assert "GET" in page.headers["allow"]
    program = browser.client.put("/sign-in")
    assert (program.status_code, program.json()) == (405, {"detail": "Method Not Allowed"})


def test_a_shopper_following_the_footers_console_link_is_offered_the_merchant_sign_in(
    web_shop: WebShop,
) -> None:
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")
    front = browser.get(f"/s/{web_shop.app.settings.shop_slug}")
    assert 'href="/merchant">Merchant console' in front.text
    response = browser.get("/merchant", headers=PAGE)
    assert response.status_code == 403
    assert "The merchant console" in response.text
    assert "ann@example.com" in response.text
    assert 'href="/merchant/sign-in?next=%2Fmerchant"' in response.text


@pytest.fixture
def exploding(web_shop: WebShop) -> Iterator[TestClient]:
    """The app with one route that fails the way a bug would."""

    def boom() -> None:
        raise RuntimeError("a bug")

    web_shop.web.add_api_route("/boom", boom)
    web_shop.web.add_api_route("/api/boom", boom)
    with TestClient(web_shop.web, raise_server_exceptions=False) as client:
        yield client


def test_a_server_error_is_a_page_for_a_browser_with_the_usual_headers(
    exploding: TestClient,
) -> None:
    response = exploding.get("/boom", headers=PAGE)
    assert response.status_code == 500
    assert _is_page(response)
    assert "Something went wrong" in response.text
    assert "a bug" not in response.text  # no internals shown
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"


def test_a_server_error_stays_plain_text_for_programs_and_the_api(
    exploding: TestClient,
) -> None:
    for path, headers in (("/boom", {}), ("/boom", JSON), ("/api/boom", PAGE)):
        response = exploding.get(path, headers=headers)
        assert response.status_code == 500
        assert response.text == "Internal Server Error"


def test_the_500_page_is_drawn_even_when_the_database_is_gone(
    web_shop: WebShop, exploding: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    exploding.cookies.set("hc_session", "x" * 40)  # the page would look the session up
    web_shop.app.engine.dispose()
    Path(web_shop.app.engine.url.database or "").unlink()  # a new, empty file: no tables
    response = exploding.get("/boom", headers=PAGE)
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert 'href="/s/' in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "the bare one is shown" in caplog.text


def test_hostile_paths_are_escaped_on_the_page(web_shop: WebShop) -> None:
    response = web_shop.browser().get("/<script>alert(1)</script>%00%ff", headers=PAGE)
    assert response.status_code == 404
    assert "<script>alert" not in response.text


def test_the_favicon_is_served_on_every_page(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    icon = browser.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    front = browser.get(f"/s/{web_shop.app.settings.shop_slug}")
    assert '<link rel="icon" href="/favicon.ico"' in front.text
