"""Variants (issue 12, "Also"): catalog rows sharing an `item_group_id` are one product's
colours and sizes; a reply's words pick one, or the shopper is asked (`which_variant`).
The catalog comes in through the feed import; replies through each network's payloads; on
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from hashcart.services.feed_import import import_feed
from hashcart.store.repository import transaction
from tests.harness import HOST, Shop
from tests.integration.social import SHOPPERS, UNLINKED

ALICE = "alice@example.com"
NETWORKS = sorted(SHOPPERS)
TEE = f"https://{HOST}/products/trail-tee"
BOOT = f"https://{HOST}/products/ridge-boot"
MUG = f"https://{HOST}/products/enamel-mug"

# Google Merchant Center columns; the tee's variants have links of their own, the boot's
# share one (both are how shops write feeds).
FEED = f"""id,title,link,price,availability,item_group_id,color,size
tee-red-s,Trail Tee - Red / S,{TEE}?variant=101,25.00 USD,in_stock,TEE1,Red,S
tee-red-m,Trail Tee - Red / M,{TEE}?variant=102,25.00 USD,in_stock,TEE1,Red,M
tee-navy-m,Trail Tee - Navy Blue / M,{TEE}?variant=103,25.00 USD,in_stock,TEE1,Navy Blue,M
tee-blue-l,Trail Tee - Blue / L,{TEE}?variant=104,25.00 USD,out_of_stock,TEE1,Blue,L
boot-9,Ridge Boot 9,{BOOT},120.00 USD,in_stock,BOOT,,9
boot-10,Ridge Boot 10,{BOOT},120.00 USD,in_stock,BOOT,,10
boot-10-5,Ridge Boot 10.5,{BOOT},120.00 USD,in_stock,BOOT,,10.5
""".encode()


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    with transaction(shop.app.engine) as repo:
        report = import_feed(repo, FEED, shop.clock.now())
    assert (report.imported, report.skipped) == (7, [])
    shop.customer(ALICE, *[(s.network, s.account_id, s.handle) for s in SHOPPERS.values()])
    return shop


def ask(shop: Shop, network: str, text: str, *links: str) -> None:
    alice = SHOPPERS[network]
    parent = alice.key()
    shop.ingest([alice.parent(parent, links or (TEE,)), alice.reply(alice.key(), parent, text)])


@pytest.mark.parametrize("network", NETWORKS)
def test_colour_and_size_words_pick_the_variant(shop: Shop, network: str) -> None:
    ask(shop, network, "#cart red M")

    assert shop.cart(ALICE) == [("tee-red-m", 1)]
    assert shop.reasons() == ["added"]
    assert "Trail Tee - Red / M" in shop.outbox()[0]["text"]


@pytest.mark.parametrize("network", NETWORKS)
def test_a_group_link_without_a_choice_asks_which_variant_and_adds_nothing(
    shop: Shop, network: str
) -> None:
    ask(shop, network, "#cart")

    assert shop.cart(ALICE) == []
    [message] = shop.outbox()
    assert message["reason"] == "which_variant"
    text = message["text"]
    assert "Trail Tee comes in several versions" in text
    assert "color Blue, Navy Blue, Red; size S, M, L" in text
    assert "for example Blue L" in text  # a variant the shop has
    assert "#cart" not in text.lower()


def test_a_link_to_one_variant_still_asks_when_the_words_do_not_settle_it(shop: Shop) -> None:
    ask(shop, "bluesky", "#cart please", f"{TEE}?variant=102")

    assert shop.cart(ALICE) == []
    assert shop.reasons() == ["which_variant"]


def test_a_size_two_colours_share_asks_for_the_colour_only(shop: Shop) -> None:
    ask(shop, "x", "#cart M")

    [message] = shop.outbox()
    assert message["reason"] == "which_variant"
    assert "color Navy Blue, Red" in message["text"]
    assert "for example Navy Blue." in message["text"]
    assert "size" not in message["text"]


def test_a_colour_of_two_words_and_a_quantity(shop: Shop) -> None:
    ask(shop, "mastodon", "#cart navy blue m x2")

    assert shop.cart(ALICE) == [("tee-navy-m", 2)]


def test_words_match_in_any_case_and_width(shop: Shop) -> None:
    ask(shop, "bluesky", "#cart ＲＥＤ ｍ")

    assert shop.cart(ALICE) == [("tee-red-m", 1)]


def test_a_cyrillic_lookalike_is_not_the_size(shop: Shop) -> None:
    ask(shop, "bluesky", "#cart red \u041c")  # CYRILLIC CAPITAL LETTER EM

    assert shop.cart(ALICE) == []
    [message] = shop.outbox()
    assert message["reason"] == "which_variant"
    assert "size S, M" in message["text"]


def test_a_size_with_a_zero_width_space_matches_nothing(shop: Shop) -> None:
    ask(shop, "x", "#cart red M\u200b")

    assert shop.cart(ALICE) == []
    assert shop.reasons() == ["which_variant"]


def test_the_number_after_the_tag_under_one_product_in_sizes_is_a_size(shop: Shop) -> None:
    ask(shop, "bluesky", "#cart 10", BOOT)
    ask(shop, "x", "#cart 10.5 please", BOOT)

    assert sorted(shop.cart(ALICE)) == [("boot-10", 1), ("boot-10-5", 1)]


def test_under_a_post_of_several_products_the_position_picks_and_the_words_choose(
    shop: Shop,
) -> None:
    ask(shop, "mastodon", "#cart 1 red S", TEE, MUG)
    ask(shop, "mastodon", "#cart 2", TEE, MUG)

    assert sorted(shop.cart(ALICE)) == [("mug", 1), ("tee-red-s", 1)]


def test_links_to_two_variants_of_a_group_are_one_product(shop: Shop) -> None:
    ask(shop, "bluesky", "#cart red s", f"{TEE}?variant=102", f"{TEE}?variant=103")

    assert shop.cart(ALICE) == [("tee-red-s", 1)]


def test_an_out_of_stock_variant_is_unavailable(shop: Shop) -> None:
    ask(shop, "x", "#cart blue L")

    assert shop.cart(ALICE) == []
    assert shop.reasons() == ["unavailable"]


def test_remove_takes_out_the_variant_the_words_name(shop: Shop) -> None:
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest(
        [
            alice.parent(parent, (TEE,)),
            alice.reply(alice.key(), parent, "#cart red S"),
            alice.reply(alice.key(), parent, "#cart red M", minutes=6),
        ]
    )

    shop.ingest([alice.reply(alice.key(), parent, "#cart remove red M", minutes=7)])

    assert shop.cart(ALICE) == [("tee-red-s", 1)]
    assert shop.reasons() == ["added", "added", "removed"]


def test_an_unlinked_shoppers_request_waits_for_the_variant_it_named(shop: Shop) -> None:
    bob = UNLINKED["mastodon"]
    parent = bob.key()
    shop.ingest([bob.parent(parent, (TEE,)), bob.reply(bob.key(), parent, "#cart Red S")])

    [waiting] = shop.pending()
    assert waiting["product_id"] == "tee-red-s"
    shop.customer("bob@example.com", (bob.network, bob.account_id, bob.handle))
    assert shop.cart("bob@example.com") == [("tee-red-s", 1)]


def test_a_trigger_waiting_for_its_parent_keeps_its_words(shop: Shop) -> None:
    alice = SHOPPERS["x"]
    parent = alice.key()
    shop.ingest([alice.reply(alice.key(), parent, "#cart navy blue M")])

    shop.ingest([alice.parent(parent, (TEE,))])

    assert shop.cart(ALICE) == [("tee-navy-m", 1)]


def test_the_wish_list_picks_variants_the_same_way(shop: Shop) -> None:
    ask(shop, "bluesky", "#wishlist blue L")

    assert shop.wishlist(ALICE) == ["tee-blue-l"]  # a wish list takes what is out of stock


def test_a_feed_without_the_variant_columns_takes_products_out_of_their_groups(
    shop: Shop,
) -> None:
    plain = f"id,title,link,availability\ntee-red-m,Trail Tee Red M,{TEE}?variant=102,in_stock\n"
    with transaction(shop.app.engine) as repo:
        import_feed(repo, plain.encode(), shop.clock.now())
        variants = {row[0]: row for row in repo.product_variants()}

    assert "tee-red-m" not in variants and "tee-red-s" in variants


def test_a_nul_and_a_huge_reply_are_read_safely_on_every_database(shop: Shop) -> None:
    """A reply with a NUL is dead-lettered at decoding, as before (PostgreSQL refuses NUL in
    text; the choice words drop it besides), and a reply of thousands of words stores a
    bounded few and still picks its variant."""
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest(
        [
            alice.parent(parent, (TEE,)),
            alice.reply(alice.key(), parent, "#cart red\x00 M\x00 navy blue"),
            alice.reply(alice.key(), parent, "#cart red S " + "la " * 5000, minutes=6),
        ]
    )

    [letter] = shop.dead_letters()
    assert "NUL" in letter["reason"]
    assert shop.cart(ALICE) == [("tee-red-s", 1)]
    assert shop.reasons() == ["added"]


def test_which_product_names_a_group_by_what_its_variants_share(shop: Shop) -> None:
    ask(shop, "x", "#cart", TEE, MUG)

    [message] = shop.outbox()
    assert message["reason"] == "which_product"
    assert "(1 Trail Tee; 2 Trailhead Enamel Mug)" in message["text"]
