"""The engine end to end on a real database (each test runs on SQLite and on PostgreSQL):
payload lines in, cart lines, wish-list entries, pending intents and queued messages out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hashcart.domain.posts import Network
from tests.harness import HOST, Shop
from tests.payloads import (
    SHOP_DID,
    jetstream_delete,
    jetstream_like,
    jetstream_post,
    mastodon_status,
    post_uri,
    x_tweet,
)

ALICE_DID = "did:plc:alice0000000000000000000"
BOB_DID = "did:plc:bob000000000000000000000"
MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"
KETTLE = f"https://{HOST}/products/gooseneck-kettle"
BRAND_RKEY = "3mmbrand00001"
BRAND_POST = post_uri(SHOP_DID, BRAND_RKEY)


def brand_post(
    rkey: str = BRAND_RKEY, links: tuple[str, ...] = (MUG,), minutes: float = 0
) -> bytes:
    return jetstream_post(
        SHOP_DID, rkey, "New in: " + " ".join(links), links=links, minutes=minutes
    )


def reply(did: str, rkey: str, text: str, parent: str = BRAND_POST, minutes: float = 5) -> bytes:
    return jetstream_post(did, rkey, text, reply_to=parent, minutes=minutes)


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
    return shop


def test_a_linked_shoppers_cart_reply_adds_the_product_and_queues_a_confirmation(
    shop: Shop,
) -> None:
    stats = shop.ingest([brand_post(), reply(ALICE_DID, "3mmreply00001", "#cart please")])

    assert shop.cart("alice@example.com") == [("mug", 1)]
    [message] = shop.outbox()
    assert message["reason"] == "added"
    assert message["network"] == "bluesky"
    assert message["account_id"] == ALICE_DID
    assert message["in_reply_to"] == post_uri(ALICE_DID, "3mmreply00001")
    assert "Trailhead Enamel Mug" in message["text"]
    assert "#cart" not in message["text"].lower()
    assert stats.triggers == 1 and stats.actions.lines_added == 1


def test_the_same_trigger_delivered_twice_acts_once(shop: Shop) -> None:
    trigger = reply(ALICE_DID, "3mmreply00001", "#cart")
    shop.ingest([brand_post(), trigger, trigger])
    shop.ingest([trigger])

    assert shop.cart("alice@example.com") == [("mug", 1)]
    assert shop.reasons() == ["added"]


def test_a_reply_that_arrives_before_its_parent_acts_when_the_parent_arrives(shop: Shop) -> None:
    first = shop.ingest([reply(ALICE_DID, "3mmreply00001", "#cart")])
    assert shop.cart("alice@example.com") == []
    assert first.waiting_for_parent == 1

    shop.ingest([brand_post()])

    assert shop.cart("alice@example.com") == [("mug", 1)]
    assert shop.reasons() == ["added"]


def test_asking_again_for_a_product_already_in_the_cart_changes_nothing_and_says_so(
    shop: Shop,
) -> None:
    other_post = post_uri(SHOP_DID, "3mmbrand00002")
    shop.ingest(
        [
            brand_post(),
            brand_post("3mmbrand00002"),
            reply(ALICE_DID, "3mmreply00001", "#cart"),
            reply(ALICE_DID, "3mmreply00002", "#cart x3", parent=other_post, minutes=6),
        ]
    )

    assert shop.cart("alice@example.com") == [("mug", 1)]
    assert shop.reasons() == ["added", "already_in_cart"]
    assert len({message["text"] for message in shop.outbox()}) == 2


def test_out_of_stock_gives_no_cart_line_but_the_wish_list_still_takes_it(shop: Shop) -> None:
    kettle_post = post_uri(SHOP_DID, "3mmbrand00003")
    shop.ingest(
        [
            brand_post("3mmbrand00003", links=(KETTLE,)),
            reply(ALICE_DID, "3mmreply00001", "#cart", parent=kettle_post),
            reply(ALICE_DID, "3mmreply00002", "#wishlist", parent=kettle_post, minutes=6),
        ]
    )

    assert shop.cart("alice@example.com") == []
    assert shop.wishlist("alice@example.com") == ["kettle"]
    assert shop.reasons() == ["unavailable", "wishlisted"]
    assert "Gooseneck Kettle" in shop.outbox()[0]["text"]


def test_a_trigger_on_a_post_without_a_shop_product_gets_no_reply_only_a_count(shop: Shop) -> None:
    elsewhere = post_uri(SHOP_DID, "3mmbrand00004")
    stats = shop.ingest(
        [
            jetstream_post(
                SHOP_DID,
                "3mmbrand00004",
                "our story https://shop.example/about",
                links=("https://shop.example/about",),
            ),
            reply(ALICE_DID, "3mmreply00001", "#cart", parent=elsewhere),
        ]
    )

    assert shop.outbox() == []
    assert shop.cart("alice@example.com") == []
    assert stats.actions.no_product == 1


def test_an_unlinked_shopper_gets_one_link_needed_a_day_and_the_link_applies_their_requests(
    shop: Shop,
) -> None:
    beans_post = post_uri(SHOP_DID, "3mmbrand00005")
    shop.ingest(
        [
            brand_post(),
            brand_post("3mmbrand00005", links=(BEANS,)),
            reply(BOB_DID, "3mmbob0000002", "#cart", parent=beans_post, minutes=30),
            reply(BOB_DID, "3mmbob0000001", "#cart x2", minutes=10),
        ]
    )
    assert shop.cart("bob@example.com") == []
    assert [p["status"] for p in shop.pending()] == ["waiting", "waiting"]
    assert shop.reasons() == ["link_needed"]

    shop.customer("bob@example.com")
    result = shop.link("bob@example.com", Network.BLUESKY, BOB_DID, "bob.bsky.social")

    assert result.applied == 2
    # Applied in the order Bob made them (by the triggers' own times), each confirmed.
    assert shop.cart("bob@example.com") == [("mug", 2), ("beans", 1)]
    assert shop.reasons() == ["link_needed", "pending_applied", "pending_applied"]
    assert [p["status"] for p in shop.pending()] == ["applied", "applied"]


def test_link_needed_is_sent_again_on_a_later_day_of_the_triggers_own_times(shop: Shop) -> None:
    shop.ingest(
        [
            brand_post(),
            brand_post("3mmbrand00005", links=(BEANS,)),
            reply(BOB_DID, "3mmbob0000001", "#cart", minutes=10),
            reply(
                BOB_DID,
                "3mmbob0000002",
                "#cart",
                parent=post_uri(SHOP_DID, "3mmbrand00005"),
                minutes=10 + 24 * 60,
            ),
        ]
    )
    assert shop.reasons() == ["link_needed", "link_needed"]


def test_a_pending_intent_past_its_expiry_is_not_applied_on_link(shop: Shop) -> None:
    shop.ingest([brand_post(), reply(BOB_DID, "3mmbob0000001", "#cart", minutes=10)])
    shop.clock.advance(timedelta(days=8))
    shop.customer("bob@example.com")

    result = shop.link("bob@example.com", Network.BLUESKY, BOB_DID, "bob.bsky.social")

    assert (result.applied, result.expired) == (0, 1)
    assert shop.cart("bob@example.com") == []
    assert [p["status"] for p in shop.pending()] == ["expired"]


def test_a_post_with_two_products_asks_which_unless_the_reply_names_a_position(shop: Shop) -> None:
    pair = post_uri(SHOP_DID, "3mmbrand00006")
    shop.ingest(
        [
            brand_post("3mmbrand00006", links=(MUG, BEANS)),
            reply(ALICE_DID, "3mmreply00001", "#cart", parent=pair),
        ]
    )
    assert shop.cart("alice@example.com") == []
    [question] = shop.outbox()
    assert question["reason"] == "which_product"
    assert "Trailhead Enamel Mug" in question["text"] and "Summit Roast" in question["text"]

    shop.ingest([reply(ALICE_DID, "3mmreply00002", "#cart 2", parent=pair, minutes=7)])
    assert shop.cart("alice@example.com") == [("beans", 1)]


def test_quantity_words_set_the_quantity_up_to_the_configured_cap(database_url: str) -> None:
    shop = Shop(database_url, max_quantity=3)
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE_DID, "alice"))
    shop.ingest([brand_post(), reply(ALICE_DID, "3mmreply00001", "#cart qty 9")])
    assert shop.cart("alice@example.com") == [("mug", 3)]


def test_a_quote_of_a_product_post_triggers_like_a_reply(shop: Shop) -> None:
    quote = jetstream_post(
        ALICE_DID, "3mmquote00001", "#cart this one", quote_of=BRAND_POST, minutes=3
    )
    shop.ingest([brand_post(), quote])
    assert shop.cart("alice@example.com") == [("mug", 1)]


def test_a_retweet_of_a_trigger_never_triggers(database_url: str) -> None:
    shop = Shop(database_url)
    shop.customer("carol@example.com", (Network.X, "2002", "carol"))
    parent = x_tweet("1001", "900", "trailhead", f"New mug {MUG}", links=(MUG,))
    retweet = x_tweet(
        "1003",
        "2002",
        "carol",
        "RT @dave: #cart",
        hashtags=("cart",),
        retweet_of={"id_str": "1001"},
        minutes=2,
    )
    shop.ingest([parent, retweet])
    assert shop.cart("carol@example.com") == []
    assert shop.outbox() == []


def test_x_and_mastodon_triggers_add_lines_for_their_stable_account_ids(database_url: str) -> None:
    shop = Shop(database_url)
    dana_uri = "https://social.example/users/dana"
    shop.customer(
        "dana@example.com", (Network.X, "3003", "dana_x"), (Network.MASTODON, dana_uri, "dana")
    )
    x_parent = x_tweet("1001", "900", "trailhead", f"New mug {MUG}", links=(MUG,))
    x_trigger = x_tweet(
        "1002", "3003", "renamed_handle", "#Cart", reply_to="1001", hashtags=("Cart",), minutes=1
    )
    link = f'<a href="{BEANS}" rel="nofollow noopener" target="_blank">{BEANS}</a>'
    m_parent = mastodon_status(
        "111", "https://social.example/users/trailhead", "trailhead", f"<p>Fresh roast {link}</p>"
    )
    m_trigger = mastodon_status(
        "112",
        dana_uri,
        "dana",
        '<p><a href="https://social.example/tags/cart" class="mention hashtag" rel="tag">'
        "#<span>cart</span></a></p>",
        reply_to="111",
        tags=("cart",),
        minutes=2,
    )

    shop.ingest([x_parent, x_trigger, m_parent, m_trigger])

    assert shop.cart("dana@example.com") == [("mug", 1), ("beans", 1)]


def test_deleting_the_trigger_keeps_the_line_and_erases_the_stored_text(shop: Shop) -> None:
    shop.ingest([brand_post(), reply(ALICE_DID, "3mmreply00001", "#cart my secret note")])
    shop.ingest([jetstream_delete(ALICE_DID, "3mmreply00001", minutes=9)])

    assert shop.cart("alice@example.com") == [("mug", 1)]
    assert shop.post_text(Network.BLUESKY, post_uri(ALICE_DID, "3mmreply00001")) is None


def test_a_deletion_that_arrives_first_still_erases_the_text(shop: Shop) -> None:
    shop.ingest([jetstream_delete(ALICE_DID, "3mmreply00001", minutes=9)])
    shop.ingest([brand_post(), reply(ALICE_DID, "3mmreply00001", "#cart my secret note")])
    assert shop.post_text(Network.BLUESKY, post_uri(ALICE_DID, "3mmreply00001")) is None


def test_only_the_first_version_of_an_edited_post_counts(shop: Shop) -> None:
    edited = jetstream_post(
        ALICE_DID, "3mmreply00001", "#cart", reply_to=BRAND_POST, operation="update"
    )
    stats = shop.ingest([brand_post(), edited])
    assert shop.cart("alice@example.com") == []
    # Both lines were posts; the edit is counted apart, not as a skipped line.
    assert (stats.lines, stats.posts, stats.skipped) == (2, 2, 0)
    assert stats.edits_and_reposts == 1


def test_a_shop_can_use_its_own_trigger_tag(database_url: str) -> None:
    shop = Shop(database_url, cart_tags=("AmazonCart",))
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE_DID, "alice"))
    shop.ingest(
        [
            brand_post(),
            reply(ALICE_DID, "3mmreply00001", "#cart"),
            reply(ALICE_DID, "3mmreply00002", "#amazoncart", minutes=6),
        ]
    )
    assert shop.cart("alice@example.com") == [("mug", 1)]
    assert shop.reasons() == ["added"]


def test_bad_lines_go_to_dead_letters_and_the_rest_of_the_file_goes_on(shop: Shop) -> None:
    from hashcart.sources import MAX_LINE_BYTES, Oversized

    lines = [
        b'{"did": "did:plc:x", "kind": "commit", ',  # malformed JSON
        b'{"text": "caf\xc3\x28"}',  # invalid UTF-8
        Oversized(b"{" + b" " * 100),  # a line over 1 MiB
        b'["a", "list", "not", "an", "object"]',  # wrong shape
        # a post event of the wrong shape (the prefilter decodes it: it says #cart)
        b'{"did": 5, "kind": "commit", "commit": {"collection": "app.bsky.feed.post",'
        b' "record": {"text": "#cart"}}}',
        brand_post(),
        jetstream_like(BOB_DID, BRAND_POST),
        reply(ALICE_DID, "3mmreply00001", "#cart"),
    ]
    stats = shop.ingest(lines, source="mixed.jsonl")

    letters = shop.dead_letters()
    assert [(d["source"], d["line"]) for d in letters] == [("mixed.jsonl", n) for n in range(1, 6)]
    assert "malformed JSON" in letters[0]["reason"]
    assert "UTF-8" in letters[1]["reason"]
    assert "1 MiB" in letters[2]["reason"]
    assert stats.dead_letters == 5
    assert shop.cart("alice@example.com") == [("mug", 1)]
    assert MAX_LINE_BYTES == 1024 * 1024


def test_noise_lines_get_a_framing_check_and_a_full_json_check_on_request(shop: Shop) -> None:
    noise = b'{"did": "did:plc:x", "kind": "commit", "commit": {"rev": }}'  # braced, not JSON
    cut_short = b'{"did": "did:plc:x", "kind": "comm'

    shop.ingest([noise, cut_short], source="fast.jsonl")
    assert [(d["source"], d["line"]) for d in shop.dead_letters()] == [("fast.jsonl", 2)]

    shop.ingest([noise, cut_short], source="strict.jsonl", validate_all=True)
    assert [(d["source"], d["line"]) for d in shop.dead_letters()][1:] == [
        ("strict.jsonl", 1),
        ("strict.jsonl", 2),
    ]


def test_events_that_are_not_posts_are_skipped_and_counted_not_dead_lettered(shop: Shop) -> None:
    identity = (
        b'{"did":"did:plc:alice0000000000000000000","time_us":1779719009132431,'
        b'"kind":"identity","identity":{"did":"did:plc:alice0000000000000000000",'
        b'"handle":"alice.bsky.social","seq":1,"time":"2026-11-20T12:00:00.000Z"}}'
    )
    stats = shop.ingest([jetstream_like(BOB_DID, BRAND_POST), identity, brand_post()])
    assert stats.skipped == 2
    assert stats.posts == 1
    assert shop.dead_letters() == []


def test_messages_never_carry_a_trigger_tag_even_when_the_product_name_does(
    database_url: str,
) -> None:
    from sqlalchemy import update

    from hashcart.domain.triggers import TriggerWords, parse_trigger
    from hashcart.store.schema import products

    shop = Shop(database_url)
    shop.customer("alice@example.com", (Network.BLUESKY, ALICE_DID, "alice"))
    hostile = 'Mug #cart ＃wishlist <script>alert("x")</script> #CART\u200b'
    with shop.app.engine.begin() as connection:
        connection.execute(
            update(products).where(products.c.product_id == "mug").values(title=hostile)
        )
    shop.ingest([brand_post(), reply(ALICE_DID, "3mmreply00001", "#cart")])

    [message] = shop.outbox()
    assert "Mug" in message["text"] and "<script>" in message["text"]  # named, as the feed says
    assert parse_trigger(message["text"], None, TriggerWords(), 10) is None


def test_counts_and_line_numbers_carry_across_blocks(shop: Shop, tmp_path: Path) -> None:
    from hashcart.services.ingest import Ingestor
    from hashcart.sources import read_blocks

    lines = [jetstream_like(BOB_DID, BRAND_POST), brand_post(), b"{broken"] * 40
    (tmp_path / "feed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    ingestor = Ingestor(
        shop.app.unit_of_work, shop.app.shop(), shop.clock, reader=shop.app.payload_reader
    )
    with (tmp_path / "feed.jsonl").open("rb") as stream:
        ingestor.ingest_blocks("feed.jsonl", read_blocks(stream, block_bytes=1000))

    assert ingestor.stats.lines == 120
    assert (ingestor.stats.posts, ingestor.stats.skipped) == (40, 40)
    assert [d["line"] for d in shop.dead_letters()] == list(range(3, 121, 3))


@pytest.mark.parametrize(
    "link",
    [
        "https://shоp.example/products/enamel-mug",  # Cyrillic о: a homograph
        "https://xn--shp-sdd.example/products/enamel-mug",  # the same, in punycode
        "https://shop.example.evil.test/products/enamel-mug",
        "https://evil-shop.example/products/enamel-mug",
        "https://shop.example@evil.test/products/enamel-mug",
    ],
)
def test_a_lookalike_shop_link_never_puts_anything_in_a_cart(shop: Shop, link: str) -> None:
    fake = post_uri(SHOP_DID, "3mmfake000001")
    shop.ingest(
        [
            jetstream_post(
                SHOP_DID, "3mmfake000001", f"<script>alert(1)</script> {link}", links=(link,)
            ),
            reply(ALICE_DID, "3mmreply00001", "#cart", parent=fake),
        ]
    )
    assert shop.cart("alice@example.com") == []
    assert shop.outbox() == []


@pytest.mark.parametrize("text", ["#ca\u200brt", "#carts", "#cartel", "#кart", "cart"])
def test_tags_that_only_look_like_the_trigger_do_nothing(shop: Shop, text: str) -> None:
    stats = shop.ingest([brand_post(), reply(ALICE_DID, "3mmreply00001", text)])
    assert stats.triggers == 0
    assert shop.cart("alice@example.com") == [] and shop.outbox() == []
