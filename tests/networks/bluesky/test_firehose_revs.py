"""Commit revisions on the firehose, as the sync spec asks (bluesky-social/atproto-website
src/app/[locale]/specs/sync/en.mdx: "services should ignore `#commit` and `#sync` events
with a `rev` lower or equal to the most recent successfully processed `rev` for that DID";
a `#commit`'s `rev` "Must match the `rev` in the commit block itself").

The frames are recorded from the real loopback PDS (tests/peers/bluesky); where a test
replays them out of order, or changes one, it says so: that order or change is constructed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hashcart.clock import FixedClock
from hashcart.domain.posts import Network
from hashcart.networks.bluesky.firehose import FirehoseListener
from hashcart.networks.bluesky.tid import encode_tid, tid_timestamp_us
from hashcart.ports import Cursor
from hashcart.store import schema as t
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
    (to slip past the rev check, or to silence her later commits); a rev of the present,
    just after her real ones, so that it is not refused as a future one first."""
    later = encode_tid(tid_timestamp_us(history.deletion.body["rev"]) + 1, 0)

    def relabelled(body: dict[str, Any]) -> None:
        body["rev"] = later

    replay(rig, [[history.product.raw, history.reply.changed(relabelled).raw]], 2)

    assert rig.shop.cart("carol@example.com") == []
    assert listener(rig).unconfirmed == 1
    assert history.carol.did not in listener(rig).revs  # a forged rev is not remembered


@pytest.mark.parametrize(
    "rev", [None, "", "not-a-tid", "3" * 5000, "\x00", "k222222222222", "3" * 14]
)
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


# --- revs kept across a restart, and future revs (specs/sync: "should reject commit events
# with a `rev` corresponding to a future timestamp (beyond a clock drift window of a few
# minutes)"; specs/repository: "`rev` values in the "future" (beyond a fudge factor) should
# be ignored and not processed") ---


def stored_revs(rig: Rig) -> dict[str, str]:
    with rig.shop.app.engine.connect() as connection:
        rows = connection.execute(
            select(t.repository_revisions.c.did, t.repository_revisions.c.rev)
        )
        return {str(did): str(rev) for did, rev in rows}


def test_a_restarted_listener_still_ignores_an_older_commit(rig: Rig, history: History) -> None:
    """Constructed order across a restart: the deletion is read and committed, the process
    ends (a new listener: nothing in memory), then the older reply arrives (a relay replaying
    from an earlier cursor). It must not act after its own deletion."""
    replay(rig, [[history.product.raw, history.deletion.raw]], 2)
    assert stored_revs(rig)[history.carol.did] == history.deletion.body["rev"]

    replay(rig, [[history.reply.raw]], 2)

    assert rig.shop.cart("carol@example.com") == []
    assert listener(rig).stale == 1


def test_a_restarted_listener_ignores_the_same_commit_again(rig: Rig, history: History) -> None:
    replay(rig, [[history.product.raw, history.reply.raw]], 2)
    replay(rig, [[history.reply.raw]], 2)

    assert rig.shop.cart("carol@example.com") == [("mug", 1)]
    assert listener(rig).stale == 1


def test_newer_commits_after_a_restart_are_taken(rig: Rig, history: History) -> None:
    replay(rig, [[history.product.raw, history.reply.raw]], 2)
    replay(rig, [[history.deletion.raw]], 2)

    assert listener(rig).stale == 0
    assert stored_revs(rig)[history.carol.did] == history.deletion.body["rev"]


def _signed_at(item: Frame) -> datetime:
    return datetime.fromtimestamp(tid_timestamp_us(item.body["rev"]) / 1e6, UTC)


def test_a_real_commit_from_beyond_the_drift_window_is_ignored(rig: Rig, history: History) -> None:
    """carol's real signed reply, read by a listener whose clock is six minutes behind the
    time her rev stands for."""
    replay(rig, [[history.product.raw]], 2)  # the product, read in the present
    rig.rev_clock = FixedClock(_signed_at(history.reply) - timedelta(minutes=6))

    replay(rig, [[history.reply.raw]], 2)

    assert rig.shop.cart("carol@example.com") == []
    assert listener(rig).future == 1
    assert history.carol.did not in listener(rig).revs
    assert history.carol.did not in stored_revs(rig)


def test_a_real_commit_within_the_drift_window_is_taken(rig: Rig, history: History) -> None:
    replay(rig, [[history.product.raw]], 2)
    rig.rev_clock = FixedClock(_signed_at(history.reply) - timedelta(minutes=4))

    replay(rig, [[history.reply.raw]], 2)

    assert rig.shop.cart("carol@example.com") == [("mug", 1)]
    assert listener(rig).future == 0


def test_a_far_future_sync_cannot_silence_a_repository(rig: Rig, history: History) -> None:
    """Constructed `#sync` with a rev in the year 2112 (the largest TID time): were it kept,
    every real commit of carol's would look older than it for a century."""
    sync = frame(
        {"op": 1, "t": "#sync"},
        {"seq": 1, "did": history.carol.did, "rev": encode_tid(2**53 - 1, 0), "blocks": b""},
    )

    replay(rig, [[history.product.raw, sync, history.reply.raw]], 2)

    assert rig.shop.cart("carol@example.com") == [("mug", 1)]
    assert listener(rig).future == 1
    assert stored_revs(rig)[history.carol.did] == history.reply.body["rev"]


@pytest.mark.parametrize("did", ["not-a-did", "did:web:" + "a" * 5000, "did:plc:\x00" * 3])
def test_a_rev_of_a_name_that_is_not_a_did_is_not_kept(
    rig: Rig, history: History, did: str
) -> None:
    """Constructed `#sync` events naming no valid DID: a hostile stream must not fill the
    store (or memory) with made-up repositories."""
    sync = frame(
        {"op": 1, "t": "#sync"},
        {"seq": 1, "did": did, "rev": history.reply.body["rev"], "blocks": b""},
    )

    replay(rig, [[history.product.raw, sync]], 2)

    assert list(stored_revs(rig)) == [history.product.body["repo"]]  # the brand's only
    assert did not in listener(rig).revs


def test_a_stored_rev_is_never_moved_back(database_url: str) -> None:
    """Two listeners on one database: the one that commits an older rev last leaves the newer."""
    shop = Shop(database_url)
    newer, older = encode_tid(2_000_000, 0), encode_tid(1_000_000, 0)
    did = "did:plc:" + "a" * 24
    for rev in (newer, older):
        with shop.app.unit_of_work() as uow:
            uow.cursors.write(Cursor("bluesky_firehose", "1", ((did, rev),)), shop.clock.now())
    with shop.app.unit_of_work() as uow:
        assert uow.cursors.read_revisions([did, "did:plc:" + "b" * 24]) == {did: newer}
