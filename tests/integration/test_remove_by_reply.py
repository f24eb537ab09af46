"""`#cart remove` / `#cart undo` under a product post takes it out of the cart (issue 12,
"Also"), through each network's payloads, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from hashcart.domain.messages import Reason
from tests.harness import HOST, Shop
from tests.integration.social import SHOPPERS, UNLINKED

MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"
ALICE = "alice@example.com"
NETWORKS = sorted(SHOPPERS)


@pytest.fixture
def shop(database_url: str) -> Shop:
    shop = Shop(database_url)
    shop.customer(ALICE, *[(s.network, s.account_id, s.handle) for s in SHOPPERS.values()])
    return shop


@pytest.mark.parametrize("network", NETWORKS)
def test_cart_remove_under_the_same_post_takes_the_line_out(shop: Shop, network: str) -> None:
    alice = SHOPPERS[network]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#cart x2")])
    assert shop.cart(ALICE) == [("mug", 2)]

    remove = alice.key()
    stats = shop.ingest([alice.reply(remove, parent, "#cart remove", minutes=7)])

    assert shop.cart(ALICE) == []
    assert shop.reasons() == ["added", "removed"]
    message = shop.outbox()[-1]
    assert message["in_reply_to"] == alice.post_id(remove)
    assert "Removed Trailhead Enamel Mug from your cart" in message["text"]
    assert "#cart" not in message["text"].lower()
    assert stats.actions.removed == 1


@pytest.mark.parametrize("network", NETWORKS)
def test_cart_undo_is_the_same_as_remove(shop: Shop, network: str) -> None:
    alice = SHOPPERS[network]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#cart")])

    shop.ingest([alice.reply(alice.key(), parent, "#Cart UNDO", minutes=7)])

    assert shop.cart(ALICE) == []
    assert shop.reasons() == ["added", "removed"]


def test_remove_when_the_product_is_not_in_the_cart_says_so_and_changes_nothing(
    shop: Shop,
) -> None:
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG, BEANS)), alice.reply(alice.key(), parent, "#cart 2")])

    shop.ingest([alice.reply(alice.key(), parent, "#cart remove 1", minutes=7)])

    assert shop.cart(ALICE) == [("beans", 1)]
    assert shop.reasons() == ["added", "not_in_cart"]
    assert "was not in your cart" in shop.outbox()[-1]["text"]


def test_remove_picks_by_position_like_cart(shop: Shop) -> None:
    alice = SHOPPERS["x"]
    parent = alice.key()
    shop.ingest(
        [
            alice.parent(parent, (MUG, BEANS)),
            alice.reply(alice.key(), parent, "#cart 1"),
            alice.reply(alice.key(), parent, "#cart 2"),
        ]
    )

    shop.ingest([alice.reply(alice.key(), parent, "#cart remove 2", minutes=7)])

    assert shop.cart(ALICE) == [("mug", 1)]


def test_a_redelivered_remove_acts_once(shop: Shop) -> None:
    alice = SHOPPERS["mastodon"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#cart")])
    remove = alice.reply(alice.key(), parent, "#cart remove", minutes=7)
    shop.ingest([remove])
    # The shopper adds it again; the old remove, delivered again, must not take it out.
    shop.ingest([alice.reply(alice.key(), parent, "#cart", minutes=8)])
    stats = shop.ingest([remove, remove])

    assert shop.cart(ALICE) == [("mug", 1)]
    assert shop.reasons() == ["added", "removed", "added"]
    assert stats.duplicates == 2


def test_remove_needs_the_word_right_after_the_tag(shop: Shop) -> None:
    """`#cart please remove` and `#cart removed` are cart requests: only the word right
    after the tag asks for another kind, as a position does."""
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#cart")])

    shop.ingest(
        [
            alice.reply(alice.key(), parent, "#cart please remove", minutes=7),
            alice.reply(alice.key(), parent, "#cart removed", minutes=8),
        ]
    )

    assert shop.cart(ALICE) == [("mug", 1)]
    assert shop.reasons() == ["added", "already_in_cart", "already_in_cart"]


def test_remove_is_no_tag_of_its_own(shop: Shop) -> None:
    """`#remove` is a hashtag like any other: the remove kind has words, not tags."""
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#cart")])

    stats = shop.ingest([alice.reply(alice.key(), parent, "#remove", minutes=7)])

    assert stats.triggers == 0 and shop.cart(ALICE) == [("mug", 1)]
    assert "remove" not in shop.app.shop().every_tag


def test_remove_under_a_post_never_touches_the_wish_list(shop: Shop) -> None:
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#wishlist")])

    shop.ingest([alice.reply(alice.key(), parent, "#cart remove", minutes=7)])

    assert shop.wishlist(ALICE) == ["mug"]
    assert shop.reasons() == ["wishlisted", "not_in_cart"]


@pytest.mark.parametrize("network", NETWORKS)
def test_an_unlinked_shoppers_remove_takes_back_the_waiting_request(
    shop: Shop, network: str
) -> None:
    bob = UNLINKED[network]
    parent = bob.key()
    shop.ingest([bob.parent(parent, (MUG,)), bob.reply(bob.key(), parent, "#cart")])
    [waiting] = shop.pending()
    assert waiting["status"] == "waiting"

    shop.ingest([bob.reply(bob.key(), parent, "#cart remove", minutes=7)])

    [taken_back] = shop.pending()
    assert taken_back["status"] == "removed"
    assert shop.reasons() == ["link_needed", "removed"]
    # Linking later adds nothing: the request was taken back.
    shop.customer("bob@example.com", (bob.network, bob.account_id, bob.handle))
    assert shop.cart("bob@example.com") == []
    assert shop.reasons() == ["link_needed", "removed"]


def test_an_unlinked_shopper_with_nothing_waiting_hears_it_was_not_there(shop: Shop) -> None:
    bob = UNLINKED["x"]
    parent = bob.key()
    shop.ingest([bob.parent(parent, (MUG,)), bob.reply(bob.key(), parent, "#cart remove")])

    assert shop.pending() == []
    assert shop.reasons() == [Reason.NOT_IN_CART.value]


def test_a_shopper_who_wants_email_hears_of_the_removal_by_email(shop: Shop) -> None:
    from sqlalchemy import update

    from hashcart.store.schema import customers

    with shop.app.engine.begin() as connection:
        connection.execute(update(customers).values(notify_by="email_only"))
    alice = SHOPPERS["bluesky"]
    parent = alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(alice.key(), parent, "#cart")])
    shop.ingest([alice.reply(alice.key(), parent, "#cart remove", minutes=7)])

    [_added, removed] = shop.outbox()
    assert (removed["network"], removed["reason"]) == ("email", "removed")
    assert "Removed Trailhead Enamel Mug from your cart" in removed["text"]
