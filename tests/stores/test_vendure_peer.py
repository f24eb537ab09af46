"""The Vendure test store itself: both of its APIs answer on loopback, seeded as
initial-data.json says (what the own-store tests rely on)."""

from __future__ import annotations

from tests.peers.vendure.fixture import VendurePeer


def test_the_vendure_peer_serves_its_admin_and_shop_apis_on_loopback(
    vendure: VendurePeer,
) -> None:
    assert vendure.url.startswith("http://127.0.0.1:")
    admin = vendure.admin()
    seeded = admin.call("{ activeChannel { currencyCode } paymentMethods { items { code } } }")
    assert seeded["activeChannel"]["currencyCode"] == "USD"
    assert [m["code"] for m in seeded["paymentMethods"]["items"]] == ["standard-payment"]
    shop = vendure.shopper()
    assert shop.call("{ activeOrder { id } }") == {"activeOrder": None}
