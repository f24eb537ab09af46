"""Loopback stand-ins for the Bluesky services the Jetstream tests need: a Jetstream server
that replays event lines per connection, and a "repo host" that is both a PLC directory and
the PDS its DID documents name (and, for the Jetstream gap tests, the AppView's
`app.bsky.feed.getAuthorFeed` and `getPostThread`: `author_feed` is the answer's `feed`
list of feedViewPost, `threads[uri]` the answer's `thread`, in the shapes of bluesky-social/
atproto lexicons/app/bsky/feed/defs.json).

The repo host answers in the real services' shapes, as recorded from the @atproto/dev-env PDS
and PLC directory of tests/peers/bluesky: a DID document with `#atproto` and `#atproto_pds`,
`com.atproto.repo.getRecord` as `{"uri", "cid", "value"}`, a missing record as HTTP 400
`{"error": "RecordNotFound", "message": "Could not locate record: at://…"}`. Each script step
can also answer with an arbitrary status, headers and body (rate limits, outages)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import libipld
import websockets
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from websockets.asyncio.server import ServerConnection


@dataclass
class Answer:
    """A scripted HTTP answer (status, headers, raw body)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RepoHost:
    """PLC directory + PDS in one: `records[(did, rkey)] = (cid, value)`; `answers[nsid]`
    lists scripted answers that calls of that method get, in turn, before the normal ones.
    `createSession` logs anyone in as `session_did`."""

    url: str = ""
    records: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    session_did: str = ""
    known_dids: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    queries: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    author_feed: list[dict[str, Any]] = field(default_factory=list)
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/xrpc/{nsid}", self.xrpc, methods=["GET", "POST"]),
                Route("/{did}", self.did_document),
            ]
        )

    async def did_document(self, request: Request) -> Response:
        did = request.path_params["did"]
        if did not in self.known_dids:
            return JSONResponse({"message": f"DID not registered: {did}"}, status_code=404)
        return JSONResponse(
            {
                "@context": [
                    "https://www.w3.org/ns/did/v1",
                    "https://w3id.org/security/multikey/v1",
                ],
                "id": did,
                "alsoKnownAs": ["at://someone.test"],
                "verificationMethod": [
                    {
                        "id": f"{did}#atproto",
                        "type": "Multikey",
                        "controller": did,
                        "publicKeyMultibase": _multikey(),
                    }
                ],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": self.url,
                    }
                ],
            }
        )

    async def xrpc(self, request: Request) -> Response:
        nsid = request.path_params["nsid"]
        self.calls.append(nsid)
        self.queries.append((nsid, dict(request.query_params)))
        scripted = self.answers.get(nsid)
        if scripted:
            answer = scripted.pop(0)
            return Response(answer.body, status_code=answer.status, headers=answer.headers)
        if nsid == "com.atproto.server.createSession":
            return JSONResponse(
                {
                    "did": self.session_did,
                    "handle": "northwind.test",
                    "accessJwt": "access.token.here",
                    "refreshJwt": "refresh.token.here",
                    "active": True,
                }
            )
        if nsid == "app.bsky.feed.getAuthorFeed":
            return JSONResponse({"feed": self.author_feed})
        if nsid == "app.bsky.feed.getPostThread":
            uri = request.query_params["uri"]
            if uri not in self.threads:
                return JSONResponse(
                    {"error": "NotFound", "message": f"Post not found: {uri}"}, status_code=400
                )
            return JSONResponse({"thread": self.threads[uri]})
        if nsid == "com.atproto.repo.getRecord":
            repo, rkey = request.query_params["repo"], request.query_params["rkey"]
            collection = request.query_params["collection"]
            uri = f"at://{repo}/{collection}/{rkey}"
            found = self.records.get((repo, rkey))
            if found is None:
                return JSONResponse(
                    {"error": "RecordNotFound", "message": f"Could not locate record: {uri}"},
                    status_code=400,
                )
            cid, value = found
            return JSONResponse({"uri": uri, "cid": cid, "value": value})
        return JSONResponse(
            {"error": "MethodNotImplemented", "message": "Method Not Implemented"},
            status_code=501,
        )


def _multikey() -> str:
    """A real secp256k1 public key as a Multikey (multicodec 0xe7 + compressed point)."""
    point = (
        ec.generate_private_key(ec.SECP256K1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    )
    return libipld.encode_multibase("z", b"\xe7\x01" + point)


@dataclass
class ReplayServer:
    """A websocket server replaying `scripts[n]` on the n-th connection (as text frames for
    Jetstream, the bytes as they are, valid UTF-8 or not; binary for the firehose), then
    closing it; connections past the scripts stay open and silent. Records each
    connection's request path with its query."""

    scripts: Sequence[Sequence[bytes]]
    text: bool
    paths: list[str] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handler(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        number = len(self.paths)
        self.paths.append(connection.request.path)
        self.connected.set()
        if number < len(self.scripts):
            for frame in self.scripts[number]:
                await connection.send(frame, text=self.text)
            await connection.close()
        else:
            await connection.wait_closed()

    async def wait_for_connections(self, count: int, deadline: float = 30) -> None:
        async def enough() -> None:
            while len(self.paths) < count:
                self.connected.clear()
                await self.connected.wait()

        await asyncio.wait_for(enough(), deadline)


@asynccontextmanager
async def replaying(
    scripts: Sequence[Sequence[bytes]], *, text: bool, path: str
) -> AsyncIterator[ReplayServer]:
    server = ReplayServer(scripts, text)
    async with websockets.serve(server.handler, "127.0.0.1", 0, max_size=None) as running:
        host, port = next(iter(running.sockets)).getsockname()[:2]
        server.url = f"ws://{host}:{port}{path}"
        yield server


def jetstream(scripts: Sequence[Sequence[bytes]]) -> AbstractAsyncContextManager[ReplayServer]:
    return replaying(scripts, text=True, path="/subscribe")


def firehose(scripts: Sequence[Sequence[bytes]]) -> AbstractAsyncContextManager[ReplayServer]:
    return replaying(scripts, text=False, path="/xrpc/com.atproto.sync.subscribeRepos")
