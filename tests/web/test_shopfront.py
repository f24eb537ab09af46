"""The shop front /s/<shop>: the shop's shoppable posts, ingested through the real engine,
shown newest first at today's prices, with add-to-cart for signed-in shoppers only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from hashcart.store import shop_config
from tests.harness import HOST
from tests.payloads import (
    SHOP_DID,
    jetstream_delete,
    jetstream_post,
    mastodon_status,
    post_uri,
    x_tweet,
)
from tests.web.conftest import WebShop
from tests.web.shopfront_support import Card, read_page

MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"
KETTLE = f"https://{HOST}/products/gooseneck-kettle"
SHOP_X_ID = "1392207040934993921"
SHOP_MASTODON = "https://mastodon.example/users/trailhead_coffee"
ALICE_DID = "did:plc:alice0000000000000000000"


def bluesky_post(rkey: str, text: str, *links: str, minutes: float = 0) -> bytes:
    return jetstream_post(SHOP_DID, rkey, f"{text} {' '.join(links)}", links=links, minutes=minutes)


def x_post(tweet_id: str, text: str, *links: str, minutes: float = 0, **kw: Any) -> bytes:
    screen_name = kw.pop("screen_name", "trailhead_coffee")
    return x_tweet(tweet_id, SHOP_X_ID, screen_name, text, links=links, minutes=minutes, **kw)


def mastodon_post(status_id: str, text: str, link: str, minutes: float = 0) -> bytes:
    html = f'<p>{text} <a href="{link}">{link.split("//")[1]}</a></p>'
    return mastodon_status(status_id, SHOP_MASTODON, "trailhead_coffee", html, minutes=minutes)


def front(web_shop: WebShop, path: str = "/s/demo", browser: Any = None) -> list[Card]:
    response = (browser or web_shop.browser()).get(path)
    assert response.status_code == 200, response.text
    return read_page(response.text).cards


def set_product(web_shop: WebShop, product_id: str, **values: Any) -> None:
    with web_shop.app.engine.begin() as connection:
        connection.execute(
            update(t.products).where(t.products.c.product_id == product_id).values(**values)
        )


def test_shop_front_shows_the_shoppable_posts_newest_first(web_shop_any_db: WebShop) -> None:
    web_shop = web_shop_any_db
    web_shop.ingest(
        [
            x_post("1000000000000000001", "Our enamel mug", MUG, minutes=0),
            mastodon_post("110000000000000002", "Summit roast is back", BEANS, minutes=10),
            bluesky_post("3mmbrand00003", "Camp kit", MUG, BEANS, minutes=20),
            # Not shoppable: no shop link, a link to no known product, a #cart reply.
            bluesky_post("3mmbrand00004", "Farmers market on Saturday!", minutes=30),
            bluesky_post("3mmbrand00005", "Gift cards", f"https://{HOST}/pages/gift", minutes=31),
            jetstream_post(
                ALICE_DID,
                "3mmreply00001",
                f"#cart {MUG}",
                links=(MUG,),
                tags=("cart",),
                reply_to=post_uri(SHOP_DID, "3mmbrand00003"),
                minutes=32,
            ),
        ]
    )

    cards = front(web_shop)

    assert [card.text.split(" ")[0] for card in cards] == ["Bluesky", "Mastodon", "X"]
    assert "Camp kit" in cards[0].text
    assert "Summit roast is back" in cards[1].text
    assert "@trailhead_coffee" in cards[2].text and "Our enamel mug" in cards[2].text
    assert "Trailhead Enamel Mug" in cards[0].text and "Summit Roast Beans 1kg" in cards[0].text
    assert "20 Nov 2026, 12:20 UTC" in cards[0].text
    assert len(cards) == 3


def test_prices_are_todays_prices_not_the_prices_when_the_post_came_in(web_shop: WebShop) -> None:
    web_shop.ingest([bluesky_post("3mmbrand00001", "Our mug", MUG)])
    assert "$18.00" in front(web_shop)[0].text

    set_product(web_shop, "mug", price_amount=Decimal("21.50"))

    [card] = front(web_shop)
    assert "$21.50" in card.text and "$18.00" not in card.text


def test_each_post_links_to_itself_on_its_network(web_shop: WebShop) -> None:
    web_shop.ingest(
        [
            x_post("1000000000000000001", "Our mug", MUG, minutes=0),
            mastodon_post("110000000000000002", "Our beans", BEANS, minutes=1),
            bluesky_post("3mmbrand00003", "Our mug again", MUG, minutes=2),
        ]
    )

    bluesky, mastodon, x = front(web_shop)

    assert "https://x.com/trailhead_coffee/status/1000000000000000001" in x.links
    assert f"https://bsky.app/profile/{SHOP_DID}/post/3mmbrand00003" in bluesky.links
    # Mastodon ids are the receiving server's; a local author's post lives at /@user/<id>.
    assert "https://mastodon.example/@trailhead_coffee/110000000000000002" in mastodon.links
    assert "View the post on X" in x.text and "View the post on Mastodon" in mastodon.text


def test_the_card_says_which_tag_to_reply_with(web_shop: WebShop) -> None:
    web_shop.ingest(
        [
            bluesky_post("3mmbrand00001", "Camp kit", MUG, BEANS, minutes=0),
            bluesky_post("3mmbrand00002", "Our mug", MUG, minutes=1),
        ]
    )

    one, two = front(web_shop)

    assert "Reply #cart to the post to get it" in one.text
    assert "Reply #cart 1 to the post to get it" in two.text
    assert "Reply #cart 2 to the post to get it" in two.text


def test_the_reply_hint_uses_the_shops_own_cart_tag(tmp_path: Any) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'tag.db'}", cart_tags=("AmazonCart",))
    try:
        shop.ingest([bluesky_post("3mmbrand00001", "Our mug", MUG)])
        [card] = front(shop)
        assert "Reply #AmazonCart to the post to get it" in card.text
    finally:
        shop.close()


def test_the_reply_hint_follows_a_tag_the_merchant_changed_in_the_console(
    web_shop: WebShop,
) -> None:
    web_shop.ingest([bluesky_post("3mmbrand00001", "Our mug", MUG)])
    with web_shop.app.engine.begin() as connection:
        shop_config.save(connection, web_shop.app.settings, {"cart_tags": ("buyit", "cart")})

    [card] = front(web_shop)

    assert "Reply #buyit to the post to get it" in card.text


def test_signed_out_visitors_are_asked_to_sign_in_and_get_no_cart_button(
    web_shop: WebShop,
) -> None:
    web_shop.ingest([bluesky_post("3mmbrand00001", "Our mug", MUG)])

    [card] = front(web_shop)

    assert card.forms == []
    assert "Add to cart" not in card.text
    assert "Sign in to add it here" in card.text
    assert "/sign-in?next=%2Fs%2Fdemo" in card.links


def test_signed_in_shoppers_get_an_add_to_cart_form_naming_product_and_post(
    web_shop: WebShop,
) -> None:
    web_shop.ingest([bluesky_post("3mmbrand00001", "Camp kit", MUG, BEANS)])
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")

    [card] = front(web_shop, browser=browser)

    assert "Sign in to add it here" not in card.text
    assert [form.action for form in card.forms] == ["/cart/add", "/cart/add"]
    assert all(form.method == "post" for form in card.forms)
    mug, beans = (form.fields for form in card.forms)
    assert mug["product_id"] == "mug" and beans["product_id"] == "beans"
    assert mug["source_network"] == "bluesky"
    assert mug["source_post_id"] == post_uri(SHOP_DID, "3mmbrand00001")
    assert mug["next"] == "/s/demo"
    # The session's CSRF token, so the cart area's CSRF check accepts the form.
    assert mug["csrf_token"] == browser.csrf()


def test_the_add_to_cart_form_comes_back_to_the_page_it_was_on(web_shop: WebShop) -> None:
    web_shop.ingest(
        [bluesky_post(f"3mmbrand{n:05}", f"Post {n}", MUG, minutes=n) for n in range(14)]
    )
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")

    cards = front(web_shop, "/s/demo?page=2", browser=browser)

    assert {card.forms[0].fields["next"] for card in cards} == {"/s/demo?page=2"}


def test_a_shopper_sees_what_their_replies_put_in_their_cart(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.sign_up("alice@example.com")
    web_shop.link("alice@example.com", Network.BLUESKY, ALICE_DID, "alice.bsky.social")
    web_shop.ingest(
        [
            bluesky_post("3mmbrand00001", "Camp kit", MUG, BEANS, minutes=0),
            jetstream_post(
                ALICE_DID,
                "3mmreply00001",
                "#cart 2 x3",
                tags=("cart",),
                reply_to=post_uri(SHOP_DID, "3mmbrand00001"),
                minutes=1,
            ),
        ]
    )

    [card] = front(web_shop, browser=browser)

    assert "3 in your cart" in card.text
    assert card.text.index("Summit Roast Beans") < card.text.index("3 in your cart")
    assert card.text.count("in your cart") == 1  # the mug is not in it
    assert "in your cart" not in front(web_shop)[0].text  # nobody's cart when signed out


def test_unavailable_products_say_out_of_stock_and_cannot_be_added(web_shop: WebShop) -> None:
    web_shop.ingest([bluesky_post("3mmbrand00001", "Kettle and mug", KETTLE, MUG)])
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")

    [card] = front(web_shop, browser=browser)

    assert "Out of stock" in card.text
    assert [form.fields["product_id"] for form in card.forms] == ["mug"]
    assert "Reply #cart 1" not in card.text  # no point replying for the kettle

    set_product(web_shop, "mug", availability="discontinued")
    [card] = front(web_shop, browser=browser)
    assert card.forms == []
    assert card.text.count("Out of stock") == 2


def test_deleted_posts_are_not_shown(web_shop: WebShop) -> None:
    web_shop.ingest(
        [
            bluesky_post("3mmbrand00001", "Our mug", MUG, minutes=0),
            bluesky_post("3mmbrand00002", "Our beans", BEANS, minutes=1),
        ]
    )
    web_shop.ingest([jetstream_delete(SHOP_DID, "3mmbrand00002", minutes=2)])

    [card] = front(web_shop)

    assert "Our mug" in card.text
    assert "1 shoppable post," in web_shop.browser().get("/s/demo").text


def test_posts_come_a_page_at_a_time(web_shop: WebShop) -> None:
    web_shop.ingest(
        [bluesky_post(f"3mmbrand{n:05}", f"Post number {n}.", MUG, minutes=n) for n in range(15)]
    )

    first = front(web_shop)
    second = front(web_shop, "/s/demo?page=2")

    assert [c.text.split("Post number ")[1].split(".")[0] for c in first] == [
        str(n) for n in range(14, 2, -1)
    ]
    assert [c.text.split("Post number ")[1].split(".")[0] for c in second] == ["2", "1", "0"]
    # The pages link to each other by key (tests/web/test_shopfront_paging.py).
    [older] = [
        link
        for link in read_page(web_shop.browser().get("/s/demo").text).links
        if link.startswith("/s/demo?after=")
    ]
    assert [card.text for card in front(web_shop, older)] == [card.text for card in second]


@pytest.mark.parametrize("page", ["3", "0", "-1", "two", "99999999"])
def test_a_page_that_does_not_exist_is_not_found(web_shop: WebShop, page: str) -> None:
    web_shop.ingest(
        [bluesky_post(f"3mmbrand{n:05}", f"Post {n}", MUG, minutes=n) for n in range(13)]
    )
    assert web_shop.browser().get(f"/s/demo?page={page}").status_code == 404


def test_a_shop_without_posts_says_so(web_shop: WebShop) -> None:
    response = web_shop.browser().get("/s/demo")
    assert response.status_code == 200
    assert "Nothing here yet" in response.text


def test_another_shops_slug_is_not_found(web_shop: WebShop) -> None:
    web_shop.ingest([bluesky_post("3mmbrand00001", "Our mug", MUG)])
    response = web_shop.browser().get("/s/someone-else")
    assert response.status_code == 404
    assert "Our mug" not in response.text


HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_IMG = '"><img src=x onerror=alert(1)>'


def test_hostile_post_text_handles_and_products_come_out_inert(web_shop: WebShop) -> None:
    web_shop.ingest(
        [
            bluesky_post(
                "3mmbrand00001",
                f"{HOSTILE_SCRIPT} {HOSTILE_IMG} javascript:alert(1)",
                MUG,
                minutes=0,
            ),
            x_post(
                "1000000000000000002",
                f"Hi {HOSTILE_IMG}",
                BEANS,
                minutes=1,
                screen_name=HOSTILE_IMG,
            ),
        ]
    )
    # A product edited to a hostile title and a javascript: link.
    set_product(web_shop, "mug", title=HOSTILE_IMG + HOSTILE_SCRIPT, link="javascript:alert(1)")
    browser = web_shop.browser()
    browser.sign_up("ann@example.com")

    response = browser.get("/s/demo")
    html = response.text
    page = read_page(html)

    assert HOSTILE_SCRIPT not in html and HOSTILE_IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "img" not in page.tags
    # The only script is the shop front's own file.
    scripts = [value for tag, name, value in page.attributes if tag == "script" and name == "src"]
    assert page.tags.count("script") == len(scripts) == 1
    assert scripts == ["/static/shopfront.js"]
    assert not [a for a in page.attributes if a[1].startswith("on")]
    assert not [a for a in page.attributes if "javascript:" in a[2].lower()]
    # The text is still shown, as text.
    x_card, bluesky_card = page.cards
    assert HOSTILE_SCRIPT in bluesky_card.text and "javascript:alert(1)" in bluesky_card.text
    assert f"@{HOSTILE_IMG}" in x_card.text
    # The hostile handle cannot shape the post's address.
    assert "https://x.com/i/web/status/1000000000000000002" in x_card.links
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_count_the_page_polls_for_new_posts_grows_as_posts_arrive(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    web_shop.ingest([bluesky_post("3mmbrand00001", "Our mug", MUG)])
    assert browser.get("/s/demo/count").json() == {"total": 1}
    assert 'data-count-url="/s/demo/count" data-total="1"' in browser.get("/s/demo").text

    web_shop.ingest([bluesky_post("3mmbrand00002", "Our beans", BEANS, minutes=1)])

    assert browser.get("/s/demo/count").json() == {"total": 2}
    assert browser.get("/s/other/count").status_code == 404
