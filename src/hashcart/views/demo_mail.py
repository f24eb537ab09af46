"""The demo's mail: the emails the shop queued (password resets, order confirmations, link
prompts), newest first, for the demo-only mail page. A demo has no mail server, so without
this page a shopper who asked for a reset link could never read it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from hashcart.ports import EMAIL_NETWORK
from hashcart.store import schema as t

# Enough for a demo's session of resets and orders; older mail is not shown.
SHOWN = 100

_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Piece:
    """A stretch of an email's text: plain, or a link into the shop (`href` its path)."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class DemoEmail:
    id: int
    to: str
    subject: str
    reason: str
    status: str
    created_at: datetime
    pieces: list[Piece]


def pieces_of(text: str, shop_url: str) -> list[Piece]:
    """The text cut into plain pieces and links. Only the shop's own addresses become
    links, and as paths, so they open on whichever address the browser reached the demo
    at; any other address stays text."""
    base = shop_url.rstrip("/")
    found: list[Piece] = []
    at = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        end = match.start() + len(url)
        path = url[len(base) :] if url.startswith(base) else None
        if path is None or not (path == "" or path.startswith(("/", "?"))):
            continue
        if match.start() > at:
            found.append(Piece(text[at : match.start()]))
        found.append(Piece(url, href=path if path.startswith("/") else "/" + path))
        at = end
    if at < len(text):
        found.append(Piece(text[at:]))
    return found


def recent_emails(connection: Connection, shop_url: str, limit: int = SHOWN) -> list[DemoEmail]:
    rows = connection.execute(
        select(
            t.outbox.c.id,
            t.outbox.c.account_id,
            t.outbox.c.subject,
            t.outbox.c.reason,
            t.outbox.c.status,
            t.outbox.c.created_at,
            t.outbox.c.text,
        )
        .where(t.outbox.c.network == EMAIL_NETWORK)
        .order_by(t.outbox.c.id.desc())
        .limit(limit)
    )
    return [
        DemoEmail(
            id=row.id,
            to=row.account_id,
            subject=row.subject or "(no subject)",
            reason=row.reason,
            status=row.status,
            created_at=row.created_at,
            pieces=pieces_of(row.text, shop_url),
        )
        for row in rows
    ]
