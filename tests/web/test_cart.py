"""The cart and the wish list: lines at today's prices with where they came from, changes a
shopper makes, adds from the shop front, and that nobody else's hands reach them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from hashcart.store import schema as t
from tests.harness import HOST
from tests.payloads import SHOP_DID, jetstream_post, post_uri, x_tweet
from tests.web.cart_support import (
    BRAND_POST,
    KETTLE,
    MUG,
    SHOPPER_DID,
    SHOPPER_X_ID,
    bluesky_reply_cart,
    line_ids,
    link_everywhere,
    mastodon_reply_cart,
    set_product,
    signed_in,
    text_of,
    x_reply_cart,
)
from tests.web.conftest import WebShop

SAM = "sam@example.com"


def _cart_rows(shop: WebShop, email: str = SAM) -> list[tuple[str, int, str, str]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(
                t.cart_lines.c.product_id,
                t.cart_lines.c.quantity,
                t.cart_lines.c.network,
                t.cart_lines.c.post_id,
            )
            .join(t.customers, t.customers.c.id == t.cart_lines.c.customer_id)
            .where(t.customers.c.email == email)
            .order_by(t.cart_lines.c.id)
        ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


# signed out -----------------------------------------------------------------------------


def test_signed_out_the_cart_and_wish_list_send_you_to_sign_in(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    for page in ("/cart", "/wishlist"):
        response = browser.get(page, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/sign-in?next=%2F{page[1:]}"


def test_signed_out_changes_send_you_to_sign_in_and_back_to_the_list(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    for path, back in (
        ("/cart/lines/1/quantity", "%2Fcart"),
        ("/cart/lines/1/remove", "%2Fcart"),
        ("/cart/lines/1/move", "%2Fcart"),
        ("/wishlist/lines/1/remove", "%2Fwishlist"),
        ("/wishlist/lines/1/move", "%2Fwishlist"),
    ):
        response = browser.submit(path, {"quantity": "2"})
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/sign-in?next={back}"


def test_signed_out_add_to_cart_sends_you_to_sign_in_and_back_where_you_were(
    web_shop: WebShop,
) -> None:
    browser = web_shop.browser()
    response = browser.submit("/cart/add", {"product_id": "mug", "next": "/s/demo?page=2"})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fs%2Fdemo%3Fpage%3D2"
    assert web_shop.carts() == []


# what a line shows ------------------------------------------------------------------------


def test_a_bluesky_reply_line_shows_price_availability_and_links_the_post(
    web_shop: WebShop,
) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    bluesky_reply_cart(web_shop)

    page = browser.get("/cart")

    assert page.status_code == 200
    words = text_of(page)
    assert "Trailhead Enamel Mug" in words
    assert "In stock" in words
    assert "$18.00" in words
    assert "from your reply to a post on Bluesky" in words
    rkey = BRAND_POST.rsplit("/", 1)[1]
    assert f'href="https://bsky.app/profile/{SHOP_DID}/post/{rkey}"' in page.text
    assert f'href="{MUG}"' in page.text
    assert "Total: $18.00" in words


def test_an_x_reply_line_names_the_brand_and_links_the_tweet(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    x_reply_cart(web_shop, handle="trailhead", post_id="1001")

    page = browser.get("/cart")

    assert "from your reply to @trailhead on X" in text_of(page)
    assert 'href="https://x.com/trailhead/status/1001"' in page.text


def test_a_mastodon_reply_line_names_the_brand_and_links_the_status(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    mastodon_reply_cart(web_shop, post_id="111")

    page = browser.get("/cart")

    assert "from your reply to @trailhead on Mastodon" in text_of(page)
    assert 'href="https://social.example/@trailhead/111"' in page.text


def test_prices_and_availability_are_read_when_the_page_is_shown(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    bluesky_reply_cart(web_shop)
    x_reply_cart(web_shop)
    assert "Total: $42.50" in text_of(browser.get("/cart"))

    set_product(web_shop, "mug", price_amount=Decimal("21.00"))
    set_product(web_shop, "beans", availability="out_of_stock")
    words = text_of(browser.get("/cart"))

    assert "$21.00" in words and "$18.00" not in words
    assert "Out of stock" in words
    # The stock-out line stays, but is not counted.
    assert "Total: $21.00" in words
    assert "not counted" in words


def test_totals_are_per_currency(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    bluesky_reply_cart(web_shop)
    x_reply_cart(web_shop)
    set_product(web_shop, "beans", currency="EUR")

    words = text_of(browser.get("/cart"))

    assert "Total in USD: $18.00" in words
    assert "Total in EUR: €24.50" in words


def test_an_empty_cart_says_how_it_fills(web_shop: WebShop) -> None:
    words = text_of(signed_in(web_shop).get("/cart"))
    assert "Your cart is empty" in words
    assert "Reply #cart" in words


# adding from the shop -------------------------------------------------------------------


def test_add_from_a_shoppable_post_credits_that_post_and_returns_to_next(
    web_shop: WebShop,
) -> None:
    browser = signed_in(web_shop)
    web_shop.ingest([jetstream_post(SHOP_DID, "3mmbrand00001", f"New: {MUG}", links=(MUG,))])

    response = browser.submit(
        "/cart/add",
        {
            "product_id": "mug",
            "source_network": "bluesky",
            "source_post_id": BRAND_POST,
            "next": "/s/demo",
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/s/demo"
    assert _cart_rows(web_shop) == [("mug", 1, "web", f"bluesky/{BRAND_POST}")]
    page = browser.get("/cart")
    assert "added on the shop, from a post on Bluesky" in text_of(page)
    assert "bsky.app/profile/" in page.text


def test_adding_again_adds_one_more_up_to_the_most_allowed(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    for _ in range(2):
        response = browser.submit("/cart/add", {"product_id": "mug"})
        assert response.status_code == 303
    assert response.headers["location"] == "/cart?done=one_more"
    assert web_shop.cart(SAM) == [("mug", 2)]

    for _ in range(web_shop.app.settings.max_quantity):
        last = browser.submit("/cart/add", {"product_id": "mug"})
    assert web_shop.cart(SAM) == [("mug", web_shop.app.settings.max_quantity)]
    assert last.status_code == 409
    assert "the most of Trailhead Enamel Mug one order can take (10)" in text_of(last)


def test_a_source_that_is_not_a_shoppable_post_of_the_product_is_not_credited(
    web_shop: WebShop,
) -> None:
    browser = signed_in(web_shop)
    web_shop.ingest([jetstream_post(SHOP_DID, "3mmbrand00001", f"New: {MUG}", links=(MUG,))])

    # The post exists but carries the mug, not the beans; the other post does not exist.
    browser.submit(
        "/cart/add",
        {"product_id": "beans", "source_network": "bluesky", "source_post_id": BRAND_POST},
    )
    browser.submit(
        "/cart/add", {"product_id": "mug", "source_network": "x", "source_post_id": "999"}
    )

    assert _cart_rows(web_shop) == [("beans", 1, "web", ""), ("mug", 1, "web", "")]
    assert "added on the shop" in text_of(browser.get("/cart"))


def test_an_unavailable_or_unknown_product_is_not_added_and_the_page_says_why(
    web_shop: WebShop,
) -> None:
    browser = signed_in(web_shop)

    kettle = browser.submit("/cart/add", {"product_id": "kettle", "next": "/s/demo"})
    grinder = browser.submit("/cart/add", {"product_id": "grinder"})
    unknown = browser.submit("/cart/add", {"product_id": "no-such-thing"})

    assert kettle.status_code == 409
    assert "Gooseneck Kettle is out of stock, so it was not added" in text_of(kettle)
    assert "Hand Grinder is no longer sold" in text_of(grinder)
    assert "not in the shop's catalog" in text_of(unknown)
    assert web_shop.cart(SAM) == []


def test_next_must_be_a_local_path(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    for evil in ("https://evil.test/", "//evil.test", "javascript:alert(1)"):
        response = browser.submit("/cart/add", {"product_id": "mug", "next": evil})
        assert response.headers["location"] == "/cart", evil


# changing lines -------------------------------------------------------------------------


def test_quantity_changes_within_one_and_the_most(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    browser.submit("/cart/add", {"product_id": "mug"})
    line = line_ids(web_shop, SAM)["mug"]

    ok = browser.submit(f"/cart/lines/{line}/quantity", {"quantity": "10"})

    assert ok.status_code == 303
    assert ok.headers["location"] == "/cart?done=quantity"
    assert web_shop.cart(SAM) == [("mug", 10)]
    assert "Quantity updated." in text_of(browser.get(ok.headers["location"]))
    assert "Total: $180.00" in text_of(browser.get("/cart"))


def test_a_bad_quantity_re_renders_the_cart_with_a_message_and_changes_nothing(
    web_shop: WebShop,
) -> None:
    browser = signed_in(web_shop)
    browser.submit("/cart/add", {"product_id": "mug"})
    line = line_ids(web_shop, SAM)["mug"]

    for typed in ("0", "11", "-1", "2.5", "abc", "", "99999999999"):
        response = browser.submit(f"/cart/lines/{line}/quantity", {"quantity": typed})
        assert response.status_code == 400, typed
        assert "Enter a quantity from 1 to 10" in text_of(response)
        assert f'value="{typed}"' in response.text
    assert web_shop.cart(SAM) == [("mug", 1)]


def test_remove_takes_the_line_out(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    browser.submit("/cart/add", {"product_id": "mug"})
    browser.submit("/cart/add", {"product_id": "beans"})

    response = browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['mug']}/remove")

    assert response.headers["location"] == "/cart?done=removed"
    assert web_shop.cart(SAM) == [("beans", 1)]


def test_move_to_the_wish_list_and_back_keeps_quantity_and_origin(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    x_reply_cart(web_shop)  # beans, from a reply on X
    browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['beans']}/quantity", {"quantity": "3"})

    moved = browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['beans']}/move")

    assert moved.headers["location"] == "/cart?done=to_wishlist"
    assert web_shop.cart(SAM) == []
    assert web_shop.wishlist(SAM) == ["beans"]
    wishlist = browser.get("/wishlist")
    assert "from your reply to @trailhead on X" in text_of(wishlist)
    assert 'value="3"' in wishlist.text

    entry = line_ids(web_shop, SAM, "wishlist_entries")["beans"]
    back = browser.submit(f"/wishlist/lines/{entry}/move")

    assert back.headers["location"] == "/wishlist?done=to_cart"
    assert web_shop.cart(SAM) == [("beans", 3)]
    assert web_shop.wishlist(SAM) == []
    assert _cart_rows(web_shop)[0][2:] == ("x", "1002")


def test_moving_onto_a_list_that_has_the_product_adds_the_quantities_up_to_the_most(
    web_shop: WebShop,
) -> None:
    browser = signed_in(web_shop)
    browser.submit("/cart/add", {"product_id": "mug"})
    browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['mug']}/quantity", {"quantity": "7"})
    browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['mug']}/move")
    browser.submit("/cart/add", {"product_id": "mug"})
    browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['mug']}/quantity", {"quantity": "6"})

    entry = line_ids(web_shop, SAM, "wishlist_entries")["mug"]
    response = browser.submit(f"/wishlist/lines/{entry}/move")

    assert response.headers["location"] == "/wishlist?done=merged"
    assert web_shop.cart(SAM) == [("mug", 10)]
    assert web_shop.wishlist(SAM) == []


def test_a_product_that_cannot_be_bought_stays_on_the_wish_list(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    kettle_post = post_uri(SHOP_DID, "3mmbrand00003")
    web_shop.ingest(
        [
            jetstream_post(SHOP_DID, "3mmbrand00003", f"Kettle {KETTLE}", links=(KETTLE,)),
            jetstream_post(SHOPPER_DID, "3mmreply00009", "#wishlist", reply_to=kettle_post),
        ]
    )
    assert web_shop.wishlist(SAM) == ["kettle"]
    page = browser.get("/wishlist")
    assert "Out of stock" in text_of(page)
    assert "Move to cart" not in text_of(page)

    entry = line_ids(web_shop, SAM, "wishlist_entries")["kettle"]
    response = browser.submit(f"/wishlist/lines/{entry}/move")

    assert response.status_code == 409
    assert "Gooseneck Kettle cannot be bought right now" in text_of(response)
    assert web_shop.wishlist(SAM) == ["kettle"]
    assert web_shop.cart(SAM) == []


def test_wish_list_quantity_and_remove(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    browser.submit("/cart/add", {"product_id": "mug"})
    browser.submit(f"/cart/lines/{line_ids(web_shop, SAM)['mug']}/move")
    entry = line_ids(web_shop, SAM, "wishlist_entries")["mug"]

    assert browser.submit(f"/wishlist/lines/{entry}/quantity", {"quantity": "0"}).status_code == 400
    assert browser.submit(f"/wishlist/lines/{entry}/quantity", {"quantity": "4"}).status_code == 303
    assert 'value="4"' in browser.get("/wishlist").text
    assert browser.submit(f"/wishlist/lines/{entry}/remove").status_code == 303
    assert web_shop.wishlist(SAM) == []


# nobody else's hands --------------------------------------------------------------------


def test_another_shoppers_line_ids_change_nothing(web_shop: WebShop) -> None:
    alice = signed_in(web_shop, "alice@example.com")
    alice.submit("/cart/add", {"product_id": "mug"})
    alice.submit("/cart/add", {"product_id": "beans"})
    alice.submit(f"/cart/lines/{line_ids(web_shop, 'alice@example.com')['beans']}/move")
    cart_line = line_ids(web_shop, "alice@example.com")["mug"]
    wish_line = line_ids(web_shop, "alice@example.com", "wishlist_entries")["beans"]
    bob = signed_in(web_shop, "bob@example.com")

    attempts = [
        (f"/cart/lines/{cart_line}/quantity", {"quantity": "5"}),
        (f"/cart/lines/{cart_line}/move", {}),
        (f"/cart/lines/{cart_line}/remove", {}),
        (f"/wishlist/lines/{wish_line}/quantity", {"quantity": "5"}),
        (f"/wishlist/lines/{wish_line}/move", {}),
        (f"/wishlist/lines/{wish_line}/remove", {}),
        ("/cart/lines/not-a-number/remove", {}),
    ]
    for path, data in attempts:
        response = bob.submit(path, data)
        assert response.status_code == 404, path
        assert "Nothing was changed" in text_of(response)

    assert web_shop.cart("alice@example.com") == [("mug", 1)]
    assert web_shop.wishlist("alice@example.com") == ["beans"]
    assert "Enamel Mug" not in text_of(bob.get("/cart"))
    assert "Summit Roast" not in text_of(bob.get("/wishlist"))


def test_changes_without_the_csrf_token_are_refused(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    browser.submit("/cart/add", {"product_id": "mug"})
    line = line_ids(web_shop, SAM)["mug"]
    other = signed_in(web_shop, "eve@example.com")

    for path, data in (
        ("/cart/add", {"product_id": "beans"}),
        (f"/cart/lines/{line}/quantity", {"quantity": "5"}),
        (f"/cart/lines/{line}/remove", {}),
        (f"/cart/lines/{line}/move", {}),
    ):
        missing = browser.client.post(path, data=data, follow_redirects=False)
        foreign = browser.client.post(
            path, data={**data, "csrf_token": other.csrf()}, follow_redirects=False
        )
        assert missing.status_code == 403, path
        assert foreign.status_code == 403, path

    assert web_shop.cart(SAM) == [("mug", 1)]


# strangers' words -----------------------------------------------------------------------

HOSTILE_TITLE = '<script>alert("title")</script>"><img src=x onerror=alert(1)>'
HOSTILE_HANDLE = '"><img src=x onerror=alert(2)>'


def test_hostile_titles_handles_and_links_come_out_inert(web_shop: WebShop) -> None:
    browser = signed_in(web_shop)
    link_everywhere(web_shop)
    web_shop.ingest(
        [
            x_tweet("2001", "900", HOSTILE_HANDLE, f"<script>x</script> {HOST}", links=(MUG,)),
            x_tweet("2002", SHOPPER_X_ID, "sam_x", "#cart", reply_to="2001", hashtags=("cart",)),
        ]
    )
    x_reply_cart(web_shop, post_id="3001")  # beans, with the hostile title
    assert {product for product, _ in web_shop.cart(SAM)} == {"mug", "beans"}
    # The catalog is changed after the replies matched it (feeds and the console may).
    set_product(web_shop, "beans", title=HOSTILE_TITLE, link="javascript:alert(3)")
    set_product(web_shop, "mug", link="JavaScript:alert(4)//https://shop.example/")

    for page in (browser.get("/cart"), browser.get("/checkout")):
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in page.text
        assert "javascript:" not in page.text.lower()
    cart = browser.get("/cart")
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in cart.text
    # A handle that is no X screen name does not go into the tweet's URL.
    assert 'href="https://x.com/i/web/status/2001"' in cart.text or (
        'href="https://x.com/i/status/2001"' in cart.text
    )
