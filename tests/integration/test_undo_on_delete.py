"""`undo_on_delete = true`: deleting a trigger post takes back what it did and is still open
(issue 12, "Also"). Deletions as each network delivers them (tests/integration/social.py
cites the shapes); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from hashcart.store import schema as t
from tests.harness import HOST, Shop
from tests.integration.social import SHOPPERS, UNLINKED

MUG = f"https://{HOST}/products/enamel-mug"
ALICE = "alice@example.com"
NETWORKS = sorted(SHOPPERS)


def shop_with(database_url: str, *, undo: bool) -> Shop:
    shop = Shop(database_url, undo_on_delete=undo)
    shop.customer(ALICE, *[(s.network, s.account_id, s.handle) for s in SHOPPERS.values()])
    return shop


@pytest.fixture
def shop(database_url: str) -> Shop:
    return shop_with(database_url, undo=True)


@pytest.mark.parametrize("network", NETWORKS)
def test_deleting_the_trigger_post_removes_its_cart_line(shop: Shop, network: str) -> None:
    alice = SHOPPERS[network]
    parent, trigger = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(trigger, parent, "#cart x2")])
    assert shop.cart(ALICE) == [("mug", 2)]

    stats = shop.ingest([alice.delete(trigger)])

    assert shop.cart(ALICE) == []
    assert stats.actions.undone == 1
    assert shop.reasons() == ["added"]  # no message: the post it would answer is gone


@pytest.mark.parametrize("network", NETWORKS)
def test_by_default_a_deletion_leaves_the_line(database_url: str, network: str) -> None:
    shop = shop_with(database_url, undo=False)
    alice = SHOPPERS[network]
    parent, trigger = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(trigger, parent, "#cart")])

    shop.ingest([alice.delete(trigger)])

    assert shop.cart(ALICE) == [("mug", 1)]


def test_a_redelivered_deletion_changes_nothing_more(shop: Shop) -> None:
    alice = SHOPPERS["bluesky"]
    parent, first = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(first, parent, "#cart")])
    shop.ingest([alice.delete(first)])
    # Added again from another reply: the old deletion, delivered again, leaves it.
    shop.ingest([alice.reply(alice.key(), parent, "#cart", minutes=10)])

    stats = shop.ingest([alice.delete(first), alice.delete(first)])

    assert shop.cart(ALICE) == [("mug", 1)]
    assert stats.actions.undone == 0


def test_deleting_a_reply_that_found_the_product_there_leaves_the_line(shop: Shop) -> None:
    """The line is the first trigger's: a second `#cart` changed nothing, so its deletion
    has nothing to take back."""
    alice = SHOPPERS["x"]
    parent, first, second = alice.key(), alice.key(), alice.key()
    shop.ingest(
        [
            alice.parent(parent, (MUG,)),
            alice.reply(first, parent, "#cart"),
            alice.reply(second, parent, "#cart", minutes=6),
        ]
    )

    shop.ingest([alice.delete(second)])

    assert shop.cart(ALICE) == [("mug", 1)]


@pytest.mark.parametrize("network", NETWORKS)
def test_a_deletion_that_arrives_first_means_the_trigger_never_acts(
    shop: Shop, network: str
) -> None:
    alice = SHOPPERS[network]
    parent, trigger = alice.key(), alice.key()
    shop.ingest([alice.delete(trigger)])

    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(trigger, parent, "#cart")])

    assert shop.cart(ALICE) == [] and shop.outbox() == []
    assert _outcome(shop, alice.post_id(trigger)) == "deleted"


def test_a_trigger_deleted_while_it_waits_for_its_parent_never_acts(shop: Shop) -> None:
    alice = SHOPPERS["mastodon"]
    parent, trigger = alice.key(), alice.key()
    shop.ingest([alice.reply(trigger, parent, "#cart")])  # the parent has not come yet
    shop.ingest([alice.delete(trigger)])

    shop.ingest([alice.parent(parent, (MUG,))])

    assert shop.cart(ALICE) == [] and shop.outbox() == []


def test_a_trigger_and_its_deletion_in_one_batch_never_act(shop: Shop) -> None:
    alice = SHOPPERS["bluesky"]
    parent, trigger = alice.key(), alice.key()

    shop.ingest(
        [alice.parent(parent, (MUG,)), alice.reply(trigger, parent, "#cart"), alice.delete(trigger)]
    )

    assert shop.cart(ALICE) == [] and shop.outbox() == []


@pytest.mark.parametrize("network", NETWORKS)
def test_an_unlinked_shoppers_waiting_request_goes_with_its_post(shop: Shop, network: str) -> None:
    bob = UNLINKED[network]
    parent, trigger = bob.key(), bob.key()
    shop.ingest([bob.parent(parent, (MUG,)), bob.reply(trigger, parent, "#cart")])

    shop.ingest([bob.delete(trigger)])

    [request] = shop.pending()
    assert request["status"] == "removed"
    shop.customer("bob@example.com", (bob.network, bob.account_id, bob.handle))
    assert shop.cart("bob@example.com") == []


def test_the_wish_list_entry_a_deleted_post_made_goes_too(shop: Shop) -> None:
    alice = SHOPPERS["bluesky"]
    parent, trigger = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(trigger, parent, "#wishlist")])

    shop.ingest([alice.delete(trigger)])

    assert shop.wishlist(ALICE) == []


def test_a_bought_order_is_never_undone_by_a_deletion(shop: Shop) -> None:
    """An order line names the post it came from; deleting that post leaves the order."""
    alice = SHOPPERS["bluesky"]
    parent, trigger = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(trigger, parent, "#cart")])
    _place_order(shop, alice.network.value, alice.post_id(trigger))

    shop.ingest([alice.delete(trigger)])

    with shop.app.engine.connect() as connection:
        orders = connection.execute(select(t.orders.c.status)).scalars().all()
        lines = connection.execute(select(func.count()).select_from(t.order_lines)).scalar()
    assert orders == ["paid"] and lines == 1


def _outcome(shop: Shop, post_id: str) -> str:
    with shop.app.engine.connect() as connection:
        return str(
            connection.execute(
                select(t.actions.c.outcome).where(t.actions.c.trigger_post_id == post_id)
            ).scalar_one()
        )


def _place_order(shop: Shop, network: str, post_id: str) -> None:
    """An order as checkout leaves it: the cart line became an order line naming its post."""
    now = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    with shop.app.engine.begin() as connection:
        customer_id = connection.execute(
            select(t.customers.c.id).where(t.customers.c.email == ALICE)
        ).scalar_one()
        order_id = connection.execute(
            insert(t.orders)
            .values(
                customer_id=customer_id,
                checkout_key="k" * 32,
                status="paid",
                email=ALICE,
                ship_name="Alice",
                ship_line1="1 Main St",
                ship_city="Springfield",
                ship_postcode="12345",
                ship_country="US",
                payment_gateway="test_card",
                payment_reference="ref",
                total_amount=Decimal("12.00"),
                currency="USD",
                created_at=now,
            )
            .returning(t.orders.c.id)
        ).scalar_one()
        connection.execute(
            insert(t.order_lines).values(
                order_id=order_id,
                product_id="mug",
                title="Trailhead Enamel Mug",
                unit_price=Decimal("12.00"),
                currency="USD",
                quantity=1,
                network=network,
                post_id=post_id,
            )
        )
        connection.execute(t.cart_lines.delete())


# X tells of a deletion in three more shapes than the Account Activity envelope: the v1.1
# stream's delete notice, the X Activity API's `post.delete` event (xdevplatform/docs
# x-api/activity/event-payloads) and the v2 compliance stream's `delete`. Each undoes.
X_DELETIONS = {
    "v1.1 stream notice": lambda post_id: {
        "delete": {
            "status": {"id": int(post_id), "id_str": post_id, "user_id": 2002},
            "timestamp_ms": "1432228155593",
        }
    },
    "activity post.delete": lambda post_id: {
        "data": {"event_type": "post.delete", "payload": {"id": post_id, "author_id": "2002"}}
    },
    "compliance delete": lambda post_id: {
        "data": {
            "delete": {"tweet": {"id": post_id, "author_id": "2002"}, "event_at": "2026-11-20"}
        }
    },
}


@pytest.mark.parametrize("shape", sorted(X_DELETIONS))
def test_every_x_deletion_shape_undoes(shop: Shop, shape: str) -> None:
    alice = SHOPPERS["x"]
    parent, trigger = alice.key(), alice.key()
    shop.ingest([alice.parent(parent, (MUG,)), alice.reply(trigger, parent, "#cart")])

    shop.ingest([json.dumps(X_DELETIONS[shape](trigger)).encode()])

    assert shop.cart(ALICE) == []
