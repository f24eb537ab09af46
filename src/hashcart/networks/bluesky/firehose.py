"""Listening to a repository firehose (`com.atproto.sync.subscribeRepos`) of a PDS or relay.

Each binary frame is two DAG-CBOR objects: a header `{op, t}` and a body. `#commit` bodies
list their operations (`ops`: action, `collection/rkey` path, record CID) and carry the
changed blocks as a CAR. Post operations become the Jetstream-v1-shaped events the engine
reads (`lines.commit_line`); nothing else is kept.

Commits are signed, so a post that would change a cart or a link is proven rather than
re-fetched: the commit's signature against its DID's `#atproto` key, and the record's CID
at its path in the signed tree (`commits.py`). A post that fails the proof is dropped,
counted and logged. The cursor is the frame's `seq`, saved after the engine committed; a
(re)connection resumes after it. A cursor the server says is in its future (it was reset)
is dropped and the stream read live.

Revisions, as the sync spec asks (atproto-website specs/sync, "services should ignore
`#commit` and `#sync` events with a `rev` lower or equal to the most recent successfully
processed `rev` for that DID"): each repository's newest rev is remembered once the engine
committed the batch that carried it (a batch that failed comes again and must not be taken
for a repeat), and a commit at or below it is ignored, so a replayed or reordered older
commit cannot bring back a post its repository has since deleted or changed. A commit
without a valid TID `rev` is unreadable; and the body's `rev` must be the signed commit's
("Must match the `rev` in the commit block itself"). A commit whose rev stands for a time
more than FUTURE_REV_TOLERANCE ahead of the clock is ignored too ("should reject commit
events with a `rev` corresponding to a future timestamp (beyond a clock drift window of a few
minutes)"): otherwise one such commit would silence its repository until that time.

The revs are stored with the cursor, in the batch's transaction (`Cursor.revisions`, table
`repository_revisions`), so a restart still ignores an older or repeated commit; the last
MAX_REPOS repositories' are also kept in memory, and the others' are read once per batch.
Only a syntactically valid DID's rev is kept.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import libipld
import websockets

from hashcart.backoff import Backoff, Wait, wait_or_stop
from hashcart.errors import HashcartError
from hashcart.networks.bluesky.car import Blocks, CarError, Cid
from hashcart.networks.bluesky.commits import Unproven, public_key, record_cid, verify_commit
from hashcart.networks.bluesky.identity import IdentityNotFound, IdentityResolver, is_did
from hashcart.networks.bluesky.lines import account_line, commit_line
from hashcart.networks.bluesky.records import POST_COLLECTION, AtUri, RecordReader
from hashcart.networks.bluesky.streams import (
    DEFAULT_BACKOFF,
    ConfirmLater,
    ConfirmRetries,
    Reconnecting,
    acting_post,
    receive_batch,
)
from hashcart.networks.bluesky.tid import is_tid, tid_timestamp_us
from hashcart.networks.bluesky.xrpc import BlueskyUnreachable
from hashcart.networks.formats import Format
from hashcart.ports import Cursor, LiveSink

log = logging.getLogger(__name__)

# A commit's blocks are limited to 2 MB by relays (sync spec); frames past this are not ours.
_SOCKET_MAX_SIZE = 8 * 1024 * 1024
_POST_PREFIX = POST_COLLECTION + "/"
# How many repositories' newest revs are remembered (about 100 bytes each).
MAX_REPOS = 100_000
# How far ahead of our clock a commit's rev may be: the sync spec says "a clock drift window
# of a few minutes" without a number; five is a few, and more than PDS clocks drift.
FUTURE_REV_TOLERANCE = timedelta(minutes=5)
# atproto.com/specs/did: "DIDs are limited to 2 KB" (the stored column's size).
_MAX_DID_LENGTH = 2048


class StreamRefused(HashcartError):
    """The server sent an error frame (ConsumerTooSlow, FutureCursor…): reconnect, from
    scratch when the server said our cursor is in its future."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(f"{error}: {message}")
        self.forget_cursor = error == "FutureCursor"


class FirehoseListener:
    name = "bluesky_firehose"

    def __init__(
        self,
        url: str,
        sink: LiveSink,
        identity: IdentityResolver,
        records: RecordReader,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        wait: Wait = wait_or_stop,
        rng: random.Random | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = url
        # What a rev's time is compared with: the engine's clock unless told otherwise.
        self.now = now or sink.now
        self.sink = sink
        self.identity = identity
        self.records = records
        self.reconnecting = Reconnecting(self.name, backoff, wait, rng)
        self.frames = 0
        self.unreadable = 0
        self.unconfirmed = 0
        self.stale = 0
        self.future = 0
        self.retries = ConfirmRetries()
        # DID -> newest rev the engine committed; `_pending`: this batch's, until it commits.
        self.revs: OrderedDict[str, str] = OrderedDict()
        self._pending: dict[str, str] = {}
        # Repositories the store had no rev for when asked: not asked again (each lookup is
        # a transaction), until they are forgotten as the oldest (MAX_REPOS).
        self._unstored: OrderedDict[str, None] = OrderedDict()
        # Accounts whose latest `#account` event said inactive: their commits are skipped.
        self.inactive: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        await self.reconnecting.run(stop, lambda: self._connection(stop))

    def subscribe_url(self) -> str:
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "cursor"]
        cursor = self.sink.read_cursor(self.name)
        if cursor:
            query.append(("cursor", cursor))
        return urlunsplit(parts._replace(query=urlencode(query)))

    async def _connection(self, stop: asyncio.Event) -> None:
        url = await asyncio.to_thread(self.subscribe_url)
        async with websockets.connect(
            url, max_size=_SOCKET_MAX_SIZE, open_timeout=15, ping_interval=20
        ) as socket:
            log.info("bluesky_firehose: connected")
            while True:
                batch = await receive_batch(socket, stop)
                if batch is None:
                    return
                self.reconnecting.healthy()
                await asyncio.to_thread(self._process, batch)

    def _process(self, batch: list[bytes]) -> None:
        """Turn the batch's post operations into lines and hand them over with the cursor
        (they commit together). An error frame ends the batch (what came before it is kept)
        and the connection."""
        lines: list[bytes] = []
        seq: int | None = None
        refused: StreamRefused | ConfirmLater | None = None
        self._pending = {}
        decoded = [self._decoded(frame) for frame in batch]
        self._recall(decoded)
        for frame in decoded:
            self.frames += 1
            try:
                frame_seq, frame_lines = self._frame(frame)
            except (StreamRefused, ConfirmLater) as error:
                # Kept: what came before; this frame comes again after the reconnect.
                refused = error
                break
            lines += frame_lines
            if frame_seq is not None:
                seq = frame_seq if seq is None else max(seq, frame_seq)
        revisions = tuple(self._pending.items())
        cursor = None if seq is None else Cursor(self.name, str(seq), revisions)
        if isinstance(refused, StreamRefused) and refused.forget_cursor:
            # Our cursor is past the server's newest event (a reset PDS): read live from now.
            cursor = Cursor(self.name, "", revisions)
        if lines or cursor is not None:
            self.sink.ingest(self.name, Format.JETSTREAM, lines, cursor=cursor)
        self._remember(self._pending)
        if refused is not None:
            raise refused

    def _decoded(self, frame: bytes) -> tuple[Any, Any] | str:
        """A frame's header and body, or why it cannot be read."""
        try:
            header, body = libipld.decode_dag_cbor_multi(frame)
        except (ValueError, RecursionError, TypeError) as error:
            return str(error)[:200] or "undecodable"
        return header, body

    def _recall(self, decoded: list[tuple[Any, Any] | str]) -> None:
        """Bring the stored revs of the batch's repositories that are not in memory."""
        unknown = {
            repo
            for frame in decoded
            if not isinstance(frame, str) and isinstance(frame[1], dict)
            for repo in [_repository(frame[1])]
            if isinstance(repo, str)
            and _keepable(repo)
            and repo not in self.revs
            and repo not in self._unstored
        }
        if not unknown:
            return
        stored = self.sink.read_revisions(sorted(unknown))
        self._remember(stored)
        for repo in sorted(unknown - stored.keys()):
            self._unstored[repo] = None
        while len(self._unstored) > MAX_REPOS:
            self._unstored.popitem(last=False)

    def _frame(self, frame: tuple[Any, Any] | str) -> tuple[int | None, list[bytes]]:
        """One decoded frame: its seq (None when it has none) and its post lines."""
        if isinstance(frame, str):
            self.unreadable += 1
            log.warning("bluesky_firehose: unreadable frame: %s", frame)
            return None, []
        header, body = frame
        if not isinstance(header, dict) or not isinstance(body, dict):
            self.unreadable += 1
            return None, []
        if header.get("op") == -1:
            return None, self._error(body)
        kind = header.get("t")
        seq = body.get("seq") if isinstance(body.get("seq"), int) else None
        if kind in ("#commit", "#sync"):
            if _repository(body) in self.inactive:
                return seq, []  # an inactive account's commits are not taken (sync spec)
            revision = self._newer(body)
            if revision is None:
                return seq, []
            doubtful = self.unconfirmed + self.unreadable
            lines = self._commit(body) if kind == "#commit" else []
            # Seen once this frame was read through (a ConfirmLater brings it again), and
            # only if nothing in it failed its proof: a forged commit's rev must not silence
            # the repository's real ones.
            if self.unconfirmed + self.unreadable == doubtful and _keepable(revision[0]):
                self._pending[revision[0]] = revision[1]
            return seq, lines
        if kind == "#account" and isinstance(body.get("did"), str):
            return seq, self._account(body)
        if kind == "#identity" and isinstance(body.get("did"), str):
            self.identity.forget(body["did"])
        elif kind == "#info":
            log.info("bluesky_firehose: %s %s", body.get("name"), body.get("message") or "")
        return seq, []

    def _newer(self, body: dict[str, Any]) -> tuple[str, str] | None:
        """(repository, rev) of a `#commit` or `#sync` newer than what its repository sent
        before (and so to be read); None for one to ignore."""
        repo, rev = _repository(body), body.get("rev")
        if not isinstance(repo, str) or not isinstance(rev, str) or not is_tid(rev):
            self.unreadable += 1
            log.warning("bluesky_firehose: a commit without a valid repository and rev")
            return None
        last = self._pending.get(repo) or self.revs.get(repo)
        if last is not None and rev <= last:
            self.stale += 1  # TIDs sort as their strings do (base32-sortable)
            log.info("bluesky_firehose: %s: rev %s is not after %s; ignored", repo, rev, last)
            return None
        latest = (self.now() + FUTURE_REV_TOLERANCE).timestamp() * 1_000_000
        if tid_timestamp_us(rev) > latest:
            self.future += 1
            log.warning("bluesky_firehose: %s: rev %s is from the future; ignored", repo, rev)
            return None
        return repo, rev

    def _remember(self, revs: dict[str, str]) -> None:
        for repo, rev in revs.items():
            self.revs[repo] = rev
            self.revs.move_to_end(repo)
        while len(self.revs) > MAX_REPOS:
            self.revs.popitem(last=False)

    def _account(self, body: dict[str, Any]) -> list[bytes]:
        """An `#account` status change (atproto lexicons/com/atproto/sync/subscribeRepos.json
        `#account`; atproto.com/specs/sync: a consumer ignores the commits of an inactive
        account). Remembered while the listener runs; handed to the engine as Jetstream
        passes it on, where deleted or taken-down accounts are forgotten (decode.py)."""
        did: str = body["did"]
        active = body.get("active") is not False
        status = body.get("status") if isinstance(body.get("status"), str) else None
        if active:
            self.inactive.discard(did)
        else:
            self.inactive.add(did)
        time = body.get("time") if isinstance(body.get("time"), str) else None
        seq = body.get("seq") if isinstance(body.get("seq"), int) else None
        time_us = _time_us(time) or int(self.sink.now().timestamp() * 1e6)
        return [
            account_line(did=did, time_us=time_us, active=active, status=status, seq=seq, time=time)
        ]

    def _error(self, body: dict[str, Any]) -> list[bytes]:
        raise StreamRefused(str(body.get("error") or "error"), str(body.get("message") or "")[:200])

    def _commit(self, body: dict[str, Any]) -> list[bytes]:
        repo, ops = body.get("repo"), body.get("ops")
        if not isinstance(repo, str) or not isinstance(ops, list):
            self.unreadable += 1
            return []
        post_ops = [
            op
            for op in ops
            if isinstance(op, dict) and str(op.get("path", "")).startswith(_POST_PREFIX)
        ]
        if not post_ops:
            return []
        blocks_car = body.get("blocks")
        try:
            blocks = Blocks.read(blocks_car if isinstance(blocks_car, bytes) else b"")
        except CarError as error:
            self.unreadable += 1
            log.warning("bluesky_firehose: commit of %s unreadable: %s", repo, error)
            return []
        time_us = _time_us(body.get("time")) or int(self.sink.now().timestamp() * 1e6)
        rev = body.get("rev") if isinstance(body.get("rev"), str) else None
        lines = []
        for op in post_ops:
            line = self._op_line(repo, body, blocks, op, time_us, rev)
            if line is not None:
                lines.append(line)
        return lines

    def _op_line(
        self,
        repo: str,
        body: dict[str, Any],
        blocks: Blocks,
        op: dict[str, Any],
        time_us: int,
        rev: str | None,
    ) -> bytes | None:
        path = str(op["path"])
        collection, _, rkey = path.partition("/")
        action = op.get("action")
        if action == "delete":
            return commit_line(
                did=repo,
                time_us=time_us,
                operation="delete",
                collection=collection,
                rkey=rkey,
                rev=rev,
            )
        cid = op.get("cid")
        if action not in ("create", "update") or not isinstance(cid, bytes):
            return None
        if cid not in blocks:
            return None  # a tooBig commit (deprecated) carries no record: nothing to vouch for
        try:
            record = _json_value(blocks.decoded(cid))
        except (CarError, RecursionError) as error:
            record = None
            reason = str(error)
        else:
            reason = "not an object"
        if not isinstance(record, dict):
            self.unreadable += 1
            log.warning("bluesky_firehose: record %s/%s unreadable: %s", repo, path, reason)
            return None
        line = commit_line(
            did=repo,
            time_us=time_us,
            operation=str(action),
            collection=collection,
            rkey=rkey,
            record=record,
            cid=libipld.encode_cid(cid),
            rev=rev,
        )
        post = acting_post(self.sink, line)
        if post is not None and not self._proven(repo, body, blocks, path, cid):
            self.unconfirmed += 1
            log.warning(
                "bluesky_firehose: dropped unproven post %s",
                post.post_id,
                extra={
                    "network": "bluesky",
                    "listener": "bluesky_firehose",
                    "post_id": post.post_id,
                },
            )
            return None
        return line

    def _proven(
        self, repo: str, body: dict[str, Any], blocks: Blocks, path: str, cid: bytes
    ) -> bool:
        """Whether the record at `path` with `cid` is in a commit signed by `repo`'s key. A
        failing signature is checked once more against a fresh DID document (keys rotate);
        when the key cannot be learned at all, the author's PDS is asked instead."""
        commit_cid = body.get("commit")
        if not isinstance(commit_cid, bytes):
            return False
        for fresh in (False, True):
            try:
                identity = self.identity.identity(repo, fresh=fresh)
            except IdentityNotFound:
                return False
            except BlueskyUnreachable:
                return self._confirmed_by_pds(repo, path, cid)
            if identity.signing_key is None:
                return False
            try:
                key = public_key(identity.signing_key, identity.signing_key_type)
                commit = verify_commit(blocks, commit_cid, repo, key)
                if commit.get("rev") != body.get("rev"):
                    raise Unproven("the frame's rev is not the signed commit's")
                data = commit.get("data")
                return isinstance(data, bytes) and record_cid(blocks, data, path) == cid
            except Unproven as error:
                log.info("bluesky_firehose: %s: %s", repo, error)
        return False

    def _confirmed_by_pds(self, repo: str, path: str, cid: bytes) -> bool:
        """Asked when the signing key cannot be learned; ConfirmLater when the PDS cannot
        be asked either (a few times per post, then it is given up)."""
        collection, _, rkey = path.partition("/")
        uri = AtUri.parse(f"at://{repo}/{collection}/{rkey}")
        try:
            return uri is not None and self.records.confirms(uri, libipld.encode_cid(cid))
        except BlueskyUnreachable as error:
            key = f"at://{repo}/{path}"
            if self.retries.wait_for(key):
                raise ConfirmLater(f"{key} could not be confirmed ({error})") from None
            return False


def _repository(body: dict[str, Any]) -> object:
    """The DID a `#commit` (`repo`) or `#sync` (`did`) body is about."""
    return body.get("repo") if "repo" in body else body.get("did")


def _keepable(repo: str) -> bool:
    """Whether a repository's rev may be kept (in memory and in the store): a valid DID only,
    so that a hostile stream cannot fill either with made-up names."""
    return len(repo) <= _MAX_DID_LENGTH and is_did(repo)


def _time_us(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1_000_000)
    except ValueError:
        return None


def _json_value(value: Any) -> Any:
    """A decoded DAG-CBOR value in the atproto JSON form Jetstream sends: a CID link as
    {"$link": "bafy…"}, bytes as {"$bytes": base64}. libipld returns both as bytes; a byte
    string that reads as a CIDv1 is taken for a link (posts hold no other byte strings)."""
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, bytes):
        try:
            Cid.of(value)
            return {"$link": libipld.encode_cid(value)}
        except (CarError, ValueError):
            return {"$bytes": base64.b64encode(value).decode().rstrip("=")}
    return value
