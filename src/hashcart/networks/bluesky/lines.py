"""Jetstream v1 commit events built from other sources (the firehose, getRecord answers).

The engine reads one Bluesky shape, Jetstream v1's (`decode.py`); a record that came another
way is handed over in that shape: `{"did", "time_us", "kind": "commit", "commit": {"rev",
"operation", "collection", "rkey", "record", "cid"}}`, deletes without record and cid; an
`#account` status change as Jetstream passes it on, `{"did", "time_us", "kind": "account",
"account": {"active", "did", "seq", "status", "time"}}`.
"""

from __future__ import annotations

from typing import Any

import msgspec


def commit_line(
    *,
    did: str,
    time_us: int,
    operation: str,
    collection: str,
    rkey: str,
    record: dict[str, Any] | None = None,
    cid: str | None = None,
    rev: str | None = None,
) -> bytes:
    commit: dict[str, Any] = {"operation": operation, "collection": collection, "rkey": rkey}
    if rev:
        commit["rev"] = rev
    if operation != "delete":
        commit["record"] = record
        commit["cid"] = cid
    return msgspec.json.encode({"did": did, "time_us": time_us, "kind": "commit", "commit": commit})


def account_line(
    *, did: str, time_us: int, active: bool, status: str | None, seq: int | None, time: str | None
) -> bytes:
    account: dict[str, Any] = {"active": active, "did": did}
    if seq is not None:
        account["seq"] = seq
    if status:
        account["status"] = status
    if time:
        account["time"] = time
    return msgspec.json.encode(
        {"did": did, "time_us": time_us, "kind": "account", "account": account}
    )
