"""The console's customers (issue 14): the list paged by key with a search by email or
handle, and a customer's page with their linked accounts, cart, wish list, orders (linking to
the order page) and the messages sent to them, stranger text escaped. On SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hashcart.domain.posts import Network
from hashcart.views import console_customers
from tests.orders_support import place
from tests.payloads import SHOP_DID, jetstream_post, post_uri
from tests.web.conftest import Browser, WebShop
from tests.web.console_support import HOSTILE_IMG, assert_inert, parse

ANN = "ann@example.com"
ANN_DID = "did:plc:ann00000000000000000000"
MUG_LINK = "https://shop.example/products/enamel-mug"
BEANS_LINK = "https://shop.example/products/summit-roast"


@pytest.fixture
def shop(web_shop: WebShop) -> Iterator[WebShop]:
    web_shop.customer(ANN)
    web_shop.link(ANN, Network.BLUESKY, ANN_DID, "ann.bsky.social")
    web_shop.link(ANN, Network.X, "2002", HOSTILE_IMG)
    web_shop.customer("bob@example.com")
    brand = post_uri(SHOP_DID, "3mmbrand00001")
    beans = post_uri(SHOP_DID, "3mmbrand00002")
    web_shop.ingest(
        [
            jetstream_post(SHOP_DID, "3mmbrand00001", f"New: {MUG_LINK}", links=(MUG_LINK,)),
            jetstream_post(SHOP_DID, "3mmbrand00002", f"New: {BEANS_LINK}", links=(BEANS_LINK,)),
            jetstream_post(ANN_DID, "3mmreply00001", "#cart", reply_to=brand, minutes=5),
            jetstream_post(ANN_DID, "3mmreply00002", "#wishlist", reply_to=beans, minutes=6),
        ]
    )
    yield web_shop


def merchant(shop: WebShop) -> Browser:
    browser = shop.browser()
    assert browser.merchant_sign_in().status_code == 303
    return browser


def customer_id(shop: WebShop, email: str) -> int:
    with shop.app.unit_of_work() as uow:
        found = uow.repository.customer_id(email)
    assert found is not None
    return found


def test_the_customer_page_shows_accounts_cart_wish_list_orders_and_messages(
    shop: WebShop,
) -> None:
    number = place(shop, "a", ANN)
    browser = merchant(shop)
    listing = browser.get("/merchant/customers").text
    ann = customer_id(shop, ANN)
    assert f'href="/merchant/customers/{ann}"' in listing
    page = browser.get(f"/merchant/customers/{ann}")
    assert page.status_code == 200
    text = parse(page.text).text
    assert "ann.bsky.social" in text and ANN_DID in text and HOSTILE_IMG in text
    assert "Cart (1)" in text and "Trailhead Enamel Mug" in text
    assert "Wish list (1)" in text and "Summit Roast Beans 1kg" in text
    assert "Orders (1)" in text and f'href="/merchant/orders/{number}"' in page.text
    # The replies' confirmations, on Bluesky, newest first.
    messages = text[text.index("Messages") :]
    assert messages.index("wishlisted") < messages.index("added")
    assert_inert(page.text)


def test_the_order_page_links_back_to_its_customer(shop: WebShop) -> None:
    number = place(shop, "a", ANN)
    page = merchant(shop).get(f"/merchant/orders/{number}").text
    assert f'href="/merchant/customers/{customer_id(shop, ANN)}"' in page


def test_an_unknown_customer_is_a_404_page(shop: WebShop) -> None:
    browser = merchant(shop)
    for path in ("/merchant/customers/999999", "/merchant/customers/abc"):
        page = browser.get(path)
        assert page.status_code == 404 and "no such customer" in page.text


def test_the_search_finds_a_handle_as_well_as_an_email(shop: WebShop) -> None:
    browser = merchant(shop)
    for said in ("@ann.bsky", "ANN.BSKY", "ann@"):
        html = browser.get("/merchant/customers", params={"email": said}).text
        assert [row[0].split()[0] for row in parse(html).rows[1:]] == [ANN], said


def test_the_list_is_paged_by_email_with_a_next_key(shop: WebShop) -> None:
    for i in range(5):
        shop.customer(f"c{i}@example.com")
    seen: list[str] = []
    after = ""
    with shop.app.engine.connect() as connection:
        while True:
            page = console_customers.customer_page(connection, "example.com", after, per_page=2)
            seen += [customer.email for customer in page.items]
            if page.next_after is None:
                break
            after = page.next_after
    assert seen == sorted([ANN, "bob@example.com", *(f"c{i}@example.com" for i in range(5))])


def test_previous_walks_back_to_the_first_page(shop: WebShop) -> None:
    for i in range(5):
        shop.customer(f"c{i}@example.com")
    with shop.app.engine.connect() as connection:
        pages = [console_customers.customer_page(connection, "example.com", "", per_page=2)]
        while pages[-1].next_after is not None:
            after = pages[-1].next_after
            pages.append(console_customers.customer_page(connection, "example.com", after, 2))
        page = pages[-1]
        back = []
        while page.previous_before is not None:
            page = console_customers.customer_page(
                connection, "example.com", per_page=2, before=page.previous_before
            )
            back.append([customer.email for customer in page.items])
    assert back == [[c.email for c in p.items] for p in pages[-2::-1]]
    assert page.first and pages[0].previous_before is None


def test_the_next_link_is_shown_past_one_page(shop: WebShop) -> None:
    for i in range(50):
        shop.customer(f"c{i:02}@example.com")
    browser = merchant(shop)
    first = browser.get("/merchant/customers").text
    assert "52 customers" in first and 'rel="next"' in first
    second = browser.get("/merchant/customers", params={"after": "c47@example.com"}).text
    assert [row[0].split()[0] for row in parse(second).rows[1:]] == [
        "c48@example.com",
        "c49@example.com",
    ]
    assert 'rel="next"' not in second and "← First" in second
