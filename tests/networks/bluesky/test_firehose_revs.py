"""Commit revisions on the firehose, as the sync spec asks (bluesky-social/atproto-website
src/app/[locale]/specs/sync/en.mdx: "services should ignore `#commit` and `#sync` events
with a `rev` lower or equal to the most recent successfully processed `rev` for that DID";
a `#commit`'s `rev` "Must match the `rev` in the commit block itself").

The frames are recorded from the real loopback PDS (tests/peers/bluesky); where a test
replays them out of order, or changes one, it says so: that order or change is constructed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from hashcart.domain.posts import Network
from hashcart.networks.bluesky.firehose import FirehoseListener
from hashcart.networks.bluesky.tid import encode_tid
from tests.harness import PRODUCTS, Shop
from tests.networks.bluesky.frames import Frame, capture, commits_touching, frame
from tests.networks.bluesky.peer import Account, BlueskyPeer
from tests.networks.bluesky.test_firehose import Rig, replay

MUG = PRODUCTS["mug"][1]


@dataclass(frozen=True)
class History:
    """carol's `#cart` reply to the shop's product, then carol deleting it: three commits,
    recorded, each with the rev its repository signed."""

    carol: Account
    product: Frame
    reply: Frame
    deletion: Frame


@pytest.fixture(scope="module")
def history(bluesky_peer: BlueskyPeer) -> History:
    peer = bluesky_peer
    brand, carol = peer.account("revbrand"), peer.account("carol")
    start = peer.seq()
    product = peer.post(brand, f"Enamel mug {MUG}", links=(MUG,))
    reply = peer.post(carol, "#cart", tags=("cart",), reply_to=product)
    peer.delete(carol, reply)
    frames = asyncio.run(capture(peer, start, peer.seq()))
    carols = [f for f in frames if f.header.get("t") == "#commit" and f.body["repo"] == carol.did]
    created, deleted = carols[-2:]
    assert [op["action"] for op in deleted.body["ops"]] == ["delete"]
    assert created.body["rev"] < deleted.body["rev"]
    return History(carol, commits_touching(frames, product.uri), created, deleted)


@pytest.fixture
def rig(bluesky_peer: BlueskyPeer, history: History, database_url: str) -> Rig:
    shop = Shop(database_url, bluesky_plc_url=bluesky_peer.plc_url)
    shop.customer("carol@example.com", (Network.BLUESKY, history.carol.did, ""))
    return Rig(shop, bluesky_peer)


def listener(rig: Rig) -> FirehoseListener:
    assert rig.listener is not None
    return rig.listener


def test_an_older_commit_after_a_newer_one_of_its_repository_is_ignored(
    rig: Rig, history: History
) -> None:
    """Constructed order: the deletion (newer rev) arrives before the reply it deletes (a
    relay's replay, or a reordering). The reply must not act after its own deletion."""
    replay(rig, [[history.product.raw, history.deletion.raw, history.reply.raw]], 2)

    assert rig.shop.cart("carol@example.com") == []
    assert listener(rig).stale == 1
    assert listener(rig).revs[history.carol.did] == history.deletion.body["rev"]


def test_the_same_commit_again_is_ignored(rig: Rig, history: History) -> None:
    replay(rig, [[history.product.raw, history.reply.raw, history.reply.raw]], 2)

    assert rig.shop.cart("carol@example.com") == [("mug", 1)]
    assert listener(rig).stale == 1


def test_commits_in_their_order_all_count(rig: Rig, history: History) -> None:
    replay(rig, [[history.product.raw, history.reply.raw, history.deletion.raw]], 2)

    assert listener(rig).stale == 0
    assert listener(rig).revs[history.carol.did] == history.deletion.body["rev"]


def test_a_frame_rev_that_is_not_the_signed_commits_is_not_taken(
    rig: Rig, history: History
) -> None:
    """Constructed: the reply's frame relabelled with a later rev than the one carol signed
    (to slip past the rev check, or to silence her later commits)."""
    later = encode_tid(2**52, 0)

    def relabelled(body: dict[str, Any]) -> None:
        body["rev"] = later

    replay(rig, [[history.product.raw, history.reply.changed(relabelled).raw]], 2)

    assert rig.shop.cart("carol@example.com") == []
    assert listener(rig).unconfirmed == 1
    assert history.carol.did not in listener(rig).revs  # a forged rev is not remembered


@pytest.mark.parametrize("rev", [None, "", "not-a-tid", "3" * 5000, "\x00"])
def test_a_commit_without_a_valid_rev_is_unreadable(
    rig: Rig, history: History, rev: str | None
) -> None:
    """Constructed: the reply's frame with its rev removed or garbled."""

    def garbled(body: dict[str, Any]) -> None:
        if rev is None:
            del body["rev"]
        else:
            body["rev"] = rev

    replay(rig, [[history.product.raw, history.reply.changed(garbled).raw]], 2)

    assert rig.shop.cart("carol@example.com") == []
    assert listener(rig).unreadable == 1


def test_a_sync_event_moves_the_repositorys_rev_on(rig: Rig, history: History) -> None:
    """Constructed `#sync` (specs/sync: {did, blocks, rev, seq, time}) at a rev after the
    reply's: the reply coming after it is older than the repository's state."""
    after = history.deletion.body["rev"]
    sync = frame(
        {"op": 1, "t": "#sync"},
        {"seq": 1, "did": history.carol.did, "rev": after, "blocks": b"", "time": ""},
    )

    replay(rig, [[history.product.raw, sync, history.reply.raw]], 2)

    assert rig.shop.cart("carol@example.com") == []
    assert listener(rig).stale == 1
