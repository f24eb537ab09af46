"""The Shopify settings: a shop is named by its myshopify.com host (where the Admin and
Storefront APIs answer, https://shopify.dev/docs/api/admin-graphql#endpoints) and every
request names an API version (https://shopify.dev/docs/api/usage/versioning)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashcart.config import Settings, load_settings
from hashcart.stores.shopify import ShopifyNotConfigured, ShopifyStore


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("example.myshopify.com", "example.myshopify.com"),
        (" https://Trail-Head.myshopify.com/ ", "trail-head.myshopify.com"),
        ("", ""),
    ],
)
def test_the_shop_domain_is_kept_as_its_myshopify_host(given: str, kept: str) -> None:
    assert Settings(shopify_shop_domain=given).shopify_shop_domain == kept


@pytest.mark.parametrize(
    "line",
    [
        'shopify_shop_domain = "shop.example"',
        'shopify_shop_domain = "127.0.0.1"',
        'shopify_shop_domain = "evil.test/x.myshopify.com"',
        'shopify_shop_domain = "example.myshopify.com.evil.test"',
        'shopify_api_version = "2025-11"',
        'shopify_api_version = "latest"',
    ],
)
def test_a_shop_or_version_shopify_does_not_answer_is_refused_at_start(
    tmp_path: Path, line: str
) -> None:
    config = tmp_path / "hashcart.toml"
    config.write_text(line + "\n")
    with pytest.raises(ValueError, match=line.split(" ")[0]):
        load_settings(config)


def test_the_store_names_the_setting_it_misses() -> None:
    with pytest.raises(ShopifyNotConfigured, match="shopify_shop_domain"):
        ShopifyStore.from_settings(Settings())
    with pytest.raises(ShopifyNotConfigured, match="shopify_admin_token"):
        ShopifyStore.from_settings(Settings(shopify_shop_domain="example.myshopify.com"))


def test_the_store_asks_the_shop_s_own_host_with_the_pinned_version() -> None:
    store = ShopifyStore.from_settings(
        Settings(
            shopify_shop_domain="example.myshopify.com",
            shopify_admin_token="shpat_x",
            shopify_storefront_token="sf",
        )
    )
    assert store.admin.endpoint.url == (
        "https://example.myshopify.com/admin/api/2025-10/graphql.json"
    )
    assert store.admin.endpoint.headers == {"X-Shopify-Access-Token": "shpat_x"}
    assert store.storefront is not None
    assert store.storefront.endpoint.url == "https://example.myshopify.com/api/2025-10/graphql.json"
    assert store.storefront.endpoint.headers == {"X-Shopify-Storefront-Access-Token": "sf"}
