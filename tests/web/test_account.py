"""The shopper's account page: linking by one-time code (end to end through the engine),
linked accounts and unlink, what waits, how we tell them, export, and deleting the account."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from hashcart.domain.posts import Network
from hashcart.store import schema as t
from tests.harness import HOST
from tests.payloads import SHOP_DID, jetstream_post, mastodon_status, post_uri, x_tweet
from tests.web.conftest import PASSWORD, Browser, WebShop

ANN, BEN = "ann@example.com", "ben@example.com"
ANN_DID = "did:plc:ann00000000000000000000000"
MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"
BRAND = post_uri(SHOP_DID, "3mmbrand00001")
_CODE = re.compile(r"#cartlink ([0-9A-Z]{8})")
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def brand_posts() -> list[bytes]:
    return [
        jetstream_post(SHOP_DID, "3mmbrand00001", f"New in: {MUG}", links=(MUG,)),
        jetstream_post(SHOP_DID, "3mmbrand00002", f"Beans {BEANS}", links=(BEANS,), minutes=1),
    ]


def signed_up(shop: WebShop, email: str = ANN) -> Browser:
    browser = shop.browser()
    browser.sign_up(email)
    return browser


def new_code(browser: Browser) -> str:
    response = browser.submit("/account/link-code")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account")
    found = _CODE.search(browser.get("/account").text)
    assert found, "the page shows no code to post"
    return found.group(1)


def customer_id(shop: WebShop, email: str) -> int:
    with shop.app.engine.connect() as connection:
        return int(
            connection.execute(
                select(t.customers.c.id).where(t.customers.c.email == email)
            ).scalar_one()
        )


def rows(shop: WebShop, table: Any, *where: Any) -> list[dict[str, Any]]:
    with shop.app.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table).where(*where))]


def count(shop: WebShop, table: Any, *where: Any) -> int:
    with shop.app.engine.connect() as connection:
        query = select(func.count()).select_from(table).where(*where)
        return int(connection.execute(query).scalar_one())


def add_order(shop: WebShop, email: str) -> int:
    """An order as checkout leaves it (checkout is another area; the tables are shared)."""
    owner = customer_id(shop, email)
    with shop.app.engine.begin() as connection:
        order_id = connection.execute(
            insert(t.orders).values(
                customer_id=owner,
                checkout_key=f"key-{email}",
                status="paid",
                email=email,
                ship_name="Ann Example",
                ship_line1="1 Main St",
                ship_city="Springfield",
                ship_postcode="12345",
                ship_country="US",
                payment_gateway="test_card",
                payment_reference="tc_1",
                total_amount=Decimal("18.00"),
                currency="USD",
                created_at=shop.clock.now(),
            )
        ).inserted_primary_key[0]
        connection.execute(
            insert(t.order_lines).values(
                order_id=order_id,
                product_id="mug",
                title="Trailhead Enamel Mug",
                unit_price=Decimal("18.00"),
                currency="USD",
                quantity=1,
                network="bluesky",
                post_id=BRAND,
            )
        )
    return int(order_id)


# Signed out, or someone else ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account", "/account/export"])
def test_account_pages_send_a_signed_out_visitor_to_sign_in(web_shop: WebShop, path: str) -> None:
    response = web_shop.browser().get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/sign-in?next={path.replace('/', '%2F')}"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/account/link-code", {}),
        ("/account/notify", {"notify_by": "email_only"}),
        ("/account/links/1/unlink", {}),
        ("/account/delete", {"password": PASSWORD}),
    ],
)
def test_account_forms_change_nothing_when_signed_out(
    web_shop: WebShop, path: str, data: dict[str, str]
) -> None:
    web_shop.customer(ANN, (Network.BLUESKY, ANN_DID, "ann"))
    response = web_shop.browser().submit(path, data)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")
    assert count(web_shop, t.link_codes) == 0
    assert count(web_shop, t.account_links) == 1
    assert rows(web_shop, t.customers)[0]["notify_by"] == "public_reply"


def test_a_merchant_session_does_not_open_a_shoppers_account_page(web_shop: WebShop) -> None:
    browser = web_shop.browser()
    browser.merchant_sign_in()
    response = browser.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


def test_account_forms_need_the_csrf_token(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    response = browser.client.post("/account/link-code", follow_redirects=False)
    assert response.status_code == 403
    assert count(web_shop, t.link_codes) == 0


# The one-time code, end to end through the engine -----------------------------------------


def test_the_page_shows_a_code_to_post_and_how_long_it_works(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    assert _CODE.search(browser.get("/account").text) is None
    code = new_code(browser)
    page = browser.get("/account").text
    assert f"#cartlink {code}" in page
    assert "30 more minutes" in page
    assert "Post this" in page and "from the account you want to link" in page
    [stored] = rows(web_shop, t.link_codes)
    assert stored["code"] == code and stored["customer_id"] == customer_id(web_shop, ANN)
    assert not set(code) & set("ILOU")


def test_a_new_code_replaces_the_old_one_on_the_page(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    first = new_code(browser)
    second = new_code(browser)
    assert first != second
    assert [row["code"] for row in rows(web_shop, t.link_codes)] == [second]


def test_the_page_names_the_shops_own_link_tag(tmp_path: Any) -> None:
    shop = WebShop(f"sqlite:///{tmp_path / 'tags.db'}", link_tags=("joinus", "linkme"))
    try:
        browser = signed_up(shop)
        browser.submit("/account/link-code")
        page = browser.get("/account").text
        assert re.search(r"#joinus [0-9A-Z]{8}", page)
        assert "#linkme" in page and "#cartlink" not in page
    finally:
        shop.close()


def test_posting_the_code_from_bluesky_and_from_x_links_both_accounts(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    code = new_code(browser)
    bluesky = web_shop.ingest(
        [jetstream_post(ANN_DID, "3mmlink00001", f"Linking! #cartlink {code}", minutes=60)]
    )
    assert bluesky.links == 1

    code = new_code(browser)
    x = web_shop.ingest(
        [x_tweet("1801", "5150", "ann_on_x", f"#cartlink {code}", hashtags=("cartlink",))]
    )
    assert x.links == 1

    page = browser.get("/account").text
    assert ANN_DID in page  # Jetstream names no handle: the page shows the account's id
    assert "@ann_on_x" in page and "Bluesky" in page and "X</td>" in page
    assert [(r["network"], r["account_id"]) for r in rows(web_shop, t.account_links)] == [
        ("bluesky", ANN_DID),
        ("x", "5150"),
    ]
    assert web_shop.reasons() == ["linked", "linked"]
    assert _CODE.search(page) is None  # both codes are used up


def test_an_expired_a_reused_and_a_wrong_code_link_nothing(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    expired = new_code(browser)
    web_shop.clock.advance(timedelta(minutes=31))
    stats = web_shop.ingest([jetstream_post(ANN_DID, "3mmlink00001", f"#cartlink {expired}")])
    assert stats.link_codes_invalid == 1
    assert "No social account is linked yet" in browser.get("/account").text

    code = new_code(browser)
    web_shop.ingest([jetstream_post(ANN_DID, "3mmlink00002", f"#cartlink {code}")])
    reused = web_shop.ingest(
        [x_tweet("1802", "6160", "someone", f"#cartlink {code}", hashtags=("cartlink",))]
    )
    wrong = web_shop.ingest(
        [x_tweet("1803", "6160", "someone", "#cartlink 0000AAAA", hashtags=("cartlink",))]
    )
    assert reused.link_codes_invalid == 1 and wrong.link_codes_invalid == 1
    assert [r["account_id"] for r in rows(web_shop, t.account_links)] == [ANN_DID]


def test_linking_by_code_applies_waiting_replies_and_the_page_says_so(web_shop: WebShop) -> None:
    reply = jetstream_post(ANN_DID, "3mmreply0001", "#cart x2", reply_to=BRAND, minutes=5)
    web_shop.ingest([*brand_posts(), reply])
    browser = signed_up(web_shop)
    code = new_code(browser)
    web_shop.ingest([jetstream_post(ANN_DID, "3mmlink00001", f"#cartlink {code}", minutes=60)])

    assert web_shop.cart(ANN) == [("mug", 2)]
    page = browser.get("/account").text
    assert "Applied when you linked" in page
    assert "Trailhead Enamel Mug" in page and "× 2" in page
    assert 'href="https://bsky.app/profile/' in page  # links to the reply itself


def test_waiting_intents_of_a_linked_account_are_listed(web_shop: WebShop) -> None:
    reply = jetstream_post(ANN_DID, "3mmreply0001", "#wishlist", reply_to=BRAND, minutes=5)
    web_shop.ingest([*brand_posts(), reply])
    browser = signed_up(web_shop)
    ann_id = customer_id(web_shop, ANN)
    with web_shop.app.engine.begin() as connection:  # a link made without applying anything
        connection.execute(
            insert(t.account_links).values(
                customer_id=ann_id,
                network="bluesky",
                account_id=ANN_DID,
                handle=None,
                created_at=web_shop.clock.now(),
            )
        )
    page = browser.get("/account").text
    waiting = page.split('id="waiting"')[1].split('id="notify"')[0]
    assert "Trailhead Enamel Mug" in waiting and "wish list" in waiting and "kept until" in waiting
    other = signed_up(web_shop, BEN).get("/account").text
    assert "Trailhead Enamel Mug" not in other


# Unlink ------------------------------------------------------------------------------------


def test_a_shopper_unlinks_their_own_account(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    web_shop.link(ANN, Network.BLUESKY, ANN_DID, "ann.bsky.social")
    [link] = rows(web_shop, t.account_links)
    response = browser.submit(f"/account/links/{link['id']}/unlink")
    assert response.status_code == 303
    assert "Unlinked." in browser.get(response.headers["location"]).text
    assert count(web_shop, t.account_links) == 0


def test_a_shopper_cannot_unlink_anothers_account(web_shop: WebShop) -> None:
    signed_up(web_shop)
    web_shop.link(ANN, Network.BLUESKY, ANN_DID, "ann.bsky.social")
    [link] = rows(web_shop, t.account_links)
    ben = signed_up(web_shop, BEN)
    response = ben.submit(f"/account/links/{link['id']}/unlink")
    assert response.status_code == 404
    assert count(web_shop, t.account_links) == 1
    assert "ann.bsky.social" not in ben.get("/account").text


# How we tell them ------------------------------------------------------------------------------


def test_the_notification_choice_is_saved_and_shown(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    page = browser.get("/account").text
    assert re.search(r'value="public_reply"\s+checked', page)
    response = browser.submit("/account/notify", {"notify_by": "private_message"})
    assert response.status_code == 303
    page = browser.get(response.headers["location"]).text
    assert re.search(r'value="private_message"\s+checked', page)
    assert rows(web_shop, t.customers)[0]["notify_by"] == "private_message"


def test_an_unknown_notification_choice_is_refused_with_a_message(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    response = browser.submit("/account/notify", {"notify_by": "carrier_pigeon"})
    assert response.status_code == 400
    assert "Choose one of the three ways." in response.text
    assert rows(web_shop, t.customers)[0]["notify_by"] == "public_reply"


@pytest.mark.parametrize(
    ("choice", "channel", "to"),
    [
        ("public_reply", "reply", ANN_DID),
        ("private_message", "private", ANN_DID),
        ("email_only", "email", ANN),
    ],
)
def test_a_cart_reply_is_confirmed_the_way_the_shopper_chose(
    web_shop: WebShop, choice: str, channel: str, to: str
) -> None:
    browser = signed_up(web_shop)
    web_shop.link(ANN, Network.BLUESKY, ANN_DID, "ann")
    browser.submit("/account/notify", {"notify_by": choice})
    reply = jetstream_post(ANN_DID, "3mmreply0001", "#cart", reply_to=BRAND, minutes=5)
    web_shop.ingest([*brand_posts(), reply])

    [message] = rows(web_shop, t.outbox)
    assert (message["channel"], message["account_id"], message["reason"]) == (channel, to, "added")
    assert "Trailhead Enamel Mug" in message["text"]


# Export -------------------------------------------------------------------------------------


def test_export_holds_everything_about_the_shopper_and_nothing_about_others(
    web_shop: WebShop,
) -> None:
    web_shop.ingest(
        [
            *brand_posts(),
            jetstream_post(ANN_DID, "3mmreply0001", "#cart mine please", reply_to=BRAND),
            jetstream_post(
                ANN_DID, "3mmreply0002", "#wishlist", reply_to=post_uri(SHOP_DID, "3mmbrand00002")
            ),
        ]
    )
    browser = signed_up(web_shop)
    code = new_code(browser)
    web_shop.ingest([jetstream_post(ANN_DID, "3mmlink00001", f"#cartlink {code}", minutes=60)])
    add_order(web_shop, ANN)
    ben = signed_up(web_shop, BEN)
    web_shop.link(BEN, Network.X, "777", "ben_x")

    response = browser.get("/account/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    data = json.loads(response.text)
    assert data["profile"]["email"] == ANN and data["profile"]["name"] == "Sam Shopper"
    assert "password" not in response.text and "argon2" not in response.text
    assert [(a["network"], a["account_id"]) for a in data["linked_accounts"]] == [
        ("bluesky", ANN_DID)
    ]
    assert [(line["product_id"], line["quantity"]) for line in data["cart"]] == [("mug", 1)]
    assert [line["product_id"] for line in data["wish_list"]] == ["beans"]
    assert sorted(p["status"] for p in data["pending_intents"]) == ["applied", "applied"]
    [order] = data["orders"]
    assert order["total"] == "18.00" and order["ship_to"]["city"] == "Springfield"
    assert [(line["product_id"], line["unit_price"]) for line in order["lines"]] == [
        ("mug", "18.00")
    ]
    assert {p["text"] for p in data["posts"]} == {"#cart mine please", "#wishlist"}

    other = json.loads(ben.get("/account/export").text)
    assert other["profile"]["email"] == BEN
    assert ANN not in json.dumps(other) and ANN_DID not in json.dumps(other)
    assert other["orders"] == [] and other["cart"] == [] and other["posts"] == []


# Delete --------------------------------------------------------------------------------------


def test_a_wrong_password_deletes_nothing(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    response = browser.submit("/account/delete", {"password": "not my password"})
    assert response.status_code == 400
    assert "nothing was deleted" in response.text
    assert count(web_shop, t.customers) == 1
    assert browser.get("/account").status_code == 200


def test_delete_erases_the_shopper_and_keeps_orders_detached(web_shop: WebShop) -> None:
    web_shop.ingest(
        [
            *brand_posts(),
            jetstream_post(ANN_DID, "3mmreply0001", "#cart for me", reply_to=BRAND),
            jetstream_post(
                ANN_DID, "3mmreply0002", "#wishlist", reply_to=post_uri(SHOP_DID, "3mmbrand00002")
            ),
        ]
    )  # two pending intents, applied at the link; the rows stay until the account goes
    browser = signed_up(web_shop)
    code = new_code(browser)
    web_shop.ingest([jetstream_post(ANN_DID, "3mmlink00001", f"#cartlink {code}", minutes=60)])
    new_code(browser)  # a live code, too
    order_id = add_order(web_shop, ANN)
    browser.submit("/reset", {"email": ANN})  # a reset link on record
    ben = signed_up(web_shop, BEN)
    web_shop.link(BEN, Network.BLUESKY, "did:plc:ben000000000000000000000", "ben")
    ben_reply = jetstream_post(
        "did:plc:ben000000000000000000000", "3mmben000001", "#cart ben", reply_to=BRAND
    )
    web_shop.ingest([ben_reply])
    ann_id = customer_id(web_shop, ANN)
    assert count(web_shop, t.pending_intents) == 2
    assert count(web_shop, t.password_resets) == 1

    response = browser.submit("/account/delete", {"password": PASSWORD})
    assert response.status_code == 200
    assert "Your account is deleted" in response.text
    assert (
        'hc_session=""' in response.headers["set-cookie"]
        or "Max-Age=0" in (response.headers["set-cookie"])
    )
    assert browser.get("/account", follow_redirects=False).status_code == 303

    assert count(web_shop, t.customers, t.customers.c.id == ann_id) == 0
    for table in (t.account_links, t.cart_lines, t.wishlist_entries, t.link_codes):
        assert count(web_shop, table, table.c.customer_id == ann_id) == 0
    assert count(web_shop, t.password_resets) == 0
    assert count(web_shop, t.web_sessions, t.web_sessions.c.subject_id == ann_id) == 0
    assert count(web_shop, t.pending_intents, t.pending_intents.c.account_id == ANN_DID) == 0
    assert {r["text"] for r in rows(web_shop, t.posts, t.posts.c.author_id == ANN_DID)} == {None}
    assert count(web_shop, t.actions, t.actions.c.customer_id == ann_id) == 0

    [order] = rows(web_shop, t.orders)
    assert (order["id"], order["customer_id"], order["email"]) == (order_id, None, "deleted")
    assert (order["ship_name"], order["total_amount"]) == ("Ann Example", Decimal("18.00"))
    assert count(web_shop, t.order_lines, t.order_lines.c.order_id == order_id) == 1

    # Ben, and the shop's own posts, are untouched.
    assert web_shop.cart(BEN) == [("mug", 1)]
    assert web_shop.post_text(Network.BLUESKY, BRAND) == f"New in: {MUG}"
    ben_post = post_uri("did:plc:ben000000000000000000000", "3mmben000001")
    assert web_shop.post_text(Network.BLUESKY, ben_post) == "#cart ben"
    assert ben.get("/account").status_code == 200


def test_deleting_is_rate_limited_like_signing_in(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    for _ in range(web_shop.app.settings.sign_in_account_limit):
        assert browser.submit("/account/delete", {"password": "guess guess"}).status_code == 400
    response = browser.submit("/account/delete", {"password": PASSWORD})
    assert response.status_code == 429
    assert count(web_shop, t.customers) == 1


# What strangers wrote is shown inert ------------------------------------------------------------


def test_hostile_handles_titles_and_links_are_escaped_on_the_account_page(
    web_shop: WebShop,
) -> None:
    with web_shop.app.engine.begin() as connection:
        connection.execute(
            update(t.products).where(t.products.c.product_id == "mug").values(title=HOSTILE)
        )
    hostile_account = "javascript:alert(1)"
    reply = mastodon_status(
        "2001", hostile_account, "evil", "<p>#cart</p>", reply_to="2000", tags=("cart",)
    )
    shop_post = mastodon_status(
        "2000", "https://social.example/users/shop", "shop", f'<p><a href="{MUG}">{MUG}</a></p>'
    )
    x_reply = x_tweet("1901", "9999", HOSTILE, "#cart", reply_to="1900", hashtags=("cart",))
    x_shop = x_tweet("1900", "1", "shop", f"Mug {MUG}", links=(MUG,))
    web_shop.ingest([shop_post, reply, x_shop, x_reply])
    browser = signed_up(web_shop)
    for account, handle in ((hostile_account, "evil"), ("9999", HOSTILE)):
        code = new_code(browser)
        network = "mastodon" if account == hostile_account else "x"
        text = f"#cartlink {code}"
        post = (
            mastodon_status("2002", account, handle, f"<p>{text}</p>", tags=("cartlink",))
            if network == "mastodon"
            else x_tweet("1902", account, handle, text, hashtags=("cartlink",))
        )
        assert web_shop.ingest([post]).links == 1

    page = browser.get("/account").text
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page.lower()
    assert "Applied when you linked" in page


def test_done_notices_are_fixed_texts_only(web_shop: WebShop) -> None:
    browser = signed_up(web_shop)
    page = browser.get("/account", params={"done": "<script>x</script>"}).text
    assert "<script>x</script>" not in page and 'role="status"' not in page
    assert "Your new password is set." in browser.get("/account?done=password").text
