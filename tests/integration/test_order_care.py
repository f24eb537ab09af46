"""Order care (issue 12) on SQLite and PostgreSQL, through the networks' payload shapes
(tests/payloads: X v1.1 tweets, Mastodon Status entities, Jetstream commits):

- `@shop #order` from a linked shopper answers privately with their latest orders (a
  Mastodon direct status, a Bluesky chat message; email for X and for email-only shoppers),
  never as a public reply; an unlinked account gets only the link prompt, and only when it
  mentioned the shop;
- marking an order shipped tells the shopper once, on their chosen channel, and a public
  reply never carries the tracking link.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from hashcart.domain.posts import Network
from hashcart.domain.text_lengths import limit_for
from hashcart.networks.mastodon.stream import streams_for
from hashcart.networks.prefilter import Prefilter
from hashcart.networks.x.stream import desired_rules
from hashcart.services.order_care import NoSuchOrder, ShipRefused, TrackingUrlError, mark_shipped
from hashcart.store import schema as t
from hashcart.store.orders import Address, NewOrder, OrderLine, add_order, set_status
from hashcart.views import api_reads
from tests.cli_runner import run_cli
from tests.harness import HOST, Shop
from tests.payloads import (
    SHOP_DID,
    jetstream_post,
    mastodon_status,
    post_uri,
    x_tweet,
    x_v2_post,
)

ALICE = "alice@example.com"
ALICE_X = "4242"
ALICE_MASTODON = "https://social.example/users/alice"
ALICE_DID = "did:plc:alice0000000000000000000"
STRANGER_DID = "did:plc:stranger00000000000000000"
MUG = f"https://{HOST}/products/enamel-mug"
TRACKING = "https://track.carrier-example.com/parcels/1Z999AA10123456784"
SHOP_ACCOUNTS = ("x:trailhead", "mastodon:trailhead@coffee.social", "bluesky:trailhead.bsky.social")
# A Mastodon mention as the server renders it (entities/Status.md `content`).
MASTODON_ORDER = (
    '<p><span class="h-card"><a href="https://coffee.social/@trailhead" class="u-url mention">'
    '@<span>trailhead</span></a></span> <a href="https://social.example/tags/order" '
    'class="mention hashtag" rel="tag">#<span>order</span></a> where is my parcel?</p>'
)


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url, shop_accounts=SHOP_ACCOUNTS)
    shop.customer(
        ALICE,
        (Network.X, ALICE_X, "alice_x"),
        (Network.MASTODON, ALICE_MASTODON, "alice"),
        (Network.BLUESKY, ALICE_DID, "alice.bsky.social"),
    )
    return shop


def place_order(
    shop: Shop, key: str, minutes: float = 0, source: tuple[str, str, str] | None = None
) -> int:
    # A reply's line names the shoppable post it answered and the reply itself.
    network, parent_id, trigger_id = source if source else (None, None, None)
    with shop.app.unit_of_work() as uow:
        customer_id = uow.repository.customer_id(ALICE)
        assert customer_id is not None
        return add_order(
            uow.connection,
            NewOrder(
                customer_id,
                key,
                "paid",
                ALICE,
                Address("Alice", "1 Trail Rd", "", "Leeds", "LS1 1AA", "GB"),
                "test_card",
                f"ref-{key}",
                Decimal("18.00"),
                "EUR",
                shop.clock.now() + timedelta(minutes=minutes),
                [
                    OrderLine(
                        "mug",
                        "Trailhead Enamel Mug",
                        Decimal("18.00"),
                        "EUR",
                        1,
                        network,
                        parent_id,
                        trigger_id,
                    )
                ],
            ),
        )


def outbox(shop: Shop) -> list[dict[str, Any]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(t.outbox).order_by(t.outbox.c.id))
        return [dict(row._mapping) for row in rows]


def notify_by(shop: Shop, how: str) -> None:
    with shop.app.engine.begin() as connection:
        connection.execute(
            update(t.customers).where(t.customers.c.email == ALICE).values(notify_by=how)
        )


def x_order(tweet_id: str = "1800000000000000001") -> bytes:
    return x_tweet(tweet_id, ALICE_X, "alice_x", "@trailhead #order any news?", hashtags=("order",))


def bluesky_order(did: str = ALICE_DID, rkey: str = "3mmorder00001", text: str = "") -> bytes:
    return jetstream_post(did, rkey, text or "@trailhead.bsky.social #order")


# --- #order ---------------------------------------------------------------------------


def test_a_linked_mastodon_shopper_hears_privately_about_their_latest_orders(shop: Shop) -> None:
    first, second = place_order(shop, "a"), place_order(shop, "b", minutes=5)
    shop.ingest([mastodon_status("901", ALICE_MASTODON, "alice", MASTODON_ORDER, tags=("order",))])

    [message] = outbox(shop)
    assert (message["network"], message["channel"]) == ("mastodon", "private")
    assert message["reason"] == "order_status"
    assert message["account_id"] == ALICE_MASTODON and message["in_reply_to"] == "901"
    text = message["text"]
    assert text.startswith("@alice ")  # a direct status reaches the accounts it mentions
    assert f"order {second}" in text and f"order {first}" in text
    assert text.index(f"order {second}") < text.index(f"order {first}")  # newest first
    assert "#order" not in text and "#" not in text.split("(ref")[0]


def test_a_linked_bluesky_shopper_hears_by_chat_and_never_in_public(shop: Shop) -> None:
    number = place_order(shop, "a")
    notify_by(shop, "public_reply")  # what they chose for cart news does not matter here
    shop.ingest([bluesky_order()])

    [message] = outbox(shop)
    assert (message["network"], message["channel"]) == ("bluesky", "private")
    assert message["account_id"] == ALICE_DID
    assert f"order {number}" in message["text"] and "paid" in message["text"]


def test_an_x_shopper_hears_by_email_since_hashcart_has_no_x_direct_message(shop: Shop) -> None:
    number = place_order(shop, "a")
    shop.ingest([x_order()])

    [message] = outbox(shop)
    assert (message["network"], message["channel"]) == ("email", "email")
    assert message["account_id"] == ALICE
    assert message["reason"] == "order_status"
    assert f"order {number}" in message["text"]
    assert "on X" in message["text"]


def test_an_x_api_v2_stream_line_is_answered_the_same_way(shop: Shop) -> None:
    place_order(shop, "a")
    line = x_v2_post(
        "1800000000000000002", ALICE_X, "alice_x", "@trailhead #order", hashtags=("order",)
    )
    shop.ingest([line], source="x-v2.jsonl")
    assert [(m["network"], m["reason"]) for m in outbox(shop)] == [("email", "order_status")]


def test_an_email_only_shopper_hears_by_email_on_mastodon_too(shop: Shop) -> None:
    place_order(shop, "a")
    notify_by(shop, "email_only")
    shop.ingest([mastodon_status("901", ALICE_MASTODON, "alice", MASTODON_ORDER, tags=("order",))])

    assert [(m["network"], m["reason"]) for m in outbox(shop)] == [("email", "order_status")]


def test_the_answer_lists_three_orders_and_counts_the_rest(shop: Shop) -> None:
    numbers = [place_order(shop, key, minutes=i) for i, key in enumerate("abcde")]
    shop.ingest([bluesky_order()])

    [message] = outbox(shop)
    for number in numbers[2:]:
        assert f"order {number}," in message["text"]
    for number in numbers[:2]:
        assert f"order {number}," not in message["text"]
    assert "and 2 more" in message["text"]


def test_a_shipped_order_shows_its_tracking_link_and_the_answer_fits_bluesky(shop: Shop) -> None:
    # Bluesky counts 300 graphemes, links in full: three 100-character links cannot all fit.
    links = [f"{TRACKING}?ref={'x' * 40}{i}" for i in range(3)]
    numbers = [place_order(shop, key, minutes=i) for i, key in enumerate("abc")]
    for number, link in zip(numbers, links, strict=True):
        ship(shop, number, link)
    before = len(outbox(shop))
    shop.ingest([bluesky_order()])

    message = outbox(shop)[before]
    assert message["reason"] == "order_status"
    limit = limit_for(Network.BLUESKY)
    assert limit is not None and limit.fits(message["text"])
    assert links[2] in message["text"]  # the newest, whole: links are never cut
    assert links[0] not in message["text"] and "more" in message["text"]


def test_a_tracking_link_too_long_for_the_network_is_left_to_the_orders_page(shop: Shop) -> None:
    link = f"{TRACKING}?ref={'x' * 240}"
    ship(shop, place_order(shop, "a"), link)
    before = len(outbox(shop))
    shop.ingest([bluesky_order()])

    text = outbox(shop)[before]["text"]
    limit = limit_for(Network.BLUESKY)
    assert limit is not None and limit.fits(text)
    assert "shipped" in text and link not in text and "/orders" in text


def test_a_shopper_without_orders_is_told_so(shop: Shop) -> None:
    shop.ingest([bluesky_order()])
    [message] = outbox(shop)
    assert "no orders" in message["text"]


def test_the_same_post_delivered_twice_is_answered_once(shop: Shop) -> None:
    place_order(shop, "a")
    shop.ingest([x_order(), bluesky_order()])
    stats = shop.ingest([x_order(), bluesky_order()])

    assert len(outbox(shop)) == 2
    assert stats.duplicates == 2


def test_an_unlinked_account_mentioning_the_shop_gets_the_link_prompt_only(shop: Shop) -> None:
    place_order(shop, "a")
    shop.ingest([bluesky_order(STRANGER_DID, "3mmorder00002")])

    [message] = outbox(shop)
    assert message["reason"] == "link_needed" and message["channel"] == "reply"
    assert message["account_id"] == STRANGER_DID
    assert "order 1" not in message["text"] and "paid" not in message["text"]
    assert "/account" in message["text"]


def test_an_unlinked_account_is_prompted_once_a_day(shop: Shop) -> None:
    shop.ingest(
        [
            bluesky_order(STRANGER_DID, "3mmorder00002"),
            bluesky_order(STRANGER_DID, "3mmorder00003"),
        ]
    )
    assert [m["reason"] for m in outbox(shop)] == ["link_needed"]


def test_order_posts_not_mentioning_the_shop_from_strangers_get_nothing(shop: Shop) -> None:
    # A hashtag stream carries everyone's #order (pizza, other shops): silence beats spam.
    shop.ingest([bluesky_order(STRANGER_DID, "3mmorder00002", "#order pizza tonight")])
    assert outbox(shop) == []


def test_a_linked_shopper_s_order_post_not_mentioning_the_shop_asks_nothing(shop: Shop) -> None:
    place_order(shop, "a")
    shop.ingest([bluesky_order(text="#order pizza tonight")])
    assert outbox(shop) == []


def test_where_the_shop_s_handle_is_unknown_a_linked_shopper_is_answered(
    database_url: str,
) -> None:
    shop = Shop(database_url)  # no shop_accounts: nobody can tell what a post mentions
    shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    shop.ingest([bluesky_order(text="#order"), bluesky_order(STRANGER_DID, "3mmorder00002")])
    assert [(m["account_id"], m["reason"]) for m in outbox(shop)] == [(ALICE_DID, "order_status")]


def test_a_cart_reply_is_not_an_order_question(shop: Shop) -> None:
    parent = jetstream_post(SHOP_DID, "3mmbrand00001", f"New: {MUG}", links=(MUG,))
    reply = jetstream_post(
        ALICE_DID, "3mmreply00001", "#cart please", reply_to=post_uri(SHOP_DID, "3mmbrand00001")
    )
    shop.ingest([parent, reply])
    assert [m["reason"] for m in outbox(shop)] == ["added"]


def test_the_order_tag_comes_from_its_setting(database_url: str) -> None:
    shop = Shop(database_url, shop_accounts=SHOP_ACCOUNTS, order_status_tags=("wheresmyorder",))
    shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    shop.ingest([bluesky_order(text="@trailhead.bsky.social #order")])
    assert outbox(shop) == []
    shop.ingest([bluesky_order(rkey="3mmorder00009", text="@trailhead.bsky.social #WheresMyOrder")])
    assert [m["reason"] for m in outbox(shop)] == ["order_status"]


def test_a_shop_whose_cart_tag_is_order_keeps_it_for_the_cart(database_url: str) -> None:
    # Shops chose their tags before this kind existed: its default yields, nothing breaks.
    shop = Shop(database_url, shop_accounts=SHOP_ACCOUNTS, cart_tags=("order",))
    shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    parent = jetstream_post(SHOP_DID, "3mmbrand00001", f"New: {MUG}", links=(MUG,))
    reply = jetstream_post(
        ALICE_DID, "3mmreply00001", "#order", reply_to=post_uri(SHOP_DID, "3mmbrand00001")
    )
    shop.ingest([parent, reply, bluesky_order()])

    assert shop.cart(ALICE) == [("mug", 1)]
    assert [m["reason"] for m in outbox(shop)] == ["added"]
    # The order kind's default yielded to the cart; `#confirm` (buy with a post) is the one
    # addressed tag left.
    assert "order" not in shop.app.shop().addressed_tags
    assert shop.app.shop().addressed_tags == ("confirm",)


def test_the_order_tag_reaches_the_prefilter_the_x_rules_and_the_mastodon_streams(
    shop: Shop,
) -> None:
    engine_shop = shop.app.shop()
    prefilter = Prefilter.for_shop(engine_shop.every_word, engine_shop.hosts)
    assert prefilter.wants(b'{"text":"@trailhead #order?"}')
    rules = desired_rules(
        engine_shop.reply_tags, engine_shop.post_tags, "trailhead", engine_shop.addressed_tags
    )
    # Asked for only in posts that mention the shop, with `#confirm` (buy with a post, also
    # addressed); never in the link rule, which has none.
    assert [rule.value for rule in rules if "#order" in rule.value] == [
        "(#order OR #confirm) @trailhead -is:retweet"
    ]
    assert "mastodon:tag:order" in [stream.cursor for stream in streams_for(engine_shop)]


def test_our_own_messages_never_carry_the_order_tag(shop: Shop) -> None:
    assert "#" not in shop.app.shop().sanitize("see #order and #Order")


# --- shipping ---------------------------------------------------------------------------


def reply_source(shop: Shop) -> tuple[str, str, str]:
    """Alice's `#cart` reply on Mastodon under the shop's post: where her order came from."""
    parent = mastodon_status(
        "800",
        "https://coffee.social/users/trailhead",
        "trailhead",
        f'<p><a href="{MUG}">{MUG}</a></p>',
    )
    reply = mastodon_status(
        "801", ALICE_MASTODON, "alice", "<p>#cart</p>", reply_to="800", tags=("cart",)
    )
    shop.ingest([parent, reply])
    return ("mastodon", "800", "801")


def ship(shop: Shop, order_id: int, tracking: str | None = TRACKING) -> Any:
    return mark_shipped(
        shop.app.unit_of_work, shop.app.shop(), order_id, tracking, shop.clock.now()
    )


def test_marking_shipped_twice_tells_the_shopper_once(shop: Shop) -> None:
    number = place_order(shop, "a")
    first = ship(shop, number)
    second = ship(shop, number, "https://other.carrier-example.com/x")

    assert first.newly and not second.newly
    assert second.tracking_url == TRACKING  # the first marking stands
    shipped = [m for m in outbox(shop) if m["reason"] == "shipped"]
    assert len(shipped) == 1


def test_two_markings_at_once_tell_once(shop: Shop) -> None:
    number = place_order(shop, "a")
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def mark() -> None:
        barrier.wait()
        results.append(ship(shop, number))

    threads = [threading.Thread(target=mark) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(result.newly for result in results) == [False, True]
    assert len([m for m in outbox(shop) if m["reason"] == "shipped"]) == 1


def test_a_web_order_is_announced_by_email_with_the_tracking_link(shop: Shop) -> None:
    number = place_order(shop, "a")
    done = ship(shop, number)

    [message] = outbox(shop)
    assert done.told == "email"
    assert (message["network"], message["reason"]) == ("email", "shipped")
    assert TRACKING in message["text"] and f"/orders/{number}" in message["text"]


def test_a_public_reply_says_it_shipped_without_the_tracking_link(shop: Shop) -> None:
    number = place_order(shop, "a", source=reply_source(shop))
    notify_by(shop, "public_reply")
    ship(shop, number)

    message = outbox(shop)[-1]
    assert (message["network"], message["channel"], message["reason"]) == (
        "mastodon",
        "reply",
        "shipped",
    )
    assert message["in_reply_to"] == "801"
    assert TRACKING not in message["text"] and f"/orders/{number}" in message["text"]


def test_a_private_message_carries_the_tracking_link(shop: Shop) -> None:
    number = place_order(shop, "a", source=reply_source(shop))
    notify_by(shop, "private_message")
    done = ship(shop, number)

    message = outbox(shop)[-1]
    assert (message["network"], message["channel"]) == ("mastodon", "private")
    assert TRACKING in message["text"]
    assert done.told == "private message on Mastodon"


def test_a_refunded_order_is_not_shipped_and_nobody_is_told(shop: Shop) -> None:
    number = place_order(shop, "a")
    with shop.app.unit_of_work() as uow:
        set_status(uow.connection, number, "refunded")
    with pytest.raises(ShipRefused):
        ship(shop, number)
    with pytest.raises(NoSuchOrder):
        ship(shop, 999_999)
    assert outbox(shop) == []


@pytest.mark.parametrize(
    "hostile",
    [
        "javascript:alert(1)",
        "http://track.carrier-example.com/1",
        "https://carrier.com@evil.test/1",
        "https://127.0.0.1/track",
        "https://[::1]/track",
        "https://localhost/track",
        "https://track.carrier-example.com/a b",
        "https://track.carrier-example.com/\x00",
        "https://trаck.carrier-example.com/1",  # Cyrillic а
        "https://track.carrier-example.com/#cart",
        "https://" + "a" * 600 + ".com/",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_hostile_tracking_links_are_refused_and_change_nothing(shop: Shop, hostile: str) -> None:
    number = place_order(shop, "a")
    with pytest.raises(TrackingUrlError):
        ship(shop, number, hostile)
    assert outbox(shop) == []
    with shop.app.engine.connect() as connection:
        assert connection.scalar(select(t.orders.c.shipped_at)) is None


# --- listing ---------------------------------------------------------------------------


def test_api_orders_show_the_source_post_and_shipping(shop: Shop) -> None:
    social = place_order(shop, "a", source=reply_source(shop))
    web = place_order(shop, "b", minutes=1)
    ship(shop, social)
    with shop.app.engine.connect() as connection:
        found = {order["id"]: order for order in api_reads.orders(connection)}

    assert found[social]["source_post"] == {
        "network": "mastodon",
        "post_id": "801",
        "author_id": ALICE_MASTODON,
        "author_handle": "alice",
        "parent_post_id": "800",
    }
    assert found[social]["tracking_url"] == TRACKING and found[social]["shipped_at"] is not None
    assert found[web]["source_post"] is None and found[web]["shipped_at"] is None


def test_the_orders_commands_list_and_ship(shop: Shop, database_url: str) -> None:
    number = place_order(shop, "a")
    env = {"HASHCART_DATABASE_URL": database_url}

    done = run_cli(["orders", "ship", str(number), "--tracking", TRACKING], env=env)
    assert done.exit_code == 0 and "marked shipped" in done.stdout
    again = run_cli(["orders", "ship", str(number)], env=env)
    assert again.exit_code == 0 and "already shipped" in again.stdout
    listed = run_cli(["orders", "--customer", ALICE, "--json"], env=env)
    assert listed.exit_code == 0
    assert '"tracking_url":"https://track.carrier-example.com' in listed.stdout

    bad = run_cli(["orders", "ship", str(number), "--tracking", "javascript:alert(1)"], env=env)
    assert bad.exit_code == 2 and "https://" in bad.stderr
    missing = run_cli(["orders", "ship", "424242"], env=env)
    assert missing.exit_code == 2 and "no order 424242" in missing.stderr
    nobody = run_cli(["orders", "--customer", "nobody@example.com"], env=env)
    assert nobody.exit_code == 2


# --- hostile input ----------------------------------------------------------------------


def test_hostile_order_posts_are_dead_lettered_or_ignored_and_the_rest_is_answered(
    shop: Shop,
) -> None:
    place_order(shop, "a")
    hostile = [
        bluesky_order(rkey="3" + "m" * 400),  # an id longer than any column
        bluesky_order(rkey="3mmorder00011", text="@trailhead.bsky.social #order \x00"),
        bluesky_order(rkey="3mmorder00012", text="@trailhead.bsky.social #ord\u200ber"),
        b'{"kind":"commit","did":"' + ALICE_DID.encode() + b'","commit":{"text":"#order \xff"}}',
        x_tweet("1" * 40, ALICE_X, "alice_x", "@trailhead #order", hashtags=("order",)),
    ]
    shop.ingest([*hostile, x_order()])

    answered = [m for m in outbox(shop) if m["reason"] == "order_status"]
    assert [m["network"] for m in answered] == ["email"]  # the well-formed X post only
    assert len(shop.dead_letters()) >= 3


def test_an_order_post_from_a_handle_of_control_characters_is_answered_without_them(
    shop: Shop,
) -> None:
    place_order(shop, "a")
    status = mastodon_status(
        "902", ALICE_MASTODON, "ali\u202ece\n@x", MASTODON_ORDER, tags=("order",)
    )
    shop.ingest([status])
    [message] = outbox(shop)
    assert "\u202e" not in message["text"] and "\n" not in message["text"]
