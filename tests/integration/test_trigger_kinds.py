"""A new trigger kind is one handler plus one registry line (issue 10).

`#sample` is defined here and nowhere in src/: replying `#sample` under a shop's product
post puts a free sample of that product (the catalog's `<product>-sample`) in the cart, at
quantity 1 whatever the reply asks. Registering it is the `registered(SAMPLE, HANDLER)`
line of the fixture; nothing under src/ names it. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from hashcart.domain.kinds import TriggerKind
from hashcart.domain.messages import Reason
from hashcart.domain.posts import Network
from hashcart.networks.mastodon.stream import streams_for
from hashcart.networks.prefilter import Prefilter
from hashcart.networks.x.stream import desired_rules
from hashcart.services.catalog import FeedRow
from hashcart.services.handlers import (
    Decision,
    ListRequest,
    ReplyBatch,
    ReplyHandler,
    add_entries,
    registered,
)
from hashcart.store.repository import transaction
from tests.harness import HOST, Shop
from tests.payloads import SHOP_DID, jetstream_post, post_uri

ALICE_DID = "did:plc:alice0000000000000000000"
ALICE = "alice@example.com"
BRAND_POST = post_uri(SHOP_DID, "3mmbrand00001")
MUG = f"https://{HOST}/products/enamel-mug"
BEANS = f"https://{HOST}/products/summit-roast"


# --- the new kind: a handler and one registry line ---------------------------------------

SAMPLE = TriggerKind("sample", default_tags=("sample",))


def act_on_samples(batch: ReplyBatch, requests: Sequence[ListRequest]) -> list[Decision]:
    """A free sample of the product the reply names: one, in the cart; refused when the
    shop has no sample of it."""
    samples = [f"{r.product_id}-sample" for r in requests]
    offered = [batch.shop.availability(sample) is not None for sample in samples]
    fresh = iter(
        add_entries(
            batch,
            "cart",
            [(r, s, 1) for r, s, ok in zip(requests, samples, offered, strict=True) if ok],
        )
    )
    decisions = []
    for sample, ok in zip(samples, offered, strict=True):
        title = f"a free sample of {batch.shop.title(sample.removesuffix('-sample'))}"
        if not ok:
            decisions.append(Decision(Reason.UNAVAILABLE, title, 1))
        else:
            reason = Reason.ADDED if next(fresh) else Reason.ALREADY_IN_CART
            decisions.append(Decision(reason, title, 1))
    return decisions


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    with registered(SAMPLE, ReplyHandler(act_on_samples)):  # the registry line
        shop = Shop(database_url)
        with transaction(shop.app.engine) as repo:
            repo.upsert_products(
                [
                    FeedRow(
                        "mug-sample",
                        "Mug sample",
                        f"https://{HOST}/samples/mug",
                        None,
                        None,
                        "in_stock",
                    ).as_values(shop.clock.now())
                ]
            )
        shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))
        yield shop


def brand_post(*links: str) -> bytes:
    return jetstream_post(SHOP_DID, "3mmbrand00001", "New in: " + " ".join(links), links=links)


def reply(rkey: str, text: str, did: str = ALICE_DID) -> bytes:
    return jetstream_post(did, rkey, text, reply_to=BRAND_POST, minutes=5)


# --- what it does -------------------------------------------------------------------------


def test_a_sample_reply_under_a_product_post_puts_one_free_sample_in_the_cart(
    shop: Shop,
) -> None:
    stats = shop.ingest([brand_post(MUG), reply("3mmreply00001", "#sample x3 please")])

    assert shop.cart(ALICE) == [("mug-sample", 1)]
    [message] = shop.outbox()
    assert message["reason"] == "added"
    assert "a free sample of Trailhead Enamel Mug" in message["text"]
    assert "#sample" not in message["text"].lower()  # its tag is stripped like any kind's
    assert stats.triggers == 1 and stats.actions.lines_added == 1


def test_a_second_sample_reply_changes_nothing(shop: Shop) -> None:
    shop.ingest([brand_post(MUG), reply("3mmreply00001", "#sample")])
    shop.ingest([reply("3mmreply00002", "#sample")])

    assert shop.cart(ALICE) == [("mug-sample", 1)]
    assert shop.reasons() == ["added", "already_in_cart"]


def test_no_sample_of_the_product_is_said_and_nothing_added(shop: Shop) -> None:
    shop.ingest([brand_post(BEANS), reply("3mmreply00001", "#sample")])

    assert shop.cart(ALICE) == []
    assert shop.reasons() == ["unavailable"]


def test_sample_and_cart_replies_in_one_batch_are_answered_in_their_own_order(
    shop: Shop,
) -> None:
    shop.ingest(
        [
            brand_post(MUG),
            reply("3mmreply00001", "#sample"),
            reply("3mmreply00002", "#cart x2"),
        ]
    )

    assert sorted(shop.cart(ALICE)) == [("mug", 2), ("mug-sample", 1)]
    assert shop.reasons() == ["added", "added"]
    assert [m["in_reply_to"] for m in shop.outbox()] == [
        post_uri(ALICE_DID, "3mmreply00001"),
        post_uri(ALICE_DID, "3mmreply00002"),
    ]


def test_an_unlinked_shoppers_sample_waits_and_is_applied_when_they_link(shop: Shop) -> None:
    bob_did = "did:plc:bob000000000000000000000"
    shop.ingest([brand_post(MUG), reply("3mmreply00001", "#sample", did=bob_did)])
    [pending] = shop.pending()
    assert pending["list"] == "sample"

    shop.customer("bob@example.com", (Network.BLUESKY, bob_did, "bob.bsky.social"))

    assert shop.cart("bob@example.com") == [("mug-sample", 1)]
    assert shop.reasons()[-1] == "pending_applied"


# --- its tags reach every listener through the registry ----------------------------------


def test_the_prefilter_the_x_rules_and_the_mastodon_streams_listen_for_its_tag(
    shop: Shop,
) -> None:
    engine_shop = shop.app.shop()

    prefilter = Prefilter.for_shop(engine_shop.every_word, engine_shop.hosts)
    assert prefilter.wants(b'{"text":"#sample please"}')
    rules = desired_rules(engine_shop.reply_tags, engine_shop.post_tags, "shop")
    assert any("#sample" in rule.value for rule in rules)
    assert "mastodon:tag:sample" in [stream.cursor for stream in streams_for(engine_shop)]


def test_outside_the_registration_the_tag_is_just_a_word(database_url: str) -> None:
    shop = Shop(database_url)
    shop.customer(ALICE, (Network.BLUESKY, ALICE_DID, "alice.bsky.social"))

    stats = shop.ingest([brand_post(MUG), reply("3mmreply00001", "#sample")])

    assert stats.triggers == 0 and shop.cart(ALICE) == []
    assert "sample" not in shop.app.shop().every_tag


def test_a_sample_reply_through_the_live_sink_acts_too(shop: Shop) -> None:
    """Listeners and webhooks hand payloads to the live sink, whose prefilter must let every
    registered kind's tag through, not only the cart's and the wish list's."""
    from hashcart.networks.formats import Format
    from hashcart.services.live_ingest import LiveIngest

    sink = LiveIngest(shop.app)
    sink.ingest("jetstream", Format.JETSTREAM, [brand_post(MUG), reply("3mmreply00001", "#sample")])

    assert shop.cart(ALICE) == [("mug-sample", 1)]
