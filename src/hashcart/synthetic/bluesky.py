"""Bluesky Jetstream v1 events: commits for posts, likes, reposts and follows, and identity
events. Shapes follow `shared/fixtures/bluesky-jetstream/golden_v1.jsonl`: records keep
their keys sorted (they come from DAG-CBOR), the event envelope keeps Jetstream's order,
and the encoding is Go's (`<`, `>`, `&` as `\\u003c`, `\\u003e`, `\\u0026`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hashcart.synthetic import _wire
from hashcart.synthetic._people import BlueskyAccount, Persona
from hashcart.synthetic._richtext import RichText

POST = "app.bsky.feed.post"


@dataclass(frozen=True, slots=True)
class PostRef:
    """A strong reference to a post: its AT-URI and record CID."""

    uri: str
    cid: str

    def as_record(self) -> dict[str, str]:
        return {"cid": self.cid, "uri": self.uri}


def _acct(persona: Persona) -> BlueskyAccount:
    if persona.bluesky is None:
        raise ValueError(f"{persona.name} has no Bluesky account")
    return persona.bluesky


def short_link(url: str) -> str:
    """The link text the Bluesky app writes into a post for a long URL."""
    shown = url.split("://", 1)[-1]
    return shown if len(shown) <= 30 else shown[:27] + "..."


def render(segs: RichText) -> tuple[str, list[dict[str, Any]]]:
    """Post text and its facets; facet ranges are UTF-8 byte offsets."""
    parts: list[str] = []
    facets: list[dict[str, Any]] = []
    pos = 0

    def emit(text: str) -> tuple[int, int]:
        nonlocal pos
        start = pos
        parts.append(text)
        pos += len(text.encode("utf-8"))
        return start, pos

    for seg in segs:
        if seg.kind == "text":
            emit(seg.value)
        elif seg.kind == "tag":
            start, end = emit(seg.hash + seg.value)
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": seg.value}
            facets.append({"features": [feature], "index": {"byteEnd": end, "byteStart": start}})
        elif seg.kind == "link":
            start, end = emit(short_link(seg.value))
            feature = {"$type": "app.bsky.richtext.facet#link", "uri": seg.value}
            facets.append({"features": [feature], "index": {"byteEnd": end, "byteStart": start}})
        else:
            assert seg.who is not None
            who = _acct(seg.who)
            start, end = emit("@" + who.handle)
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": who.did}
            facets.append({"features": [feature], "index": {"byteEnd": end, "byteStart": start}})
    return "".join(parts), facets


def _blob(rng: random.Random, size: int) -> dict[str, Any]:
    return {
        "$type": "blob",
        "ref": {"$link": _wire.blob_cid(rng)},
        "mimeType": "image/jpeg",
        "size": size,
    }


def external_embed(
    *, uri: str, title: str, description: str, rng: random.Random, thumb: bool = True
) -> dict[str, Any]:
    external: dict[str, Any] = {"description": description}
    if thumb:
        external["thumb"] = _blob(rng, rng.randrange(40_000, 400_000))
    external["title"] = title
    external["uri"] = uri
    return {"$type": "app.bsky.embed.external", "external": external}


def images_embed(*, alt: str, rng: random.Random) -> dict[str, Any]:
    w, h = rng.choice(((2000, 1500), (1536, 2048), (1920, 1080)))
    return {
        "$type": "app.bsky.embed.images",
        "images": [
            {
                "alt": alt,
                "aspectRatio": {"height": h, "width": w},
                "image": _blob(rng, rng.randrange(200_000, 950_000)),
            }
        ],
    }


def record_embed(ref: PostRef) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.record", "record": ref.as_record()}


def post_record(
    *,
    created: datetime,
    segs: RichText,
    reply_parent: PostRef | None = None,
    reply_root: PostRef | None = None,
    embed: dict[str, Any] | None = None,
    langs: tuple[str, ...] = ("en",),
) -> dict[str, Any]:
    text, facets = render(segs)
    record: dict[str, Any] = {"$type": POST, "createdAt": _wire.iso_ms(created)}
    if embed is not None:
        record["embed"] = embed
    if facets:
        record["facets"] = facets
    record["langs"] = list(langs)
    if reply_parent is not None:
        root = reply_root or reply_parent
        record["reply"] = {"parent": reply_parent.as_record(), "root": root.as_record()}
    record["text"] = text
    return record


def commit_event(
    *,
    did: str,
    time_us: int | str,
    collection: str,
    rkey: str,
    rev: str,
    record: dict[str, Any] | None,
    cid: str | None,
    operation: str = "create",
) -> dict[str, Any]:
    """A Jetstream commit event, fields in Jetstream's order."""
    commit: dict[str, Any] = {
        "rev": rev,
        "operation": operation,
        "collection": collection,
        "rkey": rkey,
    }
    if record is not None:
        commit["record"] = record
        commit["cid"] = cid
    return {"did": did, "time_us": time_us, "kind": "commit", "commit": commit}


def _rev(time_us: int, rng: random.Random) -> str:
    """The repo revision (a TID) of the commit: a little before Jetstream saw it."""
    return _wire.tid(time_us - rng.randrange(50_000, 900_000), rng.randrange(1024))


@dataclass(frozen=True, slots=True)
class Commit:
    """An encoded event plus, for posts, the reference replies and likes point at."""

    line: bytes
    ref: PostRef | None


def post(
    *,
    author: Persona,
    created: datetime,
    received: datetime | None = None,
    segs: RichText,
    rng: random.Random,
    reply_parent: PostRef | None = None,
    reply_root: PostRef | None = None,
    embed: dict[str, Any] | None = None,
    langs: tuple[str, ...] = ("en",),
) -> Commit:
    account = _acct(author)
    received = received or created + timedelta(microseconds=rng.randrange(150_000, 1_500_000))
    rkey = _wire.tid(_wire.to_us(created), rng.randrange(1024))
    cid = _wire.cid(rng)
    record = post_record(
        created=created,
        segs=segs,
        reply_parent=reply_parent,
        reply_root=reply_root,
        embed=embed,
        langs=langs,
    )
    time_us = _wire.to_us(received)
    event = commit_event(
        did=account.did,
        time_us=time_us,
        collection=POST,
        rkey=rkey,
        rev=_rev(time_us, rng),
        record=record,
        cid=cid,
    )
    return Commit(line(event), PostRef(f"at://{account.did}/{POST}/{rkey}", cid))


def subject_event(
    *,
    author: Persona | str,
    created: datetime,
    collection: str,
    subject: PostRef | str,
    rng: random.Random,
) -> bytes:
    """A like or repost (subject = post ref) or a follow/block (subject = DID)."""
    did = author if isinstance(author, str) else _acct(author).did
    rkey = _wire.tid(_wire.to_us(created), rng.randrange(1024))
    record = {
        "$type": collection,
        "createdAt": _wire.iso_ms(created),
        "subject": subject.as_record() if isinstance(subject, PostRef) else subject,
    }
    received = created + timedelta(microseconds=rng.randrange(150_000, 1_500_000))
    time_us = _wire.to_us(received)
    event = commit_event(
        did=did,
        time_us=time_us,
        collection=collection,
        rkey=rkey,
        rev=_rev(time_us, rng),
        record=record,
        cid=_wire.cid(rng),
    )
    return line(event)


def identity_event(*, did: str, handle: str, when: datetime, seq: int) -> bytes:
    event = {
        "did": did,
        "time_us": _wire.to_us(when),
        "kind": "identity",
        "identity": {"did": did, "handle": handle, "seq": seq, "time": _wire.iso_ms(when)},
    }
    return line(event)


def line(event: dict[str, Any]) -> bytes:
    return _wire.go_dumps(event).encode("utf-8")
