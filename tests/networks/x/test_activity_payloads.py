"""X Activity API deliveries as X documents them: the `post.reply.create` sample of
xdevplatform/docs x-api/activity/event-payloads.mdx arrives with `"includes": {}`, so neither
the reply's author nor the post it answers is in it. hashcart must not need them there: the
parent is looked up (GET /2/tweets/:id with its author expanded) and so is the author's
handle (GET /2/users/:id), once each, against a loopback stand-in."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hashcart.domain.posts import Network
from hashcart.networks.x.webhook import CONSUMER_SIGNATURE_HEADER, signature
from hashcart.store import schema as t
from hashcart.web import create_app
from tests.harness import PRODUCTS, Shop
from tests.loopback import LiveServer
from tests.networks.x.payloads import v2_post
from tests.networks.x.stand_in import APP_BEARER, XStandIn

CONSUMER_SECRET = "consumer-secret-for-tests"
# The ids of the documented sample: the shop is the filtered user ExampleUser.
SHOP_ID, SHOPPER_ID = "1111111111111111111", "2222222222222222222"
PARENT_ID, REPLY_ID = "2080761390344937796", "2090000000000000001"
SHOPPER_EMAIL = "other@example.com"

# x-api/activity/event-payloads.mdx, `post.reply.create`, verbatim.
DOCUMENTED_REPLY_EVENT: dict[str, Any] = {
    "data": {
        "event_uuid": "3091827364059182736",
        "filter": {"user_id": "1111111111111111111"},
        "event_type": "post.reply.create",
        "tag": "replies",
        "payload": {
            "paid_partnership": False,
            "created_at": "2026-08-12T18:00:00.000Z",
            "edit_history_tweet_ids": ["2090000000000000001"],
            "conversation_id": "2080761390344937796",
            "in_reply_to_tweet_id": "2080761390344937796",
            "in_reply_to_user_id": "1111111111111111111",
            "referenced_tweets": [{"type": "replied_to", "id": "2080761390344937796"}],
            "display_text_range": [14, 45],
            "text": "@ExampleUser Great post — thanks for sharing!",
            "entities": {
                "mentions": [
                    {
                        "start": 0,
                        "start_str": "0",
                        "end": 12,
                        "end_str": "12",
                        "username": "ExampleUser",
                        "id": "1111111111111111111",
                    }
                ]
            },
            "author_id": "2222222222222222222",
            "possibly_sensitive": False,
            "public_metrics": {
                "retweet_count": 0,
                "retweet_count_str": "0",
                "reply_count": 0,
                "reply_count_str": "0",
                "like_count": 0,
                "like_count_str": "0",
                "quote_count": 0,
                "quote_count_str": "0",
                "bookmark_count": 0,
                "bookmark_count_str": "0",
                "impression_count": 0,
                "impression_count_str": "0",
            },
            "reply_settings": "everyone",
            "id": "2090000000000000001",
            "lang": "en",
        },
        "includes": {},
    }
}


def cart_event(event_uuid: str = "3091827364059182736", reply_id: str = REPLY_ID) -> bytes:
    """The documented sample with the reply's words changed to a `#cart` (text and its
    hashtag entity: `@ExampleUser #cart`); everything else as documented."""
    event = copy.deepcopy(DOCUMENTED_REPLY_EVENT)
    event["data"]["event_uuid"] = event_uuid
    payload = event["data"]["payload"]
    payload["id"] = reply_id
    payload["edit_history_tweet_ids"] = [reply_id]
    payload["text"] = "@ExampleUser #cart"
    payload["display_text_range"] = [13, 18]
    payload["entities"]["hashtags"] = [{"start": 13, "end": 18, "tag": "cart"}]
    return json.dumps(event).encode()


# GET /2/tweets/:id of the parent (the lookup shape of x-api/posts/lookup; hand-built
# values): the shop's post with the mug's link, its author expanded.
PARENT_LOOKUP = {
    "data": v2_post(
        PARENT_ID,
        SHOP_ID,
        "Our new enamel mug https://t.co/abcdefghij",
        links=(PRODUCTS["mug"][1],),
    ),
    "includes": {"users": [{"id": SHOP_ID, "name": "Example", "username": "ExampleUser"}]},
}
# GET /2/users/:id (x-api/users/lookup; the user object's documented fields).
SHOPPER_LOOKUP = {"data": {"id": SHOPPER_ID, "name": "OtherUser", "username": "OtherUser"}}


class Delivered:
    def __init__(self, shop: Shop, stand_in: XStandIn) -> None:
        self.shop = shop
        self.x = stand_in
        self.client = TestClient(create_app(shop.app), base_url="http://127.0.0.1")

    def deliver(self, body: bytes) -> int:
        headers = {
            "content-type": "application/json",
            CONSUMER_SIGNATURE_HEADER: signature(body, CONSUMER_SECRET),
        }
        return self.client.post("/webhooks/x", content=body, headers=headers).status_code

    def stored_handle(self, post_id: str) -> str:
        with self.shop.app.engine.connect() as connection:
            return str(
                connection.scalar(
                    select(t.posts.c.author_handle).where(t.posts.c.post_id == post_id)
                )
            )


@pytest.fixture
def delivered(tmp_path: Path) -> Iterator[Delivered]:
    stand_in = XStandIn(lambda: None)  # type: ignore[arg-type, return-value]
    stand_in.lookup_answers[PARENT_ID] = PARENT_LOOKUP
    stand_in.user_answers[SHOPPER_ID] = SHOPPER_LOOKUP
    with LiveServer(stand_in.app) as server:
        shop = Shop(
            f"sqlite:///{tmp_path / 'xaa.db'}",
            x_consumer_secret=CONSUMER_SECRET,
            x_bearer_token=APP_BEARER,
            x_api_url=server.url,
            x_shop_user_id=SHOP_ID,
        )
        try:
            yield Delivered(shop, stand_in)
        finally:
            shop.app.engine.dispose()
            stand_in.release()


def test_the_documented_reply_sample_decodes_without_includes(delivered: Delivered) -> None:
    # Unchanged, as documented: no #cart, so nothing to act on; and nothing kept as bad input.
    body = json.dumps(DOCUMENTED_REPLY_EVENT).encode()
    assert delivered.deliver(body) == 200
    assert delivered.shop.dead_letters() == []


def test_a_cart_reply_without_includes_looks_up_parent_and_author_once(
    delivered: Delivered,
) -> None:
    delivered.shop.customer(SHOPPER_EMAIL, (Network.X, SHOPPER_ID, "OtherUser"))
    assert delivered.deliver(cart_event()) == 200
    assert delivered.shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    assert delivered.x.lookups == [PARENT_ID]
    assert delivered.stored_handle(REPLY_ID) == "OtherUser"
    # A second reply of the same shopper to the same post: nothing looked up again.
    assert delivered.deliver(cart_event("3091827364059182737", "2090000000000000002")) == 200
    assert delivered.x.lookups == [PARENT_ID]
    assert delivered.x.user_lookups == [SHOPPER_ID]


def test_an_author_x_does_not_know_still_puts_the_product_in_the_cart(
    delivered: Delivered,
) -> None:
    del delivered.x.user_answers[SHOPPER_ID]  # X answers resource-not-found
    delivered.shop.customer(SHOPPER_EMAIL, (Network.X, SHOPPER_ID, "OtherUser"))
    assert delivered.deliver(cart_event()) == 200
    assert delivered.shop.cart(SHOPPER_EMAIL) == [("mug", 1)]
    assert delivered.stored_handle(REPLY_ID) == ""
    # Not asked again for the next event of the same author.
    assert delivered.deliver(cart_event("3091827364059182737", "2090000000000000002")) == 200
    assert delivered.x.user_lookups == [SHOPPER_ID]


def test_an_author_in_includes_is_not_looked_up(delivered: Delivered) -> None:
    event = json.loads(cart_event())
    event["data"]["includes"] = {"users": [{"id": SHOPPER_ID, "username": "OtherUser"}]}
    assert delivered.deliver(json.dumps(event).encode()) == 200
    assert delivered.x.user_lookups == []
    assert delivered.stored_handle(REPLY_ID) == "OtherUser"


@pytest.mark.parametrize("author", ["../../2/tweets", "9" * 400, "", "\x00"])
def test_a_hostile_author_id_is_never_looked_up(delivered: Delivered, author: str) -> None:
    event = json.loads(cart_event())
    event["data"]["payload"]["author_id"] = author
    assert delivered.deliver(json.dumps(event).encode()) in (200, 400)
    assert delivered.x.user_lookups == []


def test_the_documented_mention_sample_names_its_author_from_includes() -> None:
    from hashcart.domain.posts import Post
    from hashcart.networks.x.decode import decode_v2

    # x-api/activity/event-payloads.mdx, `post.mention.create` (its fields hashcart reads,
    # verbatim; the user objects cut to id and username).
    sample = {
        "data": {
            "event_uuid": "2080765813578191303",
            "filter": {"user_id": "1111111111111111111"},
            "event_type": "post.mention.create",
            "tag": "mentions",
            "payload": {
                "created_at": "2026-07-24T21:23:23.000Z",
                "edit_history_tweet_ids": ["2080765813578191303"],
                "conversation_id": "2080765813578191303",
                "text": "hey @ExampleUser",
                "entities": {
                    "mentions": [{"start": 4, "end": 16, "username": "ExampleUser", "id": SHOP_ID}]
                },
                "author_id": "2222222222222222222",
                "id": "2080765813578191303",
            },
            "includes": {
                "users": [
                    {"username": "OtherUser", "id": "2222222222222222222"},
                    {"username": "ExampleUser", "id": SHOP_ID},
                ]
            },
        }
    }
    posts = [event for event in decode_v2(json.dumps(sample).encode()) if isinstance(event, Post)]
    assert [(post.post_id, post.author_handle) for post in posts] == [
        ("2080765813578191303", "OtherUser")
    ]
