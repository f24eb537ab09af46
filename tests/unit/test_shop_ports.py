"""Which ports of a shop host are the shop's: the scheme's default, and those its hosts name.

A URL's port is part of its origin: the same host name on another port may be another
server (https://url.spec.whatwg.org/#concept-url-port, RFC 6454 §4). Port 0 names no
server; ports past 65535 do not exist (RFC 6335 §6).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hashcart.config import load_settings
from hashcart.domain.products import Catalog, CatalogItem, ShopHosts
from hashcart.domain.urls import canonical_url

MUG = CatalogItem("mug", "https://shop.example/products/blue-mug")
OTHER_PAGE = "/collections/summer/products/blue-mug"  # names the mug by its handle only


def test_a_product_link_resolves_on_the_default_port_but_not_on_another_port() -> None:
    catalog = Catalog([MUG])
    assert catalog.resolve(f"https://shop.example:443{OTHER_PAGE}") == "mug"
    assert catalog.resolve(f"http://shop.example:80{OTHER_PAGE}") == "mug"
    assert catalog.resolve(f"https://shop.example:8080{OTHER_PAGE}") is None
    assert catalog.resolve(f"http://shop.example:443{OTHER_PAGE}") is None
    assert not catalog.hosts.matches_url("https://shop.example:8080/products/blue-mug")


def test_a_port_the_shop_hosts_name_is_the_shops() -> None:
    hosts = ShopHosts(["shop.example:8080"])
    catalog = Catalog([MUG], hosts)
    assert catalog.resolve(f"https://shop.example:8080{OTHER_PAGE}") == "mug"
    assert catalog.resolve(f"http://www.shop.example:8080{OTHER_PAGE}") == "mug"
    assert catalog.resolve(f"https://shop.example{OTHER_PAGE}") == "mug"
    assert catalog.resolve(f"https://shop.example:8081{OTHER_PAGE}") is None
    assert hosts.names == frozenset({"shop.example"})
    assert hosts.matches_url("https://shop.example:8080/anything")
    assert not hosts.matches_url("https://shop.example:9090/anything")


def test_port_zero_and_ports_out_of_range_are_never_the_shops() -> None:
    for port in ("0", "00", "65536", "99999", "1" + "0" * 5000):
        link = f"https://shop.example:{port}/products/blue-mug"
        assert canonical_url(link) is None, port
        assert Catalog([MUG]).resolve(link) is None, port
        assert not ShopHosts(["shop.example"]).matches_url(link), port
        with pytest.raises(ValueError, match="not a host name"):
            ShopHosts([f"shop.example:{port}"])


def test_catalog_links_on_a_port_make_that_port_the_shops() -> None:
    items = [CatalogItem("mug", "https://shop.example:8443/products/blue-mug")]
    assert ShopHosts.hosts_of(item.link for item in items) == ["shop.example:8443"]
    catalog = Catalog(items)
    assert catalog.resolve(f"https://shop.example:8443{OTHER_PAGE}") == "mug"
    assert catalog.resolve(f"https://shop.example:9443{OTHER_PAGE}") is None


def test_a_shop_host_with_a_port_is_a_setting_the_engine_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HASHCART_CONFIG", "HASHCART_SHOP_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "hashcart.toml"
    config.write_text('shop_hosts = ["shop.example:8080"]\n')
    assert load_settings(config).shop_hosts == ("shop.example:8080",)
    config.write_text('shop_hosts = ["shop.example:0"]\n')
    with pytest.raises(ValueError):
        load_settings(config)
