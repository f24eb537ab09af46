"""Every first message tells an X shopper to write `@shop #cart` (issue 11; X's 2026 reply
rule: xdevplatform/docs changelog.mdx 2026-02-23 and x-api/posts/manage-tweets/
introduction.mdx, an app may reply only where the author mentioned it). The advice quotes a
trigger tag, so the shop's own posts must never act: not on X, Mastodon or Bluesky.

X posts here are hand-built from the data dictionary (tests/networks/x/payloads.py);
Mastodon statuses follow docs.joinmastodon.org entities/Status, Bluesky posts Jetstream's
commit events (bluesky-social/jetstream README)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.networks.x.send import XSender
from hashcart.outbox.dispatcher import dispatch_once
from hashcart.store import schema as t
from tests.harness import PRODUCTS, Shop
from tests.loopback import LiveServer
from tests.networks.x.conftest import (
    SHOP_HANDLE,
    SHOP_ID,
    SHOPPER_EMAIL,
    SHOPPER_HANDLE,
    SHOPPER_ID,
    ServedStandIn,
)
from tests.networks.x.payloads import stream_line, v2_post, v2_shop_post
from tests.networks.x.stand_in import REPLY_RESTRICTED as RESTRICTION_ANSWER
from tests.networks.x.stand_in import SHOP_USER_ID, Scripted, XStandIn
from tests.payloads import SHOP_DID, jetstream_post, mastodon_status, post_uri

PARENT = v2_shop_post("1890000000000000001")
ADVICE = f"Next time, write @{SHOP_HANDLE} #cart and we can answer you on X."
MUG = PRODUCTS["mug"][1]


def _reply(post_id: str, author: str = SHOPPER_ID, text: str = "#cart") -> bytes:
    tags = tuple(dict.fromkeys(re.findall(r"#(\w+)", text)))
    post = v2_post(post_id, author, text, reply_to=PARENT["id"], hashtags=tags)
    return stream_line(post, PARENT)


def _x_texts(shop: Shop) -> list[str]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(t.outbox.c.text).where(t.outbox.c.network == "x").order_by(t.outbox.c.id)
        )
        return [str(text) for (text,) in rows]


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    shop = Shop(database_url, x_shop_handle=SHOP_HANDLE, x_shop_user_id=SHOP_ID)
    shop.customer(SHOPPER_EMAIL, (Network.X, SHOPPER_ID, SHOPPER_HANDLE))
    yield shop
    shop.app.engine.dispose()


def test_the_first_message_to_an_x_shopper_says_how_to_ask(shop: Shop) -> None:
    shop.ingest([_reply("1890000000000000002")])
    shop.ingest([_reply("1890000000000000003", text="#wishlist")])

    first, second = _x_texts(shop)
    assert ADVICE in first
    assert first.startswith(f"@{SHOPPER_HANDLE} Added ")
    assert ADVICE not in second


def test_only_the_first_of_a_batch_carries_it(shop: Shop) -> None:
    shop.ingest([_reply("1890000000000000002"), _reply("1890000000000000003", text="#wishlist")])

    assert [ADVICE in text for text in _x_texts(shop)] == [True, False]


def test_the_link_invitation_to_an_unlinked_account_carries_it(shop: Shop) -> None:
    shop.ingest([_reply("1890000000000000002", author="3000000000000000001")])

    (invitation,) = _x_texts(shop)
    assert "link this account" in invitation
    assert ADVICE in invitation


def test_without_the_shop_handle_nothing_is_advised(database_url: str) -> None:
    shop = Shop(database_url)
    shop.customer(SHOPPER_EMAIL, (Network.X, SHOPPER_ID, SHOPPER_HANDLE))
    shop.ingest([_reply("1890000000000000002")])

    (text,) = _x_texts(shop)
    assert "Next time" not in text and "#cart" not in text


def test_other_networks_get_no_x_advice(shop: Shop) -> None:
    ada = "https://social.example/users/ada"
    shop.customer("ada@example.com", (Network.MASTODON, ada, "ada"))
    shop.ingest(
        [
            mastodon_status("100", "https://social.example/users/brand", "brand", f"<p>{MUG}</p>"),
            mastodon_status("101", ada, "ada", "<p>#cart</p>", reply_to="100", tags=("cart",)),
        ]
    )
    (message,) = [row for row in shop.outbox() if row["network"] == "mastodon"]
    assert "#cart" not in message["text"]


def test_a_refused_first_reply_brings_the_advice_by_email(shop: Shop) -> None:
    """X refuses the reply (the shopper did not mention the shop): the email says how."""
    shop.ingest([_reply("1890000000000000002")])
    stand_in = XStandIn(shop.clock.now)
    with LiveServer(stand_in.app) as server:
        x = ServedStandIn(stand_in, server.url)
        try:
            x.x.create_script.append(Scripted(403, RESTRICTION_ANSWER))
            dispatch_once(shop.app, {"x": XSender(x.api(), shop_user_id=SHOP_USER_ID)})
        finally:
            stand_in.release()
    (email,) = [row for row in shop.outbox() if row["network"] == "email"]
    assert ADVICE in email["text"]


# --- the shop's own posts never act -------------------------------------------------------


def test_the_shops_own_reply_quoting_the_advice_does_not_act(shop: Shop) -> None:
    """hashcart's first message, posted by the shop's account under its own product post
    (X shows the shop's own posts to the stream like anyone's): nothing acts."""
    shop.ingest([_reply("1890000000000000002")])
    (ours,) = _x_texts(shop)
    before = shop.outbox()

    stats = shop.ingest([_reply("1890000000000000009", author=SHOP_ID, text=ours)])

    assert stats.triggers == 0
    assert shop.outbox() == before
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]


def test_the_shops_handle_alone_is_enough(database_url: str) -> None:
    """Only `x_shop_handle` set: the author's handle (from `includes.users`) names the shop."""
    shop = Shop(database_url, x_shop_handle=SHOP_HANDLE.upper())
    stats = shop.ingest([_reply("1890000000000000009", author=SHOP_ID, text="@x #cart")])
    assert stats.triggers == 0
    assert shop.outbox() == []


def test_the_shops_own_mastodon_account_does_not_act(database_url: str) -> None:
    brand = "https://social.example/users/brand"
    shop = Shop(database_url, shop_accounts=[f"mastodon:{brand}"])
    shop.customer("brand@example.com", (Network.MASTODON, brand, "brand"))
    stats = shop.ingest(
        [
            mastodon_status("100", brand, "brand", f"<p>{MUG}</p>"),
            mastodon_status("101", brand, "brand", "<p>#cart</p>", reply_to="100", tags=("cart",)),
        ]
    )
    assert stats.triggers == 0
    assert shop.cart("brand@example.com") == []
    assert shop.outbox() == []


def test_the_shops_own_bluesky_account_does_not_act(database_url: str) -> None:
    shop = Shop(database_url, bluesky_identifier=SHOP_DID)
    shop.customer("brand@example.com", (Network.BLUESKY, SHOP_DID, ""))
    stats = shop.ingest(
        [
            jetstream_post(SHOP_DID, "3mmbrand00001", f"Mug {MUG}", links=(MUG,)),
            jetstream_post(
                SHOP_DID,
                "3mmbrand00002",
                "@trailhead #cart",
                reply_to=post_uri(SHOP_DID, "3mmbrand00001"),
                tags=("cart",),
            ),
        ]
    )
    assert stats.triggers == 0
    assert shop.cart("brand@example.com") == []


def test_a_shopper_with_the_same_words_still_acts(shop: Shop) -> None:
    stats = shop.ingest([_reply("1890000000000000002", text=f"{ADVICE} #cart")])
    assert stats.triggers == 1
    assert shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
