"""Shop URL rules: product keys, shop hosts, catalog resolution and the host needle."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashcart.domain.products import (
    Catalog,
    CatalogItem,
    ProductKey,
    ShopHosts,
    product_key,
    shop_host_pattern,
)
from hashcart.domain.urls import canonicalize

# --- product_key ----------------------------------------------------------------------


def test_amazon_dp_path_gives_its_asin() -> None:
    assert product_key("https://amazon.com/dp/B000IZ8KZ4") == ProductKey("asin", "B000IZ8KZ4")


def test_amazon_dp_path_after_a_title_slug_gives_its_asin() -> None:
    url = "https://www.amazon.com/Some-Mug-Name/dp/B000IZ8KZ4/ref=sr_1_1?keywords=mug"
    assert product_key(url) == ProductKey("asin", "B000IZ8KZ4")


def test_amazon_gp_product_path_gives_its_asin() -> None:
    assert product_key("https://amazon.com/gp/product/B000IZ8KZ4") == ProductKey(
        "asin", "B000IZ8KZ4"
    )


def test_amazon_mobile_gp_aw_d_path_gives_its_asin() -> None:
    assert product_key("https://amazon.com/gp/aw/d/B000IZ8KZ4") == ProductKey("asin", "B000IZ8KZ4")


def test_asin_is_upper_cased() -> None:
    assert product_key("https://amazon.com/dp/b000iz8kz4") == ProductKey("asin", "B000IZ8KZ4")


def test_isbn_style_asin_of_digits_is_an_asin() -> None:
    assert product_key("https://amazon.com/dp/0316769487") == ProductKey("asin", "0316769487")


@pytest.mark.parametrize("asin", ["B000IZ8KZ", "B000IZ8KZ4X", "B000-Z8KZ4"])
def test_asin_of_another_shape_is_no_key(asin: str) -> None:
    assert product_key(f"https://amazon.com/dp/{asin}") is None


def test_shopify_products_path_gives_its_handle() -> None:
    assert product_key("https://shop.example/products/blue-mug") == ProductKey("handle", "blue-mug")


def test_shopify_collection_products_path_gives_its_handle() -> None:
    url = "https://shop.example/collections/summer/products/blue-mug"
    assert product_key(url) == ProductKey("handle", "blue-mug")


def test_shopify_market_locale_products_path_gives_its_handle() -> None:
    url = "https://shop.example/en-ca/products/blue-mug"
    assert product_key(url) == ProductKey("handle", "blue-mug")


def test_handle_is_lower_cased() -> None:
    assert product_key("https://shop.example/products/Blue-Mug") == ProductKey("handle", "blue-mug")


def test_escaped_handle_is_decoded() -> None:
    url = "https://shop.example/products/caf%C3%A9-mug"
    assert product_key(url) == ProductKey("handle", "café-mug")


def test_variant_parameter_is_part_of_a_handle_key() -> None:
    url = "https://shop.example/products/blue-mug?variant=4242"
    assert product_key(url) == ProductKey("handle", "blue-mug", "4242")


def test_variant_that_is_not_a_number_is_ignored() -> None:
    url = "https://shop.example/products/blue-mug?variant=large"
    assert product_key(url) == ProductKey("handle", "blue-mug")


def test_variant_parameter_is_ignored_on_an_asin() -> None:
    assert product_key("https://amazon.com/dp/B000IZ8KZ4?variant=1") == ProductKey(
        "asin", "B000IZ8KZ4"
    )


@pytest.mark.parametrize(
    "path",
    ["/", "/products", "/products/", "/collections/summer", "/blog/x/y/products/mug",
     "/products/mug/reviews", "/shop?variant=4242", "/dp"],
)  # fmt: skip
def test_path_naming_no_product_is_no_key(path: str) -> None:
    assert product_key(f"https://shop.example{path}") is None


def test_unusable_url_has_no_key() -> None:
    assert product_key("https://shop.example@evil.test/products/mug") is None


# --- ShopHosts ------------------------------------------------------------------------

SHOP = ShopHosts(["shop.example"])


@pytest.mark.parametrize(
    "host",
    ["shop.example", "SHOP.Example", "www.shop.example", "m.shop.example", "shop.example."],
)
def test_shop_host_matches_its_spellings(host: str) -> None:
    assert SHOP.matches(host)


@pytest.mark.parametrize(
    "host",
    ["shop.example.evil.test", "evil-shop.example", "shop-example.com", "shopexample",
     "eu.shop.example", "hop.example", "sshop.example", "shop.examples", "example",
     "shop.example@evil.test", "evil.test@shop.example", "shop.example%2eevil.test",
     "shоp.example", "xn--shp-ted.example", "sh\u200bop.example", "shop\u00ad.example",
     "shop.example..", "ｓｈｏｐ.example", "shop\uff0eexample", "shop.example:443", ""],
)  # fmt: skip
def test_lookalike_host_does_not_match(host: str) -> None:
    assert not SHOP.matches(host)


def test_link_on_a_shop_host_matches() -> None:
    assert SHOP.matches_url("https://WWW.shop.example/anything?utm_source=x")


@pytest.mark.parametrize(
    "url",
    ["https://shop.example@evil.test/a", "https://shop.example.evil.test/a", "shop.example/a",
     "https://shop\uff0eexample/a"],
)  # fmt: skip
def test_link_on_a_lookalike_host_does_not_match(url: str) -> None:
    assert not SHOP.matches_url(url)


def test_hosts_of_links_are_their_distinct_canonical_names_in_order() -> None:
    links = ["https://www.shop.example/a", "not a link", "https://amazon.com/dp/X",
             "https://SHOP.example/b", "http://[::1]/c"]  # fmt: skip
    assert ShopHosts.hosts_of(links) == ["shop.example", "amazon.com"]


def test_unicode_shop_host_matches_its_punycode_name() -> None:
    assert ShopHosts(["Bücher.example"]).matches("xn--bcher-kva.example")


def test_punycode_shop_host_matches_its_unicode_name() -> None:
    assert ShopHosts(["xn--bcher-kva.example"]).matches("BÜCHER.example")


def test_configured_www_host_names_the_bare_host() -> None:
    assert ShopHosts(["www.shop.example"]).names == frozenset({"shop.example"})


def test_one_string_instead_of_a_list_of_names_is_an_error() -> None:
    with pytest.raises(TypeError):
        ShopHosts("shop.example")


def test_configured_name_that_is_no_host_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a host name"):
        ShopHosts(["https://shop.example/"])


# --- Catalog.resolve -------------------------------------------------------------------

MUG = CatalogItem("mug", "https://shop.example/products/blue-mug")
MUG_LARGE = CatalogItem("mug-large", "https://shop.example/products/blue-mug?variant=2")
MUG_SMALL = CatalogItem("mug-small", "https://shop.example/products/blue-mug?variant=1")
CAP = CatalogItem("cap", "https://shop.example/products/red-cap")
PAGE = CatalogItem("gift-card", "https://shop.example/pages/gift-card?utm_source=feed")
BOOK = CatalogItem("book", "https://www.amazon.com/dp/0316769487")


def test_link_equal_to_a_catalog_link_in_canonical_form_resolves() -> None:
    catalog = Catalog([PAGE])
    url = "https://WWW.shop.example/pages/gift-card/?fbclid=x#top"
    assert catalog.resolve(url) == "gift-card"


def test_canonical_link_equality_ignores_the_scheme() -> None:
    assert Catalog([PAGE]).resolve("http://shop.example/pages/gift-card") == "gift-card"


def test_handle_on_a_shop_host_resolves_from_any_shop_page() -> None:
    catalog = Catalog([MUG, CAP])
    assert catalog.resolve("https://shop.example/collections/sale/products/red-cap") == "cap"


def test_handle_on_another_host_does_not_resolve() -> None:
    assert Catalog([MUG]).resolve("https://evil.test/products/blue-mug") is None


def test_variant_picks_the_item_whose_link_has_that_variant() -> None:
    catalog = Catalog([MUG, MUG_SMALL, MUG_LARGE])
    url = "https://shop.example/collections/x/products/blue-mug?variant=2"
    assert catalog.resolve(url) == "mug-large"


def test_unknown_variant_falls_back_to_the_handle_item_without_a_variant() -> None:
    catalog = Catalog([MUG_SMALL, MUG, MUG_LARGE])
    assert catalog.resolve("https://shop.example/products/blue-mug?variant=9") == "mug"


def test_unknown_variant_falls_back_to_the_first_item_of_the_handle() -> None:
    catalog = Catalog([MUG_LARGE, MUG_SMALL])
    assert catalog.resolve("https://shop.example/products/blue-mug?variant=9") == "mug-large"


def test_handle_without_variant_names_the_item_without_a_variant() -> None:
    catalog = Catalog([MUG_SMALL, MUG])
    assert catalog.resolve("https://m.shop.example/products/Blue-Mug") == "mug"


def test_asin_on_a_shop_host_resolves() -> None:
    catalog = Catalog([BOOK])
    url = "https://amazon.com/Catcher-Rye/dp/0316769487/ref=sr_1_1?tag=aff-20&qid=1"
    assert catalog.resolve(url) == "book"


def test_asin_on_a_shop_host_resolves_from_any_amazon_path() -> None:
    assert Catalog([BOOK]).resolve("https://www.amazon.com/gp/aw/d/0316769487") == "book"


def test_asin_on_another_host_does_not_resolve() -> None:
    assert Catalog([BOOK]).resolve("https://amazon.com.evil.test/dp/0316769487") is None


@pytest.mark.parametrize(
    "url",
    ["https://shop.example.evil.test/products/blue-mug",
     "https://evil-shop.example/products/blue-mug",
     "https://shop-example.com/products/blue-mug",
     "https://shop.example@evil.test/products/blue-mug",
     "https://evil.test/products/blue-mug#@shop.example",
     "https://shop.example%2eevil.test/products/blue-mug",
     "https://shоp.example/products/blue-mug",
     "https://xn--shp-ted.example/products/blue-mug",
     "https://shop\u200b.example/products/blue-mug",
     "https://shop.example\\@evil.test/products/blue-mug",
     "https://eu.shop.example/products/blue-mug"],
)  # fmt: skip
def test_lookalike_link_does_not_resolve(url: str) -> None:
    assert Catalog([MUG]).resolve(url) is None


def test_fullwidth_dot_spelling_of_the_shop_host_does_not_resolve() -> None:
    # UTS 46 maps it to the shop's name, but no network links it and it would escape
    # the byte prefilter; we refuse it (see `urls`).
    assert Catalog([MUG]).resolve("https://shop\uff0eexample/products/blue-mug") is None


def test_unknown_product_on_the_shop_host_does_not_resolve() -> None:
    assert Catalog([MUG]).resolve("https://shop.example/products/green-mug") is None


@pytest.mark.parametrize("url", ["", "not a url", "javascript:alert(1)", "https://"])
def test_text_that_is_no_link_does_not_resolve(url: str) -> None:
    assert Catalog([MUG]).resolve(url) is None


def test_shop_hosts_come_from_catalog_links_when_none_are_configured() -> None:
    assert Catalog([MUG, BOOK]).hosts.names == frozenset({"shop.example", "amazon.com"})


def test_catalog_takes_a_shop_hosts_object() -> None:
    catalog = Catalog([MUG], ShopHosts(["store.example"]))
    assert catalog.resolve("https://store.example/products/blue-mug") == "mug"


def test_configured_shop_hosts_replace_the_catalog_link_hosts() -> None:
    catalog = Catalog([MUG], shop_hosts=["store.example"])
    assert catalog.resolve("https://store.example/products/blue-mug") == "mug"
    assert catalog.resolve("https://shop.example/collections/a/products/blue-mug") is None


def test_exact_catalog_link_resolves_even_off_the_configured_hosts() -> None:
    catalog = Catalog([MUG], shop_hosts=["store.example"])
    assert catalog.resolve("https://shop.example/products/blue-mug") == "mug"


def test_catalog_item_whose_link_is_no_url_is_kept_as_rejected() -> None:
    broken = CatalogItem("broken", "shop.example/products/x")
    catalog = Catalog([MUG, broken])
    assert catalog.rejected == (broken,)
    assert catalog.resolve("https://shop.example/products/x") is None


def test_first_item_wins_a_link_two_items_share() -> None:
    twin = CatalogItem("twin", MUG.link + "/")
    assert Catalog([MUG, twin]).resolve(MUG.link) == "mug"


# --- Catalog.resolve_all ----------------------------------------------------------------


def test_several_products_come_in_link_order() -> None:
    catalog = Catalog([MUG, CAP, BOOK])
    urls = ["https://amazon.com/dp/0316769487", "https://shop.example/products/red-cap"]
    assert catalog.resolve_all(urls) == ["book", "cap"]


def test_same_product_linked_twice_counts_once() -> None:
    catalog = Catalog([MUG, CAP])
    urls = [
        "https://shop.example/products/blue-mug",
        "https://shop.example/products/red-cap",
        "https://www.shop.example/products/blue-mug?utm_source=x",
    ]
    assert catalog.resolve_all(urls) == ["mug", "cap"]


def test_links_that_name_no_product_are_left_out() -> None:
    catalog = Catalog([MUG])
    urls = ["https://news.example/a", "https://shop.example/products/blue-mug", "junk"]
    assert catalog.resolve_all(urls) == ["mug"]


# --- shop_host_pattern ------------------------------------------------------------------

NEEDLE_HOSTS = ShopHosts(["shop.example", "bücher.example", "amazon.co.uk"])
NEEDLE = shop_host_pattern(NEEDLE_HOSTS)


def test_needle_starts_with_a_literal_byte() -> None:
    # `re` then scans for that byte (its literal-prefix search); a leading class or
    # `(?i)` would make it try the whole pattern at every offset, about ten times slower.
    assert NEEDLE.pattern.startswith(rb"\.")


def test_needle_finds_the_shop_host_in_any_letter_case() -> None:
    assert NEEDLE.search(b'{"url":"https:\\/\\/WWW.SHOP.Example\\/products\\/mug"}')


@pytest.mark.parametrize(
    "payload",
    ['{"u":"https://bücher.example/x"}', '{"u":"https://b\\u00fccher.example/x"}',
     '{"u":"https://B\\u00DCCHER.EXAMPLE/x"}', '{"u":"https://xn--bcher-kva.example/x"}',
     '{"u":"https://bu\\u0308cher.example/x"}'],
)  # fmt: skip
def test_needle_finds_an_idn_shop_host_in_any_spelling(payload: str) -> None:
    assert NEEDLE.search(payload.encode())


@pytest.mark.parametrize(
    "payload",
    [b'{"text":"nothing to buy here","urls":["https://news.test/a"]}',
     b'{"u":"https://shop-example.com/products/mug"}', b'{"u":"https://amazon.com/dp/X"}'],
)  # fmt: skip
def test_needle_skips_a_payload_without_a_shop_host(payload: bytes) -> None:
    assert not NEEDLE.search(payload)


def test_needle_of_no_shop_host_finds_nothing() -> None:
    assert not shop_host_pattern(ShopHosts([])).search(b"https://shop.example/")


def test_needle_of_a_host_with_only_idn_labels_finds_every_payload() -> None:
    assert shop_host_pattern(ShopHosts(["店.中国"])).search(b"{}")


_SHOP_HOST_SPELLINGS = st.sampled_from(
    ["shop.example", "bücher.example", "xn--bcher-kva.example", "amazon.co.uk",
     unicodedata.normalize("NFD", "bücher.example")]
)  # fmt: skip
_PATHS = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S"], exclude_characters="\\"),
    max_size=30,
)


@given(
    spelling=_SHOP_HOST_SPELLINGS,
    upper=st.lists(st.booleans(), min_size=30, max_size=30),
    prefix=st.sampled_from(["", "www.", "m.", "WWW."]),
    trailing_dot=st.booleans(),
    path=_PATHS,
    text=st.text(max_size=50),
    ensure_ascii=st.booleans(),
    escape_slashes=st.booleans(),
)
def test_needle_finds_every_json_post_linking_a_shop_host(
    spelling: str,
    upper: list[bool],
    prefix: str,
    trailing_dot: bool,
    path: str,
    text: str,
    ensure_ascii: bool,
    escape_slashes: bool,
) -> None:
    host = "".join(c.upper() if up else c for c, up in zip(spelling, upper, strict=False))
    host += spelling[len(upper) :]
    url = f"https://{prefix}{host}{'.' if trailing_dot else ''}/{path}"
    canonical = canonicalize(url)
    assert canonical is not None
    assert NEEDLE_HOSTS.matches(canonical.host)
    post = {"text": f"{text} {url}", "entities": {"urls": [{"expanded_url": url}]}}
    payload = json.dumps(post, ensure_ascii=ensure_ascii).encode()
    if escape_slashes:
        payload = payload.replace(b"/", b"\\/")
    assert NEEDLE.search(payload)
