"""A network account that is gone is forgotten: its link to a shopper, its tokens, the posts
we kept of it and the requests waiting for it; the shopper's cart and orders stay.

Gone means, per network and its documentation:
- X: the user revoked the shop's app. X Activity API `oauth.revoke` ("Use this to clean up
  local state for the revoked user", docs.x.com/x-api/activity/event-payloads) and the
  Account Activity API's `user_event.revoke` (docs.x.com/x-api/account-activity/introduction).
- Bluesky: an `#account` event with `active: false` and status `deleted` or `takendown`
  (bluesky-social/atproto lexicons/com/atproto/sync/subscribeRepos.json `#account`), which
  Jetstream passes on as `kind: "account"` (its recorded shape: bluesky-social/jetstream
  golden_v1.jsonl in ../shared/fixtures/bluesky-jetstream).
Each test runs on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import func, insert, select

from hashcart.config import Settings
from hashcart.domain.kinds import KINDS
from hashcart.domain.posts import Network
from hashcart.domain.products import ShopHosts
from hashcart.domain.triggers import TriggerWords
from hashcart.networks.prefilter import Prefilter
from hashcart.store import schema as t
from hashcart.store.forget import forget_network_account
from tests.harness import HOST, Shop
from tests.payloads import SHOP_DID, jetstream_post, post_uri, x_tweet

MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"
ALICE = "alice@example.com"
BOB = "bob@example.com"
# The user id of X's documented `oauth.revoke` sample, verbatim.
X_REVOKED = "1111111111111111111"
# The user id of X's documented Account Activity `user_event.revoke` sample, verbatim.
X_AAA_REVOKED = "63046977"
X_SHOP = "900"
ALICE_DID = "did:plc:alice0000000000000000000"
BOB_DID = "did:plc:bob000000000000000000000"
BRAND_POST = post_uri(SHOP_DID, "3mmbrand00001")

# docs.x.com/x-api/activity/event-payloads, "oauth.revoke": the sample, verbatim.
X_OAUTH_REVOKE = b"""{
  "data": {
    "event_uuid": "5934540941047412905",
    "filter": {},
    "event_type": "oauth.revoke",
    "payload": {
      "date_time": "2026-07-23T21:44:05+00:00",
      "user_id": "1111111111111111111",
      "app_id": "29820954"
    }
  }
}"""
# docs.x.com/x-api/account-activity/introduction, "user_event": the sample, verbatim.
X_USER_EVENT_REVOKE = b"""{
  "user_event": {
    "revoke": {
      "date_time": "2018-05-24T09:48:12+00:00",
      "target": {
        "app_id": "13090192"
      },
      "source": {
        "user_id": "63046977"
      }
    }
  }
}"""


def one_line(sample: bytes) -> bytes:
    """A documented sample as a JSON-lines line (the same JSON, without its indentation)."""
    return json.dumps(json.loads(sample), separators=(",", ":")).encode()


def jetstream_account(did: str, *, active: bool, status: str | None) -> bytes:
    """A Jetstream `account` event in the recorded shape (golden_v1.jsonl), with the
    lexicon's `active`/`status` (subscribeRepos.json `#account`)."""
    account: dict[str, object] = {"active": active, "did": did, "seq": 30340180351}
    if status is not None:
        account["status"] = status
    account["time"] = "2026-05-25T14:23:29.950Z"
    event = {"did": did, "time_us": 1779719010272410, "kind": "account", "account": account}
    return json.dumps(event, separators=(",", ":")).encode()


def _shop_with_shoppers(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer(
        ALICE,
        (Network.X, X_REVOKED, "alice"),
        (Network.BLUESKY, ALICE_DID, "alice.bsky.social"),
    )
    shop.customer(BOB, (Network.BLUESKY, BOB_DID, "bob.bsky.social"))
    shop.ingest(
        [
            x_tweet("1700000000000000001", X_SHOP, "shop", f"New mug {MUG}", links=(MUG,)),
            x_tweet(
                "1700000000000000002",
                X_REVOKED,
                "alice",
                "#cart",
                reply_to="1700000000000000001",
                minutes=5,
                hashtags=("cart",),
            ),
            jetstream_post(SHOP_DID, "3mmbrand00001", f"Beans {BEANS}", links=(BEANS,)),
            jetstream_post(ALICE_DID, "3mmalice00001", "#cart", reply_to=BRAND_POST, minutes=5),
            jetstream_post(BOB_DID, "3mmbob0000001", "#cart", reply_to=BRAND_POST, minutes=5),
        ]
    )
    assert sorted(shop.cart(ALICE)) == [("beans", 1), ("mug", 1)]
    with shop.app.engine.begin() as connection:
        alice_id = connection.scalar(select(t.customers.c.id).where(t.customers.c.email == ALICE))
        for link_id in connection.scalars(select(t.account_links.c.id)):
            connection.execute(
                insert(t.account_tokens).values(
                    link_id=link_id, secret_data="sealed", created_at=shop.clock.now()
                )
            )
        connection.execute(
            insert(t.orders).values(
                customer_id=alice_id, checkout_key="k1", status="paid", email=ALICE,
                ship_name="Alice", ship_line1="1 Road", ship_city="Town", ship_postcode="1",
                ship_country="US", payment_gateway="invoice", payment_reference="r1",
                total_amount=Decimal("12.00"), currency="USD", created_at=shop.clock.now(),
            )
        )  # fmt: skip
    return shop


def _held(shop: Shop, network: Network, account_id: str) -> dict[str, int]:
    with shop.app.engine.connect() as connection:
        links = connection.scalar(
            select(func.count()).where(
                t.account_links.c.network == network, t.account_links.c.account_id == account_id
            )
        )
        posts = connection.scalar(
            select(func.count()).where(
                t.posts.c.network == network, t.posts.c.author_id == account_id
            )
        )
        tokens = connection.scalar(select(func.count()).select_from(t.account_tokens))
        orders = connection.scalar(select(func.count()).select_from(t.orders))
    return {"links": links or 0, "posts": posts or 0, "tokens": tokens or 0, "orders": orders or 0}


def test_forgetting_an_account_keeps_the_shoppers_cart_and_orders(database_url: str) -> None:
    shop = _shop_with_shoppers(database_url)
    assert _held(shop, Network.BLUESKY, ALICE_DID) == {
        "links": 1, "posts": 1, "tokens": 3, "orders": 1,
    }  # fmt: skip
    with shop.app.engine.begin() as connection:
        forgotten = forget_network_account(connection, Network.BLUESKY, ALICE_DID)
    assert (forgotten.links, forgotten.tokens, forgotten.posts) == (1, 1, 1)
    assert _held(shop, Network.BLUESKY, ALICE_DID) == {
        "links": 0, "posts": 0, "tokens": 2, "orders": 1,
    }  # fmt: skip
    # Her other network's link and posts, Bob's, her cart: all still there.
    assert _held(shop, Network.X, X_REVOKED)["links"] == 1
    assert _held(shop, Network.BLUESKY, BOB_DID)["posts"] == 1
    assert sorted(shop.cart(ALICE)) == [("beans", 1), ("mug", 1)]
    # Twice is once.
    with shop.app.engine.begin() as connection:
        again = forget_network_account(connection, Network.BLUESKY, ALICE_DID)
    assert not again.anything


def test_x_oauth_revoke_forgets_the_account(database_url: str) -> None:
    shop = _shop_with_shoppers(database_url)
    stats = shop.ingest([one_line(X_OAUTH_REVOKE)])
    assert stats.dead_letters == 0
    held = _held(shop, Network.X, X_REVOKED)
    assert held == {"links": 0, "posts": 0, "tokens": 2, "orders": 1}
    assert _held(shop, Network.BLUESKY, ALICE_DID)["links"] == 1
    assert sorted(shop.cart(ALICE)) == [("beans", 1), ("mug", 1)]


def test_x_account_activity_user_event_revoke_forgets_the_account(database_url: str) -> None:
    shop = Shop(database_url)
    shop.customer(ALICE, (Network.X, X_AAA_REVOKED, "alice"))
    stats = shop.ingest([one_line(X_USER_EVENT_REVOKE)])
    assert stats.dead_letters == 0
    assert _held(shop, Network.X, X_AAA_REVOKED)["links"] == 0


def test_a_deleted_bluesky_account_is_forgotten(database_url: str) -> None:
    shop = _shop_with_shoppers(database_url)
    shop.ingest([jetstream_account(ALICE_DID, active=False, status="deleted")])
    assert _held(shop, Network.BLUESKY, ALICE_DID) == {
        "links": 0, "posts": 0, "tokens": 2, "orders": 1,
    }  # fmt: skip
    assert _held(shop, Network.BLUESKY, BOB_DID)["links"] == 1


def test_a_taken_down_bluesky_account_is_forgotten(database_url: str) -> None:
    shop = _shop_with_shoppers(database_url)
    shop.ingest([jetstream_account(BOB_DID, active=False, status="takendown")])
    assert _held(shop, Network.BLUESKY, BOB_DID)["links"] == 0
    assert _held(shop, Network.BLUESKY, ALICE_DID)["links"] == 1


def test_a_deactivated_or_active_bluesky_account_is_kept(database_url: str) -> None:
    # Deactivation is the user's own pause and may be undone; suspension too.
    shop = _shop_with_shoppers(database_url)
    shop.ingest(
        [
            jetstream_account(ALICE_DID, active=False, status="deactivated"),
            jetstream_account(BOB_DID, active=False, status="suspended"),
            jetstream_account(BOB_DID, active=True, status=None),
        ]
    )
    assert _held(shop, Network.BLUESKY, ALICE_DID)["links"] == 1
    assert _held(shop, Network.BLUESKY, BOB_DID)["links"] == 1


def test_a_gone_accounts_posts_in_the_same_batch_are_ignored(database_url: str) -> None:
    shop = Shop(database_url)
    shop.customer(BOB, (Network.BLUESKY, BOB_DID, "bob.bsky.social"))
    shop.ingest(
        [
            jetstream_post(SHOP_DID, "3mmbrand00001", f"Beans {BEANS}", links=(BEANS,)),
            jetstream_post(BOB_DID, "3mmbob0000001", "#cart", reply_to=BRAND_POST, minutes=5),
            jetstream_account(BOB_DID, active=False, status="deleted"),
        ]
    )
    assert shop.cart(BOB) == []
    assert _held(shop, Network.BLUESKY, BOB_DID)["posts"] == 0


def test_the_prefilter_lets_account_notices_through() -> None:
    # They carry no tag and no shop link, yet the engine must see them.
    words = TriggerWords.of(KINDS.tags_by_kind(Settings()))
    prefilter = Prefilter.for_shop(words, ShopHosts((HOST,)))
    for line in (
        X_OAUTH_REVOKE,
        X_USER_EVENT_REVOKE,
        jetstream_account(ALICE_DID, active=False, status="deleted"),
    ):
        assert prefilter.wants(line)
    assert not prefilter.wants(jetstream_account(ALICE_DID, active=True, status=None))
