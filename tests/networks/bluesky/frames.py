"""Real firehose frames from the loopback PDS, and forgeries made from them, for tests that
replay a firehose from a stand-in server (standins.firehose)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import libipld
import websockets

from tests.networks.bluesky.peer import BlueskyPeer

DEADLINE_SECONDS = 30


@dataclass(frozen=True)
class Frame:
    raw: bytes

    @property
    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = libipld.decode_dag_cbor_multi(self.raw)[0]
        return header

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = libipld.decode_dag_cbor_multi(self.raw)[1]
        return body

    @property
    def seq(self) -> int | None:
        seq = self.body.get("seq")
        return seq if isinstance(seq, int) else None

    def paths(self) -> list[str]:
        return [op["path"] for op in self.body.get("ops", [])]

    def changed(self, change: Callable[[dict[str, Any]], None]) -> Frame:
        """This frame with its body changed (re-encoded: CIDs become byte strings, which is
        how hashcart reads them anyway)."""
        body = self.body
        change(body)
        return Frame(libipld.encode_dag_cbor(self.header) + libipld.encode_dag_cbor(body))


def frame(header: dict[str, Any], body: dict[str, Any]) -> bytes:
    return libipld.encode_dag_cbor(header) + libipld.encode_dag_cbor(body)


async def capture(peer: BlueskyPeer, after: int, until: int) -> list[Frame]:
    """The PDS's firehose frames with seq in (after, until]."""
    url = f"{peer.firehose_url}?cursor={after}"
    frames: list[Frame] = []
    async with websockets.connect(url, max_size=None) as socket:

        async def read() -> None:
            while not frames or (frames[-1].seq or 0) < until:
                frames.append(Frame(await socket.recv(decode=False)))

        await asyncio.wait_for(read(), DEADLINE_SECONDS)
    return [item for item in frames if item.seq is not None and after < item.seq <= until]


def commits_touching(frames: Sequence[Frame], uri: str) -> Frame:
    """The commit frame that wrote the record `uri` (at://did/collection/rkey)."""
    did, path = uri.removeprefix("at://").split("/", 1)
    for item in frames:
        if item.header.get("t") == "#commit" and item.body["repo"] == did and path in item.paths():
            return item
    raise AssertionError(f"no commit for {uri}")
