"""The JSON API: merchant tokens see everything, a shopper's session only their own cart,
wish list and orders, nobody nothing; the shapes match the CLI's; OpenAPI documents it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.store import schema as t
from hashcart.store.api_tokens import list_tokens, revoke_token
from tests.web.conftest import Browser, WebShop
from tests.web.funnel_support import (
    BRAND_POST,
    X_SHOP_ID,
    add_scenario_orders,
    api_token,
    build_funnel_shop,
)

MERCHANT_ONLY = ["/api/posts", "/api/catalog", "/api/outbox"]
SHOPPER_OWN = ["/api/carts", "/api/wishlists", "/api/orders"]
ALL_ENDPOINTS = MERCHANT_ONLY + SHOPPER_OWN


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def shop(web_shop: WebShop) -> WebShop:
    build_funnel_shop(web_shop)
    add_scenario_orders(web_shop)
    return web_shop


def signed_in(shop: WebShop, email: str) -> Browser:
    browser = shop.browser()
    assert browser.sign_in(email).status_code == 303
    return browser


@pytest.mark.parametrize("path", ALL_ENDPOINTS)
def test_nobody_gets_401_with_a_bearer_challenge(web_shop: WebShop, path: str) -> None:
    response = web_shop.browser().get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "detail" in response.json()


@pytest.mark.parametrize("path", ALL_ENDPOINTS)
def test_a_merchant_token_reaches_every_endpoint(shop: WebShop, path: str) -> None:
    response = shop.browser().get(path, headers=bearer(api_token(shop)))
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list) and response.json()


def test_a_token_is_marked_when_it_was_last_used(shop: WebShop) -> None:
    token = api_token(shop)
    shop.clock.advance(timedelta(minutes=3))
    shop.browser().get("/api/catalog", headers=bearer(token))
    with shop.app.engine.connect() as connection:
        [stored] = list_tokens(connection)
        hashes = connection.execute(select(t.api_tokens.c.token_hash)).scalars().all()
    assert stored.last_used_at == shop.clock.now()
    assert token not in hashes  # only the hash is kept


@pytest.mark.parametrize(
    "authorization",
    ["Bearer hc_not_a_token", "Bearer ", "Basic dXNlcjpwYXNz", "hc_test_token", "Bearer"],
)
def test_unknown_or_malformed_credentials_are_refused(shop: WebShop, authorization: str) -> None:
    api_token(shop)
    response = shop.browser().get("/api/carts", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(shop: WebShop) -> None:
    token = api_token(shop)
    browser = shop.browser()
    assert browser.get("/api/catalog", headers=bearer(token)).status_code == 200
    with shop.app.engine.begin() as connection:
        [stored] = list_tokens(connection)
        assert revoke_token(connection, stored.id, shop.clock.now())
    refused = browser.get("/api/catalog", headers=bearer(token))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_a_bad_token_is_refused_even_beside_a_shopper_session(shop: WebShop) -> None:
    alice = signed_in(shop, "alice@example.com")
    assert alice.get("/api/carts").status_code == 200
    assert alice.get("/api/carts", headers=bearer("hc_wrong")).status_code == 401


def test_carts_and_wish_lists_have_the_shapes_of_the_cli(shop: WebShop) -> None:
    from hashcart.views import queries

    browser = shop.browser()
    token = api_token(shop)
    with shop.app.engine.connect() as connection:
        carts, wishlists = queries.carts(connection), queries.wishlists(connection)
    assert browser.get("/api/carts", headers=bearer(token)).json() == carts
    assert browser.get("/api/wishlists", headers=bearer(token)).json() == wishlists
    emails = {entry["customer"] for entry in carts}
    assert {"alice@example.com", "erin@example.com", "frank@example.com"} <= emails


def test_a_shopper_sees_only_their_own_cart_wish_list_and_orders(shop: WebShop) -> None:
    alice = signed_in(shop, "alice@example.com")
    carts = alice.get("/api/carts").json()
    assert [entry["customer"] for entry in carts] == ["alice@example.com"]
    assert [line["product_id"] for line in carts[0]["lines"]] == ["mug"]
    assert alice.get("/api/wishlists").json() == []  # bob's wish list is not hers
    orders = alice.get("/api/orders").json()
    assert [order["email"] for order in orders] == ["alice@example.com"]
    assert [line["quantity"] for line in orders[0]["lines"]] == [1, 2]

    bob = signed_in(shop, "bob@example.com")
    assert [e["customer"] for e in bob.get("/api/wishlists").json()] == ["bob@example.com"]
    assert bob.get("/api/carts").json() == [] and bob.get("/api/orders").json() == []


@pytest.mark.parametrize("path", MERCHANT_ONLY)
def test_a_shopper_cannot_reach_merchant_endpoints(shop: WebShop, path: str) -> None:
    response = signed_in(shop, "alice@example.com").get(path)
    assert response.status_code == 403


def test_a_merchant_console_session_is_not_an_api_credential(shop: WebShop) -> None:
    browser = shop.browser()
    browser.merchant_sign_in()
    assert browser.get("/api/posts").status_code == 401


def test_orders_carry_lines_totals_and_the_post_each_line_came_from(shop: WebShop) -> None:
    orders = shop.browser().get("/api/orders", headers=bearer(api_token(shop))).json()
    assert {order["email"] for order in orders} == {"alice@example.com", "erin@example.com"}
    erin = next(order for order in orders if order["email"] == "erin@example.com")
    assert erin["total_amount"] == "105.00" and erin["currency"] == "USD"
    assert erin["shipping"]["city"] == "Springfield"
    assert [(line["network"], line["post_id"]) for line in erin["lines"]] == [
        ("bluesky", BRAND_POST),
        ("x", X_SHOP_ID),
    ]


def test_posts_carry_the_funnel_figures_with_filter_and_sort(shop: WebShop) -> None:
    browser = shop.browser()
    token = api_token(shop)
    posts = browser.get("/api/posts?sort=carted&dir=desc", headers=bearer(token)).json()
    assert [post["network"] for post in posts] == ["bluesky", "mastodon", "x"]
    bluesky = posts[0]
    figures = {k: bluesky[k] for k in ("triggers", "valid_triggers", "carted", "wishlisted")}
    assert figures == {"triggers": 6, "valid_triggers": 4, "carted": 3, "wishlisted": 1}
    assert (bluesky["pending"], bluesky["orders"], bluesky["units"]) == (1, 2, 5)
    assert bluesky["revenue"] == [{"currency": "USD", "amount": "103.00"}]
    assert bluesky["url"].startswith("https://bsky.app/profile/")
    assert [p["product_id"] for p in bluesky["products"]] == ["mug", "beans"]
    only_x = browser.get("/api/posts?network=x", headers=bearer(token)).json()
    assert [post["post_id"] for post in only_x] == [X_SHOP_ID]
    assert browser.get("/api/posts?sort=nonsense", headers=bearer(token)).status_code == 422


def test_catalog_lists_products_with_prices(shop: WebShop) -> None:
    products = shop.browser().get("/api/catalog", headers=bearer(api_token(shop))).json()
    mug = next(p for p in products if p["product_id"] == "mug")
    assert (mug["price"], mug["currency"], mug["availability"]) == ("18.00", "USD", "in_stock")


def test_the_outbox_lists_messages_and_withholds_reset_links(shop: WebShop) -> None:
    assert shop.browser().submit("/reset", {"email": "alice@example.com"}).status_code in (
        200,
        303,
    )
    token = api_token(shop)
    messages = shop.browser().get("/api/outbox", headers=bearer(token)).json()
    reasons = {message["reason"] for message in messages}
    assert {"added", "wishlisted", "link_needed"} <= reasons
    resets = [m for m in messages if m["reason"] == "password_reset"]
    assert resets, "the reset email is listed"
    assert all("withheld" in m["text"] and "/reset/" not in m["text"] for m in resets)
    queued = shop.browser().get("/api/outbox?status=sent", headers=bearer(token)).json()
    assert queued == []


def _schema_of(document: dict[str, Any], path: str) -> dict[str, Any]:
    response = document["paths"][path]["get"]["responses"]["200"]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def test_openapi_documents_every_endpoint_with_real_schemas_and_auth(web_shop: WebShop) -> None:
    document = web_shop.browser().get("/api/openapi.json").json()
    for path in ALL_ENDPOINTS:
        assert path in document["paths"], path
        assert "401" in document["paths"][path]["get"]["responses"]
    for path in MERCHANT_ONLY:
        assert "403" in document["paths"][path]["get"]["responses"]
    assert _schema_of(document, "/api/posts")["items"]["$ref"].endswith("/FunnelPost")
    assert _schema_of(document, "/api/carts")["items"]["$ref"].endswith("/CustomerList")
    funnel_post = document["components"]["schemas"]["FunnelPost"]["properties"]
    assert {"triggers", "valid_triggers", "carted", "pending", "orders", "revenue"} <= set(
        funnel_post
    )
    schemes = document["components"]["securitySchemes"]
    assert schemes["merchantToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["merchantToken"]["description"],
    }
    assert schemes["shopperSession"]["in"] == "cookie"
    assert "/merchant/posts" not in document["paths"] and "/cart" not in document["paths"]


def test_a_token_used_again_within_a_minute_is_not_marked_again(shop: WebShop) -> None:
    # Marking it took the database's write lock on every API read (issue 14, fast pages).
    token = api_token(shop)
    shop.browser().get("/api/catalog", headers=bearer(token))
    first = shop.clock.now()
    shop.clock.advance(timedelta(seconds=59))
    shop.browser().get("/api/catalog", headers=bearer(token))
    with shop.app.engine.connect() as connection:
        assert list_tokens(connection)[0].last_used_at == first
    shop.clock.advance(timedelta(seconds=1))
    shop.browser().get("/api/catalog", headers=bearer(token))
    with shop.app.engine.connect() as connection:
        assert list_tokens(connection)[0].last_used_at == shop.clock.now()
