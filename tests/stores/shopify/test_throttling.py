"""A throttled shop is asked again after the time it names, a bounded number of times: the
cost extension's missing points over its restore rate
(https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits), or a 429's
`Retry-After`. The waits move the test's clock; nothing sleeps."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashcart.ports import StoreRefused, StoreUnreachable
from hashcart.stores.shopify import ShopifyStore, throttle
from tests.peers.shopify.standin import StandIn, throttled
from tests.stores.shopify.conftest import Served, Sleeper, make_store


def test_a_throttled_answer_is_retried_after_the_wait_the_cost_extension_names(
    store: ShopifyStore, shop: StandIn, sleeper: Sleeper
) -> None:
    shop.add_variant(1, 10, "Mug")
    shop.throttle_next(1, requested=752, available=666, restore_rate=50.0)
    before = sleeper.clock.now()

    page = store.list_variants(None, None)

    assert [v.title for v in page.variants] == ["Mug"]
    assert sleeper.waits == [pytest.approx((752 - 666) / 50.0)]
    assert sleeper.clock.now() - before == timedelta(seconds=1.72)
    assert len(shop.seen) == 2


def test_a_shop_that_keeps_throttling_is_given_up_after_the_bound(
    shopify_served: Served, shop: StandIn, http: httpx.Client, sleeper: Sleeper
) -> None:
    shop.throttle_next(10, requested=100, available=0, restore_rate=100.0)
    store = make_store(shopify_served, http, sleeper, attempts=3)

    with pytest.raises(StoreUnreachable, match="gave up after 3 attempts"):
        store.list_variants(None, None)

    assert len(shop.seen) == 3
    assert sleeper.waits == [1.0, 1.0], "no wait after the last attempt"


def test_a_429_is_retried_after_its_retry_after_seconds(
    store: ShopifyStore, shop: StandIn, sleeper: Sleeper
) -> None:
    shop.add_variant(1, 10, "Mug")
    shop.too_many_next(2, retry_after="2.0")

    assert store.read_variant("gid://shopify/ProductVariant/1") is not None
    assert sleeper.waits == [2.0, 2.0]


def test_a_wrong_admin_token_is_refused_in_shopify_s_words_and_not_retried(
    shopify_served: Served, http: httpx.Client, sleeper: Sleeper
) -> None:
    store = ShopifyStore(
        "hashcart-test.myshopify.com",
        "shpat_wrong",
        None,
        "2025-10",
        api_base=shopify_served.url,
        http=http,
        sleep=sleeper,
    )

    with pytest.raises(StoreRefused, match="401: \\[API\\] Invalid API key"):
        store.list_variants(None, None)
    assert sleeper.waits == []


def test_a_shop_that_does_not_answer_is_unreachable(http: httpx.Client, sleeper: Sleeper) -> None:
    store = ShopifyStore(
        "hashcart-test.myshopify.com",
        "t",
        None,
        "2025-10",
        api_base="http://127.0.0.1:9",
        http=http,
        sleep=sleeper,
    )
    with pytest.raises(StoreUnreachable, match="did not answer"):
        store.list_variants(None, None)


@given(
    requested=st.integers(0, 5000),
    available=st.floats(-1e6, 1e6, allow_nan=False),
    rate=st.floats(-10, 1e4, allow_nan=False),
)
def test_the_wait_is_never_negative_nor_longer_than_the_cap(
    requested: int, available: float, rate: float
) -> None:
    wait = throttle.wait_for_cost(throttled(requested, available, rate)["extensions"])
    assert 0.0 <= wait <= throttle.MAX_WAIT_SECONDS


@pytest.mark.parametrize(
    ("extensions", "header", "expected"),
    [
        ({}, None, 1.0),
        ({"cost": {"requestedQueryCost": 50, "throttleStatus": {}}}, None, 1.0),
        (None, "abc", 1.0),
        (None, " 3 ", 3.0),
        (None, "86400", 60.0),
    ],
)
def test_answers_that_name_no_usable_wait_get_the_default_or_the_cap(
    extensions: object, header: str | None, expected: float
) -> None:
    wait = (
        throttle.wait_for_retry_after(header)
        if extensions is None
        else throttle.wait_for_cost(extensions)
    )
    assert wait == expected
