"""A shopper's own account at the merchant's Vendure, linked from their account page (issue
16), against the real Vendure: they sign in there once through hashcart (the Shop API's
`login`; hashcart keeps the session token sealed with the token key, never the password),
and the cart handed over then lands in their own active order, beside what they had put in
it at the store themselves, instead of a new guest order. A wrong password is refused in
the store's words, beside the form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.services.store_sync import sync_catalog
from hashcart.store import schema as t
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.peers.vendure.fixture import VendurePeer, VendureSession, unique
from tests.stores.test_vendure_store import EMAIL, store_settings
from tests.stores.vendure_catalog import make_product
from tests.web.cart_support import SHOPPER_DID, signed_in, text_of
from tests.web.conftest import WebShop

PASSWORD_AT_STORE = "trail-mix-42"
_ACTIVE_ORDER = "{ activeOrder { code lines { quantity productVariant { id } } } }"


@pytest.fixture
def shop(vendure: VendurePeer, tmp_path: Path) -> Iterator[WebShop]:
    web_shop = WebShop(
        f"sqlite:///{tmp_path / 'hashcart.db'}",
        token_key=Fernet.generate_key().decode(),  # `hashcart serve` keeps one in a file
        **store_settings(vendure),
    )
    yield web_shop
    web_shop.close()


def _customer_at_store(vendure: VendurePeer, email: str) -> VendureSession:
    """A customer of the store, registered and signed in there (the peer needs no
    verification), as they are on the storefront."""
    own = vendure.shopper()
    own.call(
        "mutation($i: RegisterCustomerInput!) { registerCustomerAccount(input: $i) "
        "{ __typename } }",
        i={
            "emailAddress": email,
            "password": PASSWORD_AT_STORE,
            "firstName": "Sam",
            "lastName": "Shopper",
        },
    )
    own.call(
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { __typename } }",
        u=email,
        p=PASSWORD_AT_STORE,
    )
    return own


def test_a_linked_store_account_gets_the_handoff_in_its_own_active_order(
    vendure: VendurePeer, shop: WebShop
) -> None:
    made = make_product(vendure, "Ridge Gloves", {"s": 5, "m": 5})
    sync_catalog(shop.app.unit_of_work, shop.app.commerce_store(), shop.clock)
    store_email = f"{unique('sam')}@example.com"
    own = _customer_at_store(vendure, store_email)
    # At the store, they had put one small pair in their cart themselves.
    own.call(
        "mutation($id: ID!) { addItemToOrder(productVariantId: $id, quantity: 1) { __typename } }",
        id=made.variant_ids["s"],
    )
    browser = signed_in(shop, EMAIL)
    shop.link(EMAIL, Network.BLUESKY, SHOPPER_DID, "sam.bsky.social")
    link = made.url("m")
    brand = unique("3brand")
    shop.ingest(
        [
            jetstream_post(SHOP_DID, brand, f"Gloves: {link}", links=(link,)),
            jetstream_post(
                SHOPPER_DID, unique("3reply"), "#cart x2 M", reply_to=post_uri(SHOP_DID, brand)
            ),
        ]
    )

    page = browser.get("/account")
    assert "Your Vendure account" in text_of(page)
    linked = browser.submit(
        "/account/store-account", {"email": store_email, "password": PASSWORD_AT_STORE}
    )
    assert linked.status_code == 303
    assert f"Linked as {store_email}" in text_of(browser.get("/account"))
    with shop.app.engine.connect() as connection:
        kept = connection.execute(select(t.store_customer_sessions)).one()
    assert PASSWORD_AT_STORE not in kept.secret_data  # sealed, and no password kept

    answer = browser.submit("/cart/handoff")

    assert answer.status_code == 303
    assert "token=&" in answer.headers["location"]  # their own session stays with hashcart
    order = own.call(_ACTIVE_ORDER)["activeOrder"]
    assert answer.headers["location"].endswith(f"order={order['code']}")
    assert sorted(
        (line["productVariant"]["id"], line["quantity"]) for line in order["lines"]
    ) == sorted([(made.variant_ids["s"], 1), (made.variant_ids["m"], 2)])
    # Handed over again (the lines stay in the cart until the order comes back): the same
    # order, not twice the gloves.
    again = browser.submit("/cart/handoff")
    assert again.status_code == 303
    assert again.headers["location"] == answer.headers["location"]
    lines = own.call(_ACTIVE_ORDER)["activeOrder"]["lines"]
    assert sorted((line["productVariant"]["id"], line["quantity"]) for line in lines) == sorted(
        [(made.variant_ids["s"], 1), (made.variant_ids["m"], 2)]
    )


def test_a_wrong_store_password_is_refused_beside_the_form(
    vendure: VendurePeer, shop: WebShop
) -> None:
    store_email = f"{unique('pat')}@example.com"
    _customer_at_store(vendure, store_email)
    browser = signed_in(shop, EMAIL)

    answer = browser.submit(
        "/account/store-account", {"email": store_email, "password": "not-the-password"}
    )

    assert answer.status_code == 400
    assert "Vendure did not sign you in: InvalidCredentialsError" in text_of(answer)
    with shop.app.engine.connect() as connection:
        assert connection.execute(select(t.store_customer_sessions)).first() is None
