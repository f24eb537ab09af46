"""The firehose listener against a stand-in relay on loopback replaying real frames captured
from the loopback PDS (and forgeries made from them), with identities and keys from the real
PLC directory: signed commits are proven before a cart changes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import libipld
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hashcart.backoff import Backoff
from hashcart.clock import Clock, FixedClock, SystemClock
from hashcart.domain.posts import Network
from hashcart.networks.bluesky.car import Blocks
from hashcart.networks.bluesky.commits import Unproven, public_key, record_cid, verify_commit
from hashcart.networks.bluesky.firehose import FirehoseListener
from hashcart.networks.bluesky.identity import IdentityResolver
from hashcart.networks.bluesky.records import RecordReader
from hashcart.networks.bluesky.xrpc import Xrpc, new_client
from hashcart.services.live_ingest import LiveIngest
from hashcart.store import schema as t
from hashcart.store.cursors import load_cursor, save_cursor
from tests.harness import PRODUCTS, Shop
from tests.loopback import LiveServer
from tests.networks.bluesky.frames import Frame, capture, commits_touching, frame
from tests.networks.bluesky.peer import Account, BlueskyPeer, Posted
from tests.networks.bluesky.standins import ReplayServer, firehose

MUG = PRODUCTS["mug"][1]


@dataclass(frozen=True)
class Recorded:
    """A thread on the real PDS, and the firehose frames that carried it."""

    ada: Account
    bob: Account
    mallory: Account
    product: Frame
    ada_reply: Frame
    bob_reply: Frame
    mallory_reply: Frame


@pytest.fixture(scope="module")
def recorded(bluesky_peer: BlueskyPeer) -> Recorded:
    peer = bluesky_peer
    brand, ada, bob, mallory = (
        peer.account(name) for name in ("northwind", "ada", "bob", "mallory")
    )
    start = peer.seq()
    product = peer.post(brand, f"Enamel mug {MUG}", links=(MUG,))
    replies: dict[str, Posted] = {
        account.handle: peer.post(account, "#cart", tags=("cart",), reply_to=product)
        for account in (ada, bob, mallory)
    }
    frames = asyncio.run(capture(peer, start, peer.seq()))
    return Recorded(
        ada,
        bob,
        mallory,
        commits_touching(frames, product.uri),
        *(commits_touching(frames, replies[a.handle].uri) for a in (ada, bob, mallory)),
    )


@dataclass
class Rig:
    shop: Shop
    peer: BlueskyPeer
    listener: FirehoseListener | None = None
    delays: list[float] | None = None
    # What the listener compares a commit's rev with. The loopback PDS signs its revs with
    # the wall clock, so the engine's fixed clock (behind them) would take every one for a
    # future rev: the listener reads the wall clock too, unless a test fixes it.
    rev_clock: Clock = field(default_factory=SystemClock)

    def listen(self, url: str, plc_url: str | None = None) -> FirehoseListener:
        xrpc = Xrpc(new_client())
        identity = IdentityResolver(xrpc, plc_url or self.peer.plc_url, self.shop.clock)
        self.delays = []
        delays = self.delays

        async def no_wait(seconds: float, stop: asyncio.Event) -> None:
            delays.append(seconds)

        self.listener = FirehoseListener(
            url,
            LiveIngest(self.shop.app),
            identity,
            RecordReader(identity, xrpc),
            backoff=Backoff(first=1.0, cap=30.0),
            wait=no_wait,
            now=self.rev_clock.now,
        )
        return self.listener


@pytest.fixture
def rig(bluesky_peer: BlueskyPeer, recorded: Recorded, database_url: str) -> Rig:
    shop = Shop(database_url, bluesky_plc_url=bluesky_peer.plc_url)
    shop.customer("ada@example.com", (Network.BLUESKY, recorded.ada.did, recorded.ada.handle))
    shop.customer("bob@example.com", (Network.BLUESKY, recorded.bob.did, recorded.bob.handle))
    return Rig(shop, bluesky_peer)


def replay(
    rig: Rig, scripts: list[list[bytes]], connections: int, plc_url: str | None = None
) -> ReplayServer:
    async def scenario() -> ReplayServer:
        async with firehose(scripts) as server:
            listener = rig.listen(server.url, plc_url)
            stop = asyncio.Event()
            task = asyncio.create_task(listener.run(stop))
            try:
                await server.wait_for_connections(connections)
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)
            return server

    return asyncio.run(scenario())


def test_real_signed_commits_are_proven_and_act(rig: Rig, recorded: Recorded) -> None:
    replay(rig, [[recorded.product.raw, recorded.bob_reply.raw, recorded.ada_reply.raw]], 2)

    assert rig.shop.cart("bob@example.com") == [("mug", 1)]
    assert rig.shop.cart("ada@example.com") == [("mug", 1)]
    assert rig.listener is not None and rig.listener.unconfirmed == 0
    newest = max(recorded.bob_reply.seq or 0, recorded.ada_reply.seq or 0)
    assert load_cursor(rig.shop.app.engine, "bluesky_firehose") == str(newest)


def test_a_commit_claiming_another_repository_is_dropped(rig: Rig, recorded: Recorded) -> None:
    """mallory's signed reply relabelled as ada's: the commit inside names mallory and
    carries her signature, not ada's."""

    def as_ada(body: dict[str, Any]) -> None:
        body["repo"] = recorded.ada.did

    forged = recorded.mallory_reply.changed(as_ada)
    replay(rig, [[recorded.product.raw, forged.raw, recorded.bob_reply.raw]], 2)

    assert rig.shop.cart("ada@example.com") == []
    assert rig.shop.cart("bob@example.com") == [("mug", 1)]
    assert rig.listener is not None and rig.listener.unconfirmed == 1


def test_a_record_altered_in_transit_is_not_taken(rig: Rig, recorded: Recorded) -> None:
    """The record's bytes changed under its CID (the signed tree still names that CID)."""

    def altered(body: dict[str, Any]) -> None:
        assert body["blocks"].count(b"#cart") == 1
        body["blocks"] = body["blocks"].replace(b"#cart", b"#Cart")

    replay(rig, [[recorded.product.raw, recorded.bob_reply.changed(altered).raw]], 2)

    assert rig.shop.cart("bob@example.com") == []
    assert rig.listener is not None and rig.listener.unreadable == 1


def test_unreadable_frames_and_info_frames_do_not_stop_the_stream(
    rig: Rig, recorded: Recorded
) -> None:
    info = frame({"op": 1, "t": "#info"}, {"name": "OutdatedCursor", "message": "too old"})
    replay(rig, [[b"\x00not cbor", info, recorded.product.raw, recorded.bob_reply.raw]], 2)

    assert rig.shop.cart("bob@example.com") == [("mug", 1)]
    assert rig.listener is not None and rig.listener.unreadable == 1


def test_a_cursor_from_the_future_is_dropped_and_the_stream_read_live(rig: Rig) -> None:
    save_cursor(rig.shop.app.engine, "bluesky_firehose", "999999", rig.shop.clock.now())
    refusal = frame({"op": -1}, {"error": "FutureCursor", "message": "Cursor in the future."})

    server = replay(rig, [[refusal]], 2)

    cursors = [parse_qs(urlsplit(path).query).get("cursor") for path in server.paths]
    assert cursors == [["999999"], None]
    assert load_cursor(rig.shop.app.engine, "bluesky_firehose") == ""
    assert rig.delays is not None and len(rig.delays) == 1


def test_the_stored_cursor_is_where_a_restart_resumes(rig: Rig, recorded: Recorded) -> None:
    server = replay(rig, [[recorded.product.raw]], 2)

    cursors = [parse_qs(urlsplit(path).query).get("cursor") for path in server.paths]
    assert cursors == [None, [str(recorded.product.seq)]]


def test_a_commit_verifies_with_its_key_in_either_document_format(
    bluesky_peer: BlueskyPeer, recorded: Recorded
) -> None:
    """The PLC directory gives the key in the legacy form (an uncompressed point, the curve
    named by the type); newer documents give a Multikey (multicodec + compressed point)."""
    identities = IdentityResolver(
        Xrpc(new_client()), bluesky_peer.plc_url, FixedClock(datetime(2026, 11, 20, tzinfo=UTC))
    )
    bob, mallory = (identities.identity(a.did) for a in (recorded.bob, recorded.mallory))
    assert bob.signing_key and mallory.signing_key
    legacy = public_key(bob.signing_key, bob.signing_key_type)
    point = legacy.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    multikey = public_key(libipld.encode_multibase("z", b"\xe7\x01" + point), "Multikey")
    body = recorded.bob_reply.body
    blocks = Blocks.read(body["blocks"])
    [op] = body["ops"]

    for key in (legacy, multikey):
        commit = verify_commit(blocks, body["commit"], recorded.bob.did, key)
        assert record_cid(blocks, commit["data"], op["path"]) == op["cid"]
    with pytest.raises(Unproven, match="signature"):
        verify_commit(
            blocks,
            body["commit"],
            recorded.bob.did,
            public_key(mallory.signing_key, mallory.signing_key_type),
        )


class FlakyDirectory:
    """The real PLC directory behind a loopback proxy that answers 503 to its first
    `failures` requests (a directory down for a moment), then passes requests through."""

    def __init__(self, upstream: str, failures: int) -> None:
        self.upstream = upstream
        self.failures = failures
        self.requests = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.handle)])

    async def handle(self, request: Request) -> Response:
        self.requests += 1
        if self.requests <= self.failures:
            return Response(b"{}", status_code=503, media_type="application/json")
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.upstream}/{request.path_params['path']}")
        return Response(answer.content, answer.status_code, media_type="application/json")


def test_a_trigger_whose_author_cannot_be_looked_up_for_a_moment_comes_again_and_acts(
    rig: Rig, recorded: Recorded
) -> None:
    # Neither the signing key nor the PDS can be learned while the directory is down: the
    # reply must wait for the reconnect, not be dropped.
    directory = FlakyDirectory(rig.peer.plc_url, failures=2)
    frames = [recorded.product.raw, recorded.ada_reply.raw]
    with LiveServer(directory.app) as plc:
        server = replay(rig, [frames, frames], 2, plc_url=plc.url)

    # The second connection resumed before ada's reply: its cursor is the product's frame.
    second = parse_qs(urlsplit(server.paths[1]).query).get("cursor")
    assert second == [str(recorded.product.seq)]
    assert rig.shop.cart("ada@example.com") == [("mug", 1)]
    assert rig.listener is not None and rig.listener.unconfirmed == 0
    assert rig.delays  # it backed off before the second connection
    assert directory.requests > 2


# `#account` frames (atproto lexicons/com/atproto/sync/subscribeRepos.json `#account`: seq,
# did, time, active, status takendown | suspended | deleted | deactivated | ...).


def _account_frame(did: str, *, active: bool, status: str | None, seq: int) -> bytes:
    body: dict[str, Any] = {"seq": seq, "did": did, "time": "2026-05-25T14:23:29.950Z"}
    body["active"] = active
    if status is not None:
        body["status"] = status
    return frame({"op": 1, "t": "#account"}, body)


def _linked(rig: Rig, did: str) -> bool:
    with rig.shop.app.engine.connect() as connection:
        return (
            connection.scalar(
                select(func.count()).where(
                    t.account_links.c.network == "bluesky", t.account_links.c.account_id == did
                )
            )
            == 1
        )


def test_a_taken_down_account_is_forgotten_and_its_commits_ignored(
    rig: Rig, recorded: Recorded
) -> None:
    gone = _account_frame(recorded.bob.did, active=False, status="takendown", seq=1)
    replay(rig, [[recorded.product.raw, gone, recorded.bob_reply.raw, recorded.ada_reply.raw]], 2)

    assert rig.shop.cart("bob@example.com") == []
    assert not _linked(rig, recorded.bob.did)
    assert rig.shop.cart("ada@example.com") == [("mug", 1)]


def test_a_deactivated_account_is_kept_but_its_commits_ignored(
    rig: Rig, recorded: Recorded
) -> None:
    paused = _account_frame(recorded.bob.did, active=False, status="deactivated", seq=1)
    replay(rig, [[recorded.product.raw, paused, recorded.bob_reply.raw]], 2)

    assert rig.shop.cart("bob@example.com") == []
    assert _linked(rig, recorded.bob.did)


def test_an_account_active_again_is_read_again(rig: Rig, recorded: Recorded) -> None:
    paused = _account_frame(recorded.bob.did, active=False, status="deactivated", seq=1)
    back = _account_frame(recorded.bob.did, active=True, status=None, seq=2)
    replay(rig, [[recorded.product.raw, paused, back, recorded.bob_reply.raw]], 2)

    assert rig.shop.cart("bob@example.com") == [("mug", 1)]
