"""Reading one record from its author's own repository: the ground truth about a post.

Jetstream is unsigned, so a trigger is confirmed here before a cart changes; the sender reads
the trigger's CID and thread root here; a parent no stream brought is fetched here. Every
read goes to the PDS the author's DID document names (`com.atproto.repo.getRecord`), never
to a service that merely relays what it heard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hashcart.networks.bluesky.identity import IdentityNotFound, IdentityResolver, is_did
from hashcart.networks.bluesky.xrpc import BlueskyUnreachable, Xrpc, XrpcError

POST_COLLECTION = "app.bsky.feed.post"
_NSID = re.compile(r"[a-zA-Z]([a-zA-Z0-9-]{0,62})?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?)+")
_RKEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")


@dataclass(frozen=True)
class AtUri:
    repo: str  # a DID
    collection: str
    rkey: str

    @classmethod
    def parse(cls, uri: str) -> AtUri | None:
        """`at://<did>/<collection>/<rkey>`, or None for anything else (handles in place of
        the DID included: posts refer to each other by DID)."""
        parts = uri.removeprefix("at://").split("/") if uri.startswith("at://") else []
        if len(parts) != 3:
            return None
        repo, collection, rkey = parts
        if not is_did(repo) or not _NSID.fullmatch(collection) or not _RKEY.fullmatch(rkey):
            return None
        if rkey in (".", ".."):
            return None
        return cls(repo, collection, rkey)

    def __str__(self) -> str:
        return f"at://{self.repo}/{self.collection}/{self.rkey}"


@dataclass(frozen=True)
class Record:
    uri: str
    cid: str
    value: dict[str, Any]


class RecordReader:
    def __init__(self, identity: IdentityResolver, xrpc: Xrpc) -> None:
        self.identity = identity
        self.xrpc = xrpc

    def get(self, uri: AtUri) -> Record | None:
        """The record as its author's PDS has it now, or None when the network says it does
        not exist (no such DID, repo or record). Raises BlueskyUnreachable when it cannot
        be asked (network, PLC or PDS down, rate-limited)."""
        try:
            pds = self.identity.pds_of(uri.repo)
        except IdentityNotFound:
            return None
        try:
            answer = self.xrpc.query(
                pds,
                "com.atproto.repo.getRecord",
                {"repo": uri.repo, "collection": uri.collection, "rkey": uri.rkey},
            )
        except XrpcError as error:
            if error.rate_limited or error.status >= 500:
                raise BlueskyUnreachable(f"getRecord {uri}: {error}") from None
            # RecordNotFound, RepoNotFound/Deactivated/Takendown, or a request the PDS will
            # never answer (asking again would not help): the record is not there for us.
            return None
        cid, value = answer.get("cid"), answer.get("value")
        if not isinstance(cid, str) or not isinstance(value, dict):
            raise BlueskyUnreachable(f"getRecord {uri}: answer without cid or value")
        return Record(uri=str(uri), cid=cid, value=value)

    def confirms(self, uri: AtUri, cid: str | None) -> bool:
        """Whether the author's repository holds exactly this version (CID) of the record."""
        if not cid:
            return False
        record = self.get(uri)
        return record is not None and record.cid == cid
