"""The repository's reads by (network, id) keys answer each key once and only for its own
network, whatever the networks mixed in one call: on PostgreSQL one statement for all of them
(store/keyed_reads), on SQLite one a network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hashcart.domain.posts import Network
from hashcart.ports import Contact
from hashcart.store import schema as t
from hashcart.store.database import make_engine, upgrade, write_transaction
from hashcart.store.repository import Repository

AT = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
X, MASTODON, BLUESKY = Network.X, Network.MASTODON, Network.BLUESKY


def _post(network: Network, post_id: str, parent: str | None = None, minute: int = 0) -> dict:
    return {
        "network": network,
        "post_id": post_id,
        "author_id": f"author-{post_id}",
        "author_handle": "someone",
        "text": "hello #cart" if parent else "a product post",
        "created_at": AT + timedelta(minutes=minute),
        "has_shop_link": parent is None,
        "parent_id": parent,
        "list_kind": "cart" if parent else None,
        "quantity": None,
        "position": None,
        "words": None,
    }


def test_reads_by_key_over_three_networks_answer_each_key_once(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with write_transaction(engine) as connection:
        repo = Repository(connection)
        connection.execute(
            t.products.insert(),
            [
                {
                    "product_id": name,
                    "title": name,
                    "link": f"https://shop.example/{name}",
                    "availability": "in stock",
                    "updated_at": AT,
                }
                for name in ("shoe", "sock", "hat", "bag")
            ],
        )
        # The same post id on two networks: two posts, told apart by their network.
        repo.add_posts(
            [
                _post(X, "p1"),
                _post(MASTODON, "p1"),
                _post(BLUESKY, "p2"),
                _post(X, "t2", parent="p1", minute=2),
                _post(X, "t1", parent="p1", minute=1),
                _post(MASTODON, "t3", parent="p1", minute=3),
            ],
            {(X, "p1"): ["shoe", "sock"], (MASTODON, "p1"): ["hat"], (BLUESKY, "p2"): ["bag"]},
        )
        repo.record_deletion(BLUESKY, "p2")
        repo.add_customer("ann@example.com", None, AT)
        ann = repo.customer_id("ann@example.com")
        assert ann is not None
        repo.add_link(ann, X, "acct-1", None, AT)
        repo.add_link(ann, BLUESKY, "acct-1", None, AT)

    asked = [(X, "p1"), (MASTODON, "p1"), (BLUESKY, "p2"), (BLUESKY, "p1"), (X, "p1")]
    with write_transaction(engine) as connection:
        repo = Repository(connection)
        existing = repo.existing_posts(asked)
        deleted = repo.deleted_among(asked)
        products = repo.products_of_posts(asked)
        waiting = repo.triggers_waiting_for_any(asked)
        contacts = repo.contacts_for_accounts(
            [(X, "acct-1"), (MASTODON, "acct-1"), (BLUESKY, "acct-1"), (X, "acct-1")]
        )
        nothing = repo.existing_posts([])
    engine.dispose()

    assert existing == {(X, "p1"), (MASTODON, "p1"), (BLUESKY, "p2")}
    assert deleted == {(BLUESKY, "p2")}
    # Each post's products once, in the order its links name them.
    assert products == {
        (X, "p1"): ["shoe", "sock"],
        (MASTODON, "p1"): ["hat"],
        (BLUESKY, "p2"): ["bag"],
    }
    # Each parent's waiting triggers once, oldest first, only its own network's.
    assert {key: [p.post_id for p in posts] for key, posts in waiting.items()} == {
        (X, "p1"): ["t1", "t2"],
        (MASTODON, "p1"): ["t3"],
    }
    assert contacts == {
        (X, "acct-1"): Contact(ann, "ann@example.com", "public_reply"),
        (BLUESKY, "acct-1"): Contact(ann, "ann@example.com", "public_reply"),
    }
    assert nothing == set()
